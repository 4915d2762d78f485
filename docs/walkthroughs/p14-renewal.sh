#!/usr/bin/env bash
# P14: renewals. The seed's $HOSTING is due in 45 days; paying it renews it for a year, so a second
# run would find nothing due. This walkthrough makes its own product instead, every run: an order
# line renewing every 2 months, fulfilled (recorded, blocked, verified by Anna, as in p01), so its
# renewal invoice is issued at once, as $HOSTING's is. Alice sets the billing reminders and automatic
# renewal: the renewal process starts, the invoice is open and emailed. Two payments at the same
# moment with two keys (two browser tabs): one is paid (201), the other refused (409 nothing-due)
# without reaching the provider, whose ledger shows one charge more and agrees with the books.
# Not walked: reminders, charges and the steps after the due date need days to pass.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

say "the seed's hosting: its renewal, as anyone sees it before changing it"
call 200 GET "/v1/products/$HOSTING/renewal" '' "$ALICE" | field '({ dueAt: x.dueAt, priceCents: x.priceCents, process: x.process && x.process.state })'

name="Hosting $(unique).test"
say "a product of our own, \"$name\", renewing every 2 months: an order fulfilled"
id=$(call 201 POST /v1/orders "{\"organizationId\":\"$ORG\",\"accountId\":\"$ALICE_ID\",\"currency\":\"CHF\",\"lines\":[{\"productType\":\"web_hosting\",\"description\":\"$name\",\"quantity\":1,\"unitPriceCents\":12000,\"termMonths\":2}],\"payment\":{\"means\":\"iban_transfer\"}}" "$SYSTEM" "idempotency-key: checkout-$(unique)" | field .id)
P=$(fulfil_blocked "$id" "$ALICE")
before=$(call 200 GET "/v1/products/$P/renewal" '' "$ALICE")
due=$(echo "$before" | field .dueAt)
echo "   due $due, $(echo "$before" | field .priceCents) cents"

say "Alice sets the billing reminders and switches automatic renewal on: the process starts at once"
call 200 PUT "/v1/organizations/$ORG/billing-reminders" '{"reminders":{"frequency":"every_two_weeks","startMonthsBefore":2},"autoRenewalReminder":true,"renewalConfirmation":true,"invoiceIssued":true,"groupInvoices":false}' "$ALICE" > /dev/null
call 200 PUT "/v1/products/$P/auto-renewal" '{"enabled":true}' "$ALICE" > /dev/null
awaiting() { [ "$(call 200 GET "/v1/products/$P/renewal" '' "$ALICE" | field 'x.process && x.process.state')" = awaiting_payment ]; }
wait_until "the renewal process awaiting payment" awaiting
renewal=$(call 200 GET "/v1/products/$P/renewal" '' "$ALICE")
expect "$(echo "$renewal" | field .invoice.status)" open "the invoice"
expect "$(echo "$renewal" | field .invoice.outstandingCents)" 12000 "the invoice's outstanding amount"
expect "$(echo "$renewal" | field .process.nextAction.kind)" auto-renew-reminder "the next action"
echo "   next: $(echo "$renewal" | field .process.nextAction.kind) at $(echo "$renewal" | field .process.nextAction.at)"
wait_mail alice@demo.example "^Invoice issued: renewal of $name\$" > /dev/null
echo "   the invoice-issued email is in $BASE/dev/outbox"

say "from the prepaid account: nothing deposited, refused"
refused=$(call 409 POST "/v1/products/$P/payments" '{"means":"prepaid"}' "$ALICE" "idempotency-key: prepaid-$(unique)" | field .type)
expect_match "$refused" insufficient-prepaid-balance "the refusal"

charges() { curl -s -H 'accept: application/json' "$BASE/dev/payments" | field 'x.calls.filter((c) => c.kind === "charge" && c.result === "executed").reduce((n, c) => n + c.count, 0)'; }
charged=$(charges)
say "two tabs pay by card at the same moment, with two keys"
dir=$(mktemp -d)
for tab in a b; do
  curl -s -o "$dir/$tab.json" -w '%{http_code}' -X POST "$BASE/v1/products/$P/payments" -H "authorization: Bearer $ALICE" \
    -H 'content-type: application/json' -H "idempotency-key: tab-$tab-$(unique)" -d '{"means":"card"}' > "$dir/$tab.status" &
done
wait
statuses=$(printf '%s\n%s\n' "$(cat "$dir/a.status")" "$(cat "$dir/b.status")" | sort | tr '\n' ' ')
echo "   tabs: $statuses"
expect "$statuses" "201 409 " "one paid, the other refused"
grep -q nothing-due "$dir"/*.json || { echo "FAILED: the refusal is not nothing-due: $(cat "$dir"/*.json)" >&2; exit 1; }
rm -rf "$dir"

say "renewed: due a term later, the next term without an invoice yet"
renewed() { [ "$(call 200 GET "/v1/products/$P/renewal" '' "$ALICE" | field .dueAt)" != "$due" ]; }
wait_until "the due date moved" renewed
after=$(call 200 GET "/v1/products/$P/renewal" '' "$ALICE")
echo "   due $(echo "$after" | field .dueAt)"
expect "$(echo "$after" | field .invoice)" null "the next term's invoice"

say "the provider charged once, and the books agree ($BASE/dev/payments)"
expect "$(charges)" "$((charged + 1))" "the executed charges"
expect "$(curl -s -H 'accept: application/json' "$BASE/dev/payments" | field .mismatches.length)" 0 "the mismatches"
say "done"
