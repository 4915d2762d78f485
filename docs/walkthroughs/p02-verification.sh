#!/usr/bin/env bash
# P2: the system opens an identity check for Alice (reason account_unblock); she is emailed a link,
# walks its steps in order (phone and SMS code, position, document, selfie) and the case is
# submitted; Anna, a supervisor agent, finds it in the queue, claims it and approves it; Alice is
# emailed the outcome. Tom, not a supervisor, may not reassign it.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

why='to unblock your account'
seen=$(count_mail alice@demo.example '^Verify your identity$' "$why")
say "the system opens a case for Alice"
case=$(call 201 POST /v1/verification-cases "{\"accountId\":\"$ALICE_ID\",\"reason\":\"account_unblock\"}" "$SYSTEM")
id=$(echo "$case" | field .id)
expect "$(echo "$case" | field .status)" awaiting_customer "the new case's status"

say "Alice is emailed a link (and its QR code); the link is the credential of the steps"
L=$(wait_mail alice@demo.example '^Verify your identity$' "$seen" "$why" | link_in verify)
expect "$(call 200 GET "/v1/verification/$L" | field .step)" phone "the first step"
call 200 GET "/v1/verification/$L/qr.png" > /dev/null

say "the steps go in order: the position before the phone is refused"
call 409 POST "/v1/verification/$L/geolocation" '{"latitude":46.95,"longitude":7.45,"accuracyMeters":10}' > /dev/null

phone="+4179$(printf '%07d' $((RANDOM * 300 + RANDOM % 300)))"
say "she gives her mobile number ($phone) and the code it receives"
call 200 POST "/v1/verification/$L/phone" "{\"phone\":\"$phone\"}" > /dev/null
code=$(wait_sms "$phone" '' | code_in)
call 200 POST "/v1/verification/$L/phone/confirm" "{\"code\":\"$code\"}" > /dev/null

say "her position, then her identity card (front and back) and a selfie"
call 200 POST "/v1/verification/$L/geolocation" '{"latitude":46.95,"longitude":7.45,"accuracyMeters":10}' > /dev/null
IMG=$(curl -s "$BASE/v1/verification/$L/qr.png" | base64 | tr -d '\n') # any JPEG or PNG up to 10 MB
call 200 POST "/v1/verification/$L/document" "{\"type\":\"id_card\",\"images\":[\"$IMG\",\"$IMG\"]}" > /dev/null
expect "$(call 200 POST "/v1/verification/$L/selfie" "{\"image\":\"$IMG\"}" | field .step)" review "the step after the selfie"

say "submitted: the link no longer works"
status=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/verification/$L")
expect_match "$status" '^4' "the used link's status"

say "Anna finds it among the unassigned submitted cases; Tom may not reassign it"
queue=$(call 200 GET '/v1/verification-cases?status=submitted&assignee=unassigned' '' "$ANNA")
expect "$(echo "$queue" | field "x.items.some((c) => c.id === '$id')")" true "the case in the queue"
call 403 PUT "/v1/verification-cases/$id/assignment" "{\"agentId\":\"a9000000-0000-4000-8000-000000000700\"}" "$TOM" > /dev/null

outcome=$(count_mail alice@demo.example '^Your identity has been verified$')
say "Anna claims it and approves it"
call 200 POST "/v1/verification-cases/$id/claim" '' "$ANNA" > /dev/null
expect "$(call 200 POST "/v1/verification-cases/$id/decision" '{"decision":"approve","reason":"document and selfie match"}' "$ANNA" | field .status)" approved "the decision"

say "Alice is emailed the outcome"
wait_mail alice@demo.example '^Your identity has been verified$' "$outcome" > /dev/null
say "done"
