#!/usr/bin/env bash
# P13: Alice lets the agents of her ticket into a mailbox for 7 days; Anna (assigned) may look, Tom
# (not assigned) may not; Alice revokes it and is emailed. Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

box="info-$RANDOM@demo.example"
say "Alice grants the ticket's agents access to $box"
grant=$(call 201 POST /v1/support-access-grants "{\"organizationId\":\"$ORG\",\"ticketId\":\"$TICKET\",\"kind\":\"mail\",\"resourceIds\":[\"$box\"]}" "$ALICE")
id=$(echo "$grant" | field x.id)
expect "$(echo "$grant" | field x.status)" active "the grant's status"

say "Anna, the ticket's agent, may open the mailbox; Tom, not assigned, may not"
expect "$(call 200 POST "/v1/support-access-grants/$id/access-checks" "{\"resourceId\":\"$box\"}" "$ANNA" | field x.allowed)" true "Anna's check"
call 403 POST "/v1/support-access-grants/$id/access-checks" "{\"resourceId\":\"$box\"}" "$TOM" > /dev/null

ended=$(count_mail alice@demo.example 'Support access')
say "Alice revokes it; a second revocation is refused; she is emailed"
expect "$(call 200 DELETE "/v1/support-access-grants/$id" '' "$ALICE" | field x.status)" revoked "the revoked grant"
call 409 DELETE "/v1/support-access-grants/$id" '' "$ALICE" > /dev/null
wait_mail alice@demo.example 'Support access' "$ended" > /dev/null
say "done"
