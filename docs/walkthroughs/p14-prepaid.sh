#!/usr/bin/env bash
# Prepaid money (issue 17, item 4): the organization's prepaid account in its currency. Alice (legal
# representative) deposits by card with an idempotency key: sent twice, it is one deposit and one
# charge at the provider. Deposits outside 0.10 to 9999 are refused. The system records a bank
# transfer (Alice may not). The statement lists both. Alice, logged in, asks for a payout of what the
# walkthrough put in to a bank account: reserved at once, approved by Anna, paid out, emailed. Bob
# (collaborator) sees nothing; agents decide payouts, customers do not.
# The balance ends where it started (the seed's holds nothing: p14-renewal.sh counts on it), so the
# script runs again; keys and references are fresh each run.
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
for var in BOB ANNA TOM; do
  [ -n "${!var:-}" ] || { echo "FAILED: \$$var is not set: run eval \"\$(npm run -s seed | grep ^export)\" first" >&2; exit 1; }
done

run=$(unique)
balance() { call 200 GET "/v1/organizations/$ORG/prepaid" '' "$ALICE" | field .balanceCents; }
ledger() { curl -s -H 'accept: application/json' "$BASE/dev/payments"; }

say "the prepaid account, as Alice sees it"
account=$(call 200 GET "/v1/organizations/$ORG/prepaid?limit=5" '' "$ALICE")
cur=$(echo "$account" | field .currency)
start=$(echo "$account" | field .balanceCents)
echo "   balance $start cents of $cur"

say "Bob, a collaborator, may not see it; agents and the system neither (a customer's route)"
expect_match "$(call 403 GET "/v1/organizations/$ORG/prepaid" '' "$BOB" | field .type)" forbidden "Bob reading the account"
call 403 GET "/v1/organizations/$ORG/prepaid" '' "$ANNA" > /dev/null
call 403 POST "/v1/organizations/$ORG/prepaid/deposits" "{\"amountCents\":1000,\"idempotencyKey\":\"bob-$run\"}" "$BOB" > /dev/null

say "deposits outside 0.10 to 9999 $cur are refused, nothing charged"
for cents in 5 1000000; do
  p=$(call 422 POST "/v1/organizations/$ORG/prepaid/deposits" "{\"amountCents\":$cents,\"idempotencyKey\":\"out-$cents-$run\"}" "$ALICE")
  expect_match "$(echo "$p" | field .type)" deposit-out-of-range "the refusal of $cents cents"
  echo "   $cents cents: $(echo "$p" | field .detail) (min $(echo "$p" | field .minCents), max $(echo "$p" | field .maxCents))"
done

say "Alice deposits 25.00 $cur by the saved card, with an idempotency key"
key="walk-deposit-$run"
dep=$(call 202 POST "/v1/organizations/$ORG/prepaid/deposits" "{\"amountCents\":2500,\"idempotencyKey\":\"$key\"}" "$ALICE")
D=$(echo "$dep" | field .id)
echo "   deposit $D: $(echo "$dep" | field .status)"
credited() { [ "$(call 200 GET "/v1/organizations/$ORG/prepaid/deposits/$D" '' "$ALICE" | field .status)" = credited ]; }
wait_until "the deposit credited" credited
echo "   credited, provider reference $(call 200 GET "/v1/organizations/$ORG/prepaid/deposits/$D" '' "$ALICE" | field .providerReference)"
wait_mail alice@demo.example "^Receipt: .* deposited to your prepaid account\$" 0 "Deposit $D" > /dev/null
echo "   the receipt is in $BASE/dev/outbox"

say "the same request again (a retry): the same deposit, no second charge"
again=$(call 202 POST "/v1/organizations/$ORG/prepaid/deposits" "{\"amountCents\":2500,\"idempotencyKey\":\"$key\"}" "$ALICE")
expect "$(echo "$again" | field .id)" "$D" "the retried deposit"
expect "$(echo "$again" | field .status)" credited "the retried deposit's status"
sleep 1
charges=$(ledger | field "x.operations.filter((o) => o.idempotencyKey.includes('$D')).map((o) => o.kind + ' ' + o.outcome + ' ' + o.amountCents).join(', ')")
echo "   the provider's ledger for it: $charges"
expect "$charges" "charge charged 2500" "the provider's operations for the deposit"
say "the same key for another amount is a conflict"
expect_match "$(call 409 POST "/v1/organizations/$ORG/prepaid/deposits" "{\"amountCents\":2600,\"idempotencyKey\":\"$key\"}" "$ALICE" | field .type)" conflict "another amount under the key"

say "a bank transfer of 10.00 $cur, recorded by the system (not by Alice); once per reference"
ref="BANK-WALK-$run"
call 403 POST "/v1/organizations/$ORG/prepaid/transfers" "{\"amountCents\":1000,\"reference\":\"$ref\"}" "$ALICE" > /dev/null
call 422 POST "/v1/organizations/$ORG/prepaid/transfers" "{\"amountCents\":1000000,\"reference\":\"$ref\"}" "$SYSTEM" > /dev/null
T=$(call 201 POST "/v1/organizations/$ORG/prepaid/transfers" "{\"amountCents\":1000,\"reference\":\"$ref\"}" "$SYSTEM" | field .entryId)
expect "$(call 200 POST "/v1/organizations/$ORG/prepaid/transfers" "{\"amountCents\":1000,\"reference\":\"$ref\"}" "$SYSTEM" | field .entryId)" "$T" "the same transfer recorded again"

