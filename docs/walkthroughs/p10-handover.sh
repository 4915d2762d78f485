#!/usr/bin/env bash
# P10: handing over the legal representation. By email first: Alice (legal representative) invites
# an heir by address; nothing changes until the heir accepts, a second handover meanwhile is refused
# (409), and Alice cancels it (she is emailed that she remains legal representative). Then to a member: Alice hands over to Bob, staying
# as an administrator; a moment later Bob is legal representative and Bob and Alice are emailed.
# Bob hands it back the same way, staying a collaborator, so the seed is as it was (Alice legal
# representative, Bob collaborator) and the walkthrough can run again.
# Not walked: the heir accepting needs an account signed in with the invited address (the seed has
# none); an invitation lapses after 30 days.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

org_name='Demo Hosting SA'
heir="heir-$(unique)@example.test"
say "Alice invites $heir to become legal representative: awaiting acceptance, the heir is emailed"
h=$(call 202 POST "/v1/organizations/$ORG/legal-representative-handovers" "{\"from\":\"$ALICE_ID\",\"to\":{\"email\":\"$heir\"}}" "$ALICE")
hid=$(echo "$h" | field .id)
# Should a step fail, the pending handover is cancelled, or it would block the next run (409).
trap '[ -n "$hid" ] && curl -s -o /dev/null -X DELETE -H "authorization: Bearer $ALICE" "$BASE/v1/organizations/$ORG/legal-representative-handovers/$hid"; rm -f "$BODY"' EXIT
expect "$(echo "$h" | field .status)" awaiting_acceptance "the handover's status"
token=$(wait_mail "$heir" "^You are invited to become the legal representative of $org_name\$" | link_in handover)
echo "   the heir's page: $BASE/handover/$token"

say "one at a time: a second handover is refused; Bob, a collaborator, does not even see the organization (404)"
call 409 POST "/v1/organizations/$ORG/legal-representative-handovers" "{\"from\":\"$ALICE_ID\",\"to\":{\"accountId\":\"$BOB_ID\"}}" "$ALICE" > /dev/null
call 404 POST "/v1/organizations/$ORG/legal-representative-handovers" "{\"from\":\"$ALICE_ID\",\"to\":{\"accountId\":\"$BOB_ID\"}}" "$BOB" > /dev/null

say "Alice cancels it; she is emailed that she remains legal representative"
told=$(count_mail alice@demo.example "^Handover of $org_name: cancelled\$")
expect "$(call 200 DELETE "/v1/organizations/$ORG/legal-representative-handovers/$hid" '' "$ALICE" | field .status)" cancelled "the cancelled handover"
cancelled=$hid hid=
wait_mail alice@demo.example "^Handover of $org_name: cancelled\$" "$told" > /dev/null

# hand <token> <from> <to> <former stays as> <who>: a handover to a member, waited until complete.
hand() {
  local token=$1 from=$2 to=$3 stays=$4 who=$5 seen id
  seen=$(count_mail "$who" "^New legal representative of $org_name\$")
  h=$(call 202 POST "/v1/organizations/$ORG/legal-representative-handovers" "{\"from\":\"$from\",\"to\":{\"accountId\":\"$to\"},\"formerStaysAs\":\"$stays\"}" "$token")
  expect "$(echo "$h" | field .status)" transferring "the handover's status"
  id=$(echo "$h" | field .id)
  # Read by Alice, who sees it either way (administrator, then legal representative again).
  completed() { [ "$(call 200 GET "/v1/organizations/$ORG/legal-representative-handovers/$id" '' "$ALICE" | field .status)" = completed ]; }
  wait_until "the handover completed" completed
  wait_mail "$who" "^New legal representative of $org_name\$" "$seen" > /dev/null
}

say "Alice hands over to Bob, staying as administrator; Bob is emailed"
hand "$ALICE" "$ALICE_ID" "$BOB_ID" administrator bob@demo.example
say "Bob, legal representative now, hands it back to Alice, staying a collaborator; Alice is emailed"
hand "$BOB" "$BOB_ID" "$ALICE_ID" collaborator alice@demo.example

say "as the seed was: Bob, a collaborator again, does not see the handovers (404); Alice, legal representative, does"
call 404 POST "/v1/organizations/$ORG/legal-representative-handovers" "{\"from\":\"$ALICE_ID\",\"to\":{\"accountId\":\"$BOB_ID\"}}" "$BOB" > /dev/null
call 200 GET "/v1/organizations/$ORG/legal-representative-handovers/$cancelled" '' "$ALICE" > /dev/null
say "done"
