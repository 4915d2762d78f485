#!/usr/bin/env bash
# P12: cancelling a product. A product of Alice's organization comes from a fulfilled order (recorded,
# blocked, verified by Anna: as in p01). Bob, a collaborator, may not cancel it; Alice (legal
# representative) asks to, and nothing ends until the emailed link confirms it; confirmed, the
# product is terminated, the link is used up, and the organization's managers are emailed.
# Not walked: an unconfirmed request lapses after 14 days.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

name="Web hosting $(unique)"
say "a product to cancel: an order for \"$name\", blocked, verified by Anna, fulfilled"
id=$(call 201 POST /v1/orders "{\"organizationId\":\"$ORG\",\"accountId\":\"$ALICE_ID\",\"currency\":\"CHF\",\"lines\":[{\"productType\":\"web_hosting\",\"description\":\"$name\",\"quantity\":1,\"unitPriceCents\":12000}],\"payment\":{\"means\":\"card\"}}" "$SYSTEM" "idempotency-key: checkout-$(unique)" | field .id)
PRODUCT=$(fulfil_blocked "$id" "$ALICE")
product=$(call 200 GET "/v1/products/$PRODUCT" '' "$ALICE")
expect "$(echo "$product" | field .status)" active "the product's status"
pname=$(echo "$product" | field .name)

say "Bob, a collaborator, may not cancel it"
call 403 POST "/v1/products/$PRODUCT/cancellation-requests" '' "$BOB" > /dev/null

say "Alice asks to cancel it: nothing is deleted yet, a confirmation is emailed"
asked=$(call 202 POST "/v1/products/$PRODUCT/cancellation-requests" '' "$ALICE")
expect "$(echo "$asked" | field .status)" active "the product's status while pending"
expect "$(echo "$asked" | field '.pendingCancellation !== null')" true "a pending cancellation"
call 409 POST "/v1/products/$PRODUCT/cancellation-requests" '' "$ALICE" > /dev/null
T=$(wait_mail alice@demo.example "^Confirm the cancellation of $pname\$" | link_in cancel)
echo "   the page: $BASE/cancel/$T"

say "the link confirms it, once"
expect "$(call 202 POST "/v1/cancellation-requests/$T/confirm" | field .state)" confirmed "the confirmation"
call 404 POST "/v1/cancellation-requests/$T/confirm" > /dev/null

say "the product is terminated and the managers are emailed"
terminated() { [ "$(call 200 GET "/v1/products/$PRODUCT" '' "$ALICE" | field .status)" = terminated ]; }
wait_until "the product terminated" terminated
wait_mail alice@demo.example "^$pname has been cancelled\$" > /dev/null
say "done"
