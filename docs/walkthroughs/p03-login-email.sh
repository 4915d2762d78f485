#!/usr/bin/env bash
# P3: a forgotten login email. Alice gives her mobile number; the answer is the same for any number
# (so it tells nobody whether the number is known). The SMS code she receives confirms the request
# and offers the masked channels; she has her login sent to her recovery address.
# Not walked: without the phone, an identity check (reason forgotten_login_email; see p02).
# Limits: 3 requests an hour per number (429 beyond), so run it at most 3 times an hour.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phone=+41790000001
say "an unknown number gets the same answer as Alice's"
call 202 POST /v1/recovery/login-email "{\"phone\":\"+4179$(printf '%07d' $((RANDOM * 300)))\"}" > /dev/null

seen=$(count_sms "$phone" 'to recover your login')
say "Alice gives her mobile number, $phone"
req=$(call 202 POST /v1/recovery/login-email "{\"phone\":\"$phone\"}" | field .requestId)
code=$(wait_sms "$phone" 'to recover your login' "$seen" | code_in)

say "the code confirms it: the masked channels"
channels=$(call 200 POST "/v1/recovery/login-email/$req/confirm" "{\"code\":\"$code\"}")
echo "   $(echo "$channels" | field 'x.channels.map((c) => c.channel + " " + c.to).join(", ")')"
expect "$(echo "$channels" | field 'x.channels.some((c) => c.channel === "email")')" true "an email channel"

mailed=$(count_mail alice.recovery@demo.example '^Your login$')
say "she has it sent by email: it goes to her recovery address"
call 202 POST "/v1/recovery/login-email/$req/deliver" '{"channel":"email"}' > /dev/null
expect_match "$(wait_mail alice.recovery@demo.example '^Your login$' "$mailed")" 'alice@demo\.example' "the login in the email"
say "done"
