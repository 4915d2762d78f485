#!/usr/bin/env bash
# P1: the shop records a paid order for Alice and blocks it for security; Alice is emailed the
# identity-check procedure with its link (and the QR code inside the email); she asks for it again
# and gets a fresh link. Anna (an agent) finds the case on the order and records a manual
# verification: the order is fulfilled, its product created, and Alice is emailed.
# Not walked: the 10-day deadline (the order cancelled and refunded) needs 10 days to pass.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

say "the shop records a paid order (the system role)"
order=$(call 201 POST /v1/orders "{\"organizationId\":\"$ORG\",\"accountId\":\"$ALICE_ID\",\"currency\":\"CHF\",\"lines\":[{\"productType\":\"web_hosting\",\"description\":\"Web hosting $(unique)\",\"quantity\":1,\"unitPriceCents\":12000}],\"payment\":{\"means\":\"card\"}}" "$SYSTEM" "idempotency-key: checkout-$(unique)")
id=$(echo "$order" | field .id)
expect "$(echo "$order" | field .status)" paid "the recorded order's status"

why='to unblock your order'
seen=$(count_mail alice@demo.example '^Verify your identity$' "$why")
say "it blocks the order; the process starts with a deadline"
blocked=$(call 202 POST "/v1/orders/$id/block" '{"reason":"suspected phishing"}' "$SYSTEM")
expect "$(echo "$blocked" | field .status)" blocked "the order's status"
expect "$(echo "$blocked" | field .block.resendAllowed)" true "a resend allowed"
echo "   deadline: $(echo "$blocked" | field .block.deadline)"

say "Alice is emailed the procedure: a link to the verification page, and its QR code"
first=$(wait_mail alice@demo.example '^Verify your identity$' "$seen" "$why" | link_in verify)
[ -n "$first" ] || { echo "FAILED: no /verify/ link in the email" >&2; exit 1; }

say "she reads her order and asks for the procedure again: a fresh link"
expect "$(call 200 GET "/v1/orders/$id" '' "$ALICE" | field .block.resendAllowed)" true "a resend allowed"
sleep 2
call 202 POST "/v1/orders/$id/block/resend" '' "$ALICE" > /dev/null
second=$(wait_mail alice@demo.example '^Verify your identity$' "$((seen + 1))" "$why" | link_in verify)
[ "$second" != "$first" ] || { echo "FAILED: the resend sent the same link" >&2; exit 1; }

say "Anna sees the case on the order and records a manual verification"
case=$(call 200 GET "/v1/orders/$id" '' "$ANNA" | field .block.verificationCaseId)
done_mail=$(count_mail alice@demo.example '^Your order is unblocked$')
call 200 POST "/v1/verification-cases/$case/manual-verification" '{"decision":"approve","reason":"called the customer back"}' "$ANNA" > /dev/null

say "the order is fulfilled, its product created, and Alice is emailed"
fulfilled() { [ "$(call 200 GET "/v1/orders/$id" '' "$ALICE" | field .status)" = fulfilled ]; }
wait_until "the order fulfilled" fulfilled
product=$(call 200 GET "/v1/orders/$id" '' "$ALICE" | field '.lines[0].productId')
expect "$(call 200 GET "/v1/products/$product" '' "$ALICE" | field .id)" "$product" "the product created"
wait_mail alice@demo.example '^Your order is unblocked$' "$done_mail" > /dev/null
say "done"
