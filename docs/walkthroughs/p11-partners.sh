#!/usr/bin/env bash
# P11: partners. Alice's organization applies to the partner program (refused with every reason when
# it does not qualify; accepted, or already a partner from an earlier run), then invites a client:
# the client's address is emailed a link; the invitation is listed with its status, and cancelled
# (its link then stops working). Requests for proposal: Alice publishes one, is emailed its cancel
# link, and closes it with that link, once.
# Not walked: a client accepting, and a partner reading a request for proposal, need a second
# organization (the client's, another partner's), which the seed does not have; the client's
# acceptance needs a manager of the client's organization signed in with the invited address.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

say "an application that does not qualify (small volume, no website) is refused with every reason"
status=$(status_of POST /v1/partner-applications "{\"organizationId\":\"$ORG\",\"registryNumber\":\"CHE-123.456.789\",\"website\":\"\",\"yearlyVolume\":{\"amountCents\":100,\"currency\":\"CHF\"}}" "$ALICE")
case $status in
  422) expect "$(field .reasons.length < "$BODY")" 2 "the reasons (website, volume)"
    echo "   $(field .detail < "$BODY")" ;;
  409) echo "   already a partner (an earlier run): applying again is a conflict before anything else" ;;
  *) echo "FAILED: the application answered $status: $(cat "$BODY")" >&2; exit 1 ;;
esac

say "Bob, a collaborator, may not apply; Alice, the legal representative, is accepted"
application="{\"organizationId\":\"$ORG\",\"registryNumber\":\"CHE-123.456.789\",\"website\":\"https://demo.example\",\"yearlyVolume\":{\"amountCents\":250000,\"currency\":\"CHF\"}}"
call 403 POST /v1/partner-applications "$application" "$BOB" > /dev/null
status=$(status_of POST /v1/partner-applications "$application" "$ALICE")
case $status in
  201) echo "   accepted: the organization is a partner" ;;
  409) echo "   already a partner (an earlier run)" ;;
  *) echo "FAILED: the application answered $status" >&2; exit 1 ;;
esac

client="client-$(unique)@shop.example"
say "Alice invites a client, $client, asking for full access, billed to the partner"
inv=$(call 201 POST "/v1/partners/$ORG/client-invitations" "{\"clientEmail\":\"$client\",\"requested\":{\"access\":\"full\",\"billing\":\"partner\"}}" "$ALICE")
inv_id=$(echo "$inv" | field .id)
expect "$(echo "$inv" | field .status)" pending "the invitation's status"
token=$(wait_mail "$client" 'asks to manage your products as your partner$' | link_in client-invitations)
echo "   the client's page: $BASE/client-invitations/$token"
expect "$(call 200 GET "/v1/partners/$ORG/client-invitations" '' "$ALICE" | field "x.items.find((i) => i.id === '$inv_id').status")" pending "the listed status"

say "Alice cancels it: the link stops working"
call 204 DELETE "/v1/partners/$ORG/client-invitations/$inv_id" '' "$ALICE" > /dev/null
call 404 POST "/v1/client-invitations/$token/accept" "{\"organizationId\":\"$ORG\",\"granted\":{\"access\":\"full\",\"billing\":\"client\"}}" "$ALICE" > /dev/null

title="Shop redesign $(unique)"
say "Alice publishes a request for proposal, \"$title\"; Bob, a collaborator, may not"
rfp='{"organizationId":"'$ORG'","title":"'$title'","summary":"A new design for our shop","details":"Twenty pages, a catalogue, payments by card and Twint."}'
call 403 POST /v1/requests-for-proposal "$rfp" "$BOB" > /dev/null
rfp_id=$(call 201 POST /v1/requests-for-proposal "$rfp" "$ALICE" | field .id)
call 200 PUT "/v1/partners/$ORG/rfp-subscription" '{"enabled":true}' "$ALICE" > /dev/null
cancel=$(wait_mail alice@demo.example "^Your request for proposal is published: $title\$" | link_in 'rfp/cancel')
echo "   the author's cancel page: $BASE/rfp/cancel/$cancel"

say "its cancel link closes it, once"
expect "$(call 200 POST "/v1/requests-for-proposal/cancel/$cancel" | field .status)" cancelled "the request"
call 404 POST "/v1/requests-for-proposal/cancel/$cancel" > /dev/null
echo "   request $rfp_id closed"
say "done"
