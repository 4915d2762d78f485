#!/usr/bin/env bash
# P11: who pays a partner's client's products (issue 17, item 3). Alice's organization is the partner
# (it applies, or already is one); the seed's client organization ($CLIENT_ORG, Dan its legal
# representative) accepts its invitations, each time with the billing the step needs.
# 1. Billed to the client: the system records Dan's order of 120.00 CHF at the public price, paid by
#    card; the partner's cashback, 120.00 less its partner price (20 % discount: 96.00), i.e. 24.00,
#    is credited to the partner's prepaid account once (one entry per order line), not twice.
# 2. Billed to the partner: a hosting of the client renewing every 2 months at 30.00 CHF (ordered
#    as in p01: blocked, verified by Anna, fulfilled). Its renewal invoice is issued to the partner's
#    organization at the partner price, 30.00 less 20 % = 24.00 (the degressive rate, -25 % from 35
#    hostings the partner pays for, does not apply to the partner's handful of hostings; the script
#    prints the count it assumes), emailed to the partner's billing contact Alice, not to Dan; Alice
#    pays it from the partner's prepaid account, with the cashback of step 1: the
#    balance ends where it started. Each partnership is ended at the end of its step.
# Not walked: the degressive rate itself needs 35 hostings of the partner (test/api/partnerBilling).
# Needs: npm start, eval "$(npm run -s seed | grep ^export)" (CLIENT_ORG, DAN, DAN_ID: seed of issue 17).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
for var in CLIENT_ORG DAN DAN_ID ANNA; do
  [ -n "${!var:-}" ] || { echo "FAILED: \$$var is not set: run the seed again (it prints it since issue 17)" >&2; exit 1; }
done

say "Alice's organization is a partner (accepted now, or by an earlier run)"
status=$(status_of POST /v1/partner-applications "{\"organizationId\":\"$ORG\",\"registryNumber\":\"CHE-123.456.789\",\"website\":\"https://demo.example\",\"yearlyVolume\":{\"amountCents\":250000,\"currency\":\"CHF\"}}" "$ALICE")
case $status in 201 | 409) ;; *) echo "FAILED: the application answered $status: $(cat "$BODY")" >&2; exit 1 ;; esac

# partner_of <billing>: Alice invites dan@client.example, Dan accepts for his organization with that
# billing; prints the partnership's id.
partner_of() {
  local seen inv token
  seen=$(count_mail dan@client.example 'asks to manage your products as your partner$')
  inv=$(call 201 POST "/v1/partners/$ORG/client-invitations" "{\"clientEmail\":\"dan@client.example\",\"requested\":{\"access\":\"full\",\"billing\":\"$1\"}}" "$ALICE" | field .id)
  token=$(wait_mail dan@client.example 'asks to manage your products as your partner$' "$seen" | link_in client-invitations)
  call 200 POST "/v1/client-invitations/$token/accept" "{\"organizationId\":\"$CLIENT_ORG\",\"granted\":{\"access\":\"full\",\"billing\":\"$1\"}}" "$DAN" | field .partnershipId
}
# A run that fails midway ends its partnership still, so the next run starts from the seed.
pship=
trap 'rm -f "$BODY"; [ -z "$pship" ] || curl -s -o /dev/null -X DELETE "$BASE/v1/partnerships/$pship" -H "authorization: Bearer $DAN"' EXIT
balance() { call 200 GET "/v1/organizations/$ORG/prepaid" '' "$ALICE" | field .balanceCents; }
start=$(balance)
echo "   the partner's prepaid balance: $start cents"

say "1. Dan's organization becomes a client billed to itself"
pship=$(partner_of client)
[ -n "$pship" ] || exit 1
echo "   partnership $pship (billing: client)"

say "the system records Dan's order of 100.00 + 20.00 CHF, paid by card: the public price, billed to the client"
order=$(call 201 POST /v1/orders "{\"organizationId\":\"$CLIENT_ORG\",\"accountId\":\"$DAN_ID\",\"currency\":\"CHF\",\"lines\":[{\"productType\":\"web_hosting\",\"description\":\"Web hosting\",\"quantity\":1,\"unitPriceCents\":10000},{\"productType\":\"domain\",\"description\":\"client-$(unique).example\",\"quantity\":1,\"unitPriceCents\":2000}],\"payment\":{\"means\":\"card\",\"status\":\"captured\",\"reference\":\"pay_$(unique)\"}}" "$SYSTEM" "idempotency-key: checkout-$(unique)")
oid=$(echo "$order" | field .id)
expect "$(echo "$order" | field .totalCents)" 12000 "the order's total (public price)"
expect "$(echo "$order" | field .billedOrganizationId)" null "who is billed"
echo "   order $oid: 12000 cents, billed to the client"