say "the statement: both entries, newest first, and the balance 35.00 $cur more"
statement=$(call 200 GET "/v1/organizations/$ORG/prepaid?limit=2" '' "$ALICE")
echo "$statement" | field '.entries.map((e) => `   ${e.amountCents} ${e.reason} (${e.reference})`).join("\n")'
expect "$(echo "$statement" | field '.entries.map((e) => e.amountCents).join(" ")')" "1000 2500" "the newest two entries"
expect "$(echo "$statement" | field .balanceCents)" "$((start + 3500))" "the balance"
echo "   balance $(echo "$statement" | field .balanceCents) cents"

say "a payout needs a recent login (the seed's token is not one), a legal representative, the balance"
expect_match "$(call 403 POST "/v1/organizations/$ORG/prepaid/payouts" '{"amountCents":3500,"destination":{"kind":"paypal","email":"alice@demo.example"},"idempotencyKey":"walk-stale-token"}' "$ALICE" | field .type)" reauthentication-required "Alice's seed token"
S=$(call 201 POST /v1/sessions '{"login":"alice@demo.example","password":"alice-demo-password"}' | field .token)
call 403 POST "/v1/organizations/$ORG/prepaid/payouts" '{"amountCents":3500,"destination":{"kind":"paypal","email":"bob@demo.example"},"idempotencyKey":"walk-bob-payout"}' "$BOB" > /dev/null
expect_match "$(call 409 POST "/v1/organizations/$ORG/prepaid/payouts" "{\"amountCents\":$((start + 3501)),\"destination\":{\"kind\":\"paypal\",\"email\":\"alice@demo.example\"},\"idempotencyKey\":\"too-much-$run\"}" "$S" | field .type)" insufficient-prepaid-balance "a payout beyond the balance"
call 400 POST "/v1/organizations/$ORG/prepaid/payouts" '{"amountCents":3500,"destination":{"kind":"iban","iban":"CH0000000000000000000","holder":"Demo Hosting SA"},"idempotencyKey":"bad-iban-walk"}' "$S" > /dev/null

say "Alice asks for 35.00 $cur to the organization's bank account: reserved at once, emailed"
payout="{\"amountCents\":3500,\"destination\":{\"kind\":\"iban\",\"iban\":\"CH93 0076 2011 6238 5295 7\",\"holder\":\"Demo Hosting SA\"},\"idempotencyKey\":\"payout-$run\"}"
po=$(call 202 POST "/v1/organizations/$ORG/prepaid/payouts" "$payout" "$S")
P=$(echo "$po" | field .id)
expect "$(call 202 POST "/v1/organizations/$ORG/prepaid/payouts" "$payout" "$S" | field .id)" "$P" "the same request sent again (its idempotencyKey)"
echo "   payout $P: $(echo "$po" | field .status), to $(echo "$po" | field '.destination.holder + " …" + x.destination.ibanLast4')"
awaiting() { [ "$(call 200 GET "/v1/prepaid-payouts/$P" '' "$ANNA" | field .status)" = awaiting_approval ]; }
wait_until "the payout awaiting approval" awaiting
expect "$(balance)" "$start" "the balance with the payout reserved"
echo "   balance $start cents: the amount is reserved"
wait_mail alice@demo.example "^Payout of .* requested\$" 0 "Payout $P" > /dev/null
echo "   the 'requested' email is in $BASE/dev/outbox"

say "the agents' queue shows it with the whole IBAN; Alice and Bob may not decide"
expect "$(call 200 GET '/v1/prepaid-payouts?status=awaiting_approval&limit=200' '' "$ANNA" | field ".items.some((p) => p.id === '$P' && p.destination.iban === 'CH9300762011623852957')")" true "the queue"
call 403 POST "/v1/prepaid-payouts/$P/decision" '{"decision":"approve","reason":"mine"}' "$ALICE" > /dev/null
call 403 POST "/v1/prepaid-payouts/$P/decision" '{"decision":"approve","reason":"mine"}' "$BOB" > /dev/null
call 403 GET "/v1/organizations/$ORG/prepaid/payouts/$P" '' "$BOB" > /dev/null

say "Anna approves: paid out at the provider, emailed; a second decision is refused"
decided=$(call 200 POST "/v1/prepaid-payouts/$P/decision" '{"decision":"approve","reason":"holder matches the organization"}' "$ANNA")
echo "   after the decision: $(echo "$decided" | field .status)"
paid() { [ "$(call 200 GET "/v1/organizations/$ORG/prepaid/payouts/$P" '' "$ALICE" | field .status)" = paid ]; }
wait_until "the payout paid" paid
echo "   paid, provider reference $(call 200 GET "/v1/organizations/$ORG/prepaid/payouts/$P" '' "$ALICE" | field .providerReference)"
expect_match "$(call 409 POST "/v1/prepaid-payouts/$P/decision" '{"decision":"reject","reason":"too late"}' "$TOM" | field .type)" payout-not-awaiting-approval "Tom deciding again"
wait_mail alice@demo.example "^Payout of .* sent\$" 0 "Payout $P" > /dev/null
echo "   the 'sent' email is in $BASE/dev/outbox"
out=$(ledger | field "x.operations.filter((o) => o.idempotencyKey.includes('$P')).map((o) => o.kind + ' ' + o.outcome + ' ' + o.amountCents).join(', ')")
echo "   the provider's ledger for it: $out"
expect "$out" "payout paid_out 3500" "the provider's operations for the payout"

say "the statement: the payout's entry, and the balance where it started"
statement=$(call 200 GET "/v1/organizations/$ORG/prepaid?limit=3" '' "$ALICE")
echo "$statement" | field '.entries.map((e) => `   ${e.amountCents} ${e.reason} (${e.reference})`).join("\n")'
expect "$(echo "$statement" | field .balanceCents)" "$start" "the balance at the end"
echo "   balance $start cents"
say "done"
