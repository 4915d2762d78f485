#!/usr/bin/env bash
# P1: the shop records a paid order for Alice and blocks it for security; Alice is emailed the
# identity-check procedure with its link (and the QR code inside the email); she may ask for it again.
# Needs: npm start, eval "$(npm run -s seed)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

say "the shop records a paid order (the system role)"
order=$(call 201 POST /v1/orders "{\"organizationId\":\"$ORG\",\"accountId\":\"$ALICE_ID\",\"currency\":\"CHF\",\"lines\":[{\"productType\":\"web_hosting\",\"description\":\"Web hosting $RANDOM\",\"quantity\":1,\"unitPriceCents\":12000}],\"payment\":{\"means\":\"card\"}}" "$SYSTEM")
id=$(echo "$order" | field x.id)

seen=$(count_mail alice@demo.example 'identity|Verify|verify')
say "it blocks the order; the process starts with a deadline"
blocked=$(call 202 POST "/v1/orders/$id/block" '{"reason":"Unusual card country"}' "$SYSTEM")
expect "$(echo "$blocked" | field x.status)" blocked "the order's status"
echo "   deadline: $(echo "$blocked" | field x.block.deadline)"

say "Alice is emailed the procedure: a link to the verification page"
wait_mail alice@demo.example 'identity|Verify|verify' "$seen" | grep -oE 'https?://[^ ]+/verify/[A-Za-z0-9_-]+' | head -1 > /dev/null

say "she reads her order and asks for the procedure again"
expect "$(call 200 GET "/v1/orders/$id" '' "$ALICE" | field x.block.resendAllowed)" true "a resend allowed"
sleep 2
call 202 POST "/v1/orders/$id/block/resend" '' "$ALICE" > /dev/null
say "done"