say "the partner's cashback, 12000 - 9600 (20 % off) = 2400 cents, lands in its prepaid account once"
credited() { [ "$(balance)" = "$((start + 2400))" ]; }
wait_until "the cashback credited" credited
sleep 2
expect "$(balance)" "$((start + 2400))" "the balance a moment later (credited once)"
entries=$(call 200 GET "/v1/organizations/$ORG/prepaid" '' "$ALICE" | field "x.entries.filter((e) => e.reference.startsWith('cashback:order:$oid:')).map((e) => e.amountCents).sort((a, b) => a - b).join(' ')")
expect "$entries" "400 2000" "the statement's cashback entries (one per order line)"
echo "   balance $(balance) cents; statement: cashback $entries cents for order $oid"

say "Dan ends the partnership"
call 204 DELETE "/v1/partnerships/$pship" '' "$DAN" > /dev/null
pship=

say "2. Dan's organization becomes a client billed to its partner"
pship=$(partner_of partner)
[ -n "$pship" ] || exit 1
echo "   partnership $pship (billing: partner)"

name="Hosting $(unique).test"
say "a hosting of the client, \"$name\", 30.00 CHF every 2 months: an order fulfilled (blocked, verified by Anna)"
order=$(call 201 POST /v1/orders "{\"organizationId\":\"$CLIENT_ORG\",\"accountId\":\"$DAN_ID\",\"currency\":\"CHF\",\"lines\":[{\"productType\":\"web_hosting\",\"description\":\"$name\",\"quantity\":1,\"unitPriceCents\":3000,\"termMonths\":2}],\"payment\":{\"means\":\"iban_transfer\"}}" "$SYSTEM" "idempotency-key: checkout-$(unique)")
id=$(echo "$order" | field .id)
echo "   order $id: $(echo "$order" | field .totalCents) cents, billed to $(echo "$order" | field .billedOrganizationId)"
expect "$(echo "$order" | field .billedOrganizationId)" "$ORG" "the order billed to the partner"
expect "$(echo "$order" | field .totalCents)" 2400 "the order's partner price"
P=$(fulfil_blocked "$id" "$DAN")

say "Dan switches automatic renewal off: the renewal process starts and issues the invoice, to the partner"
seen_alice=$(count_mail alice@demo.example "^Invoice issued: renewal of $name\$")
call 200 PUT "/v1/products/$P/auto-renewal" '{"enabled":false}' "$DAN" > /dev/null
issued() { [ "$(call 200 GET "/v1/products/$P/renewal" '' "$ALICE" | field 'x.invoice && x.invoice.status')" = open ]; }
wait_until "the renewal invoice issued" issued
renewal=$(call 200 GET "/v1/products/$P/renewal" '' "$ALICE")
echo "$renewal" | field '({ priceCents: x.priceCents, invoice: x.invoice })'
expect "$(echo "$renewal" | field .invoice.outstandingCents)" 2400 "the invoice: 3000 less 20 %, no degressive rate below 35 hostings"
text=$(wait_mail alice@demo.example "^Invoice issued: renewal of $name\$" "$seen_alice")
expect_match "$text" '24\.00 CHF' "the partner's invoice email"
echo "   emailed to alice@demo.example (the partner's legal representative): 24.00 CHF"
expect "$(count_mail dan@client.example "^Invoice issued: renewal of $name\$")" 0 "invoice emails to the client"

say "Dan may not pay it: the invoice is the partner's, and so is the prepaid money"
expect_match "$(call 403 POST "/v1/products/$P/payments" '{"means":"prepaid"}' "$DAN" "idempotency-key: pb-$(unique)" | field .detail)" "invoiced to your partner" "Dan paying"

say "Alice, the partner's legal representative, pays it from the partner's prepaid account"
paid=$(call 201 POST "/v1/products/$P/payments" '{"means":"prepaid"}' "$ALICE" "idempotency-key: pb-$(unique)")
echo "$paid" | field '({ amountCents: x.payment.amountCents, invoice: x.invoice.status })'
expect "$(echo "$paid" | field .payment.amountCents)" 2400 "the amount paid"
expect "$(echo "$paid" | field .invoice.status)" paid "the invoice"
expect "$(balance)" "$start" "the partner's prepaid balance (back where it started)"

say "Dan ends the partnership"
call 204 DELETE "/v1/partnerships/$pship" '' "$DAN" > /dev/null
pship=
say "done"
