#!/usr/bin/env bash
# P5: Carla's login, carla@shop.example, is a mailbox the organization hosts; the system reports it
# deleted. Her sessions end, the old login stops working, she gets an SMS with a recovery username
# (her initials and digits) and an email at her recovery address. The username and her unchanged
# password give a login that allows only one thing: choosing a new login address, confirmed by a
# code sent to it. Then she is fully logged in again and the username stops working. Set back: she
# makes carla@shop.example her login again the same way (confirmed by its code).
# Not walked: the reminders after 3 and 14 days (they need days to pass).
# Should a step fail midway, Carla stays in the "login address being changed" state and the next
# run's first login fails and says so (set her back with her username, as below).
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ -n "${CARLA_ID:-}" ] || { echo "FAILED: \$CARLA_ID is not set: run eval \"\$(npm run -s seed | grep ^export)\" first" >&2; exit 1; }
password=carla-demo-password
phone=+41790000003
recovery=carla.private@webmail.example
say "Carla is logged in with carla@shop.example, a mailbox of her organization (shop.example)"
old=$(call 201 POST /v1/sessions "{\"login\":\"carla@shop.example\",\"password\":\"$password\"}" | field .token)

say "a login address hosted elsewhere is not P5's: Alice's (demo.example) is refused, 409"
expect_match "$(call 409 POST "/v1/accounts/$ALICE_ID/login-address-lost" '{"reason":"mailbox_deleted"}' "$SYSTEM" | field .type)" \
  login-address-not-hosted "the refusal"

say "the system reports her mailbox deleted: an SMS with a recovery username, an email at her recovery address"
sms=$(count_sms "$phone" 'Log in with the username')
mails=$(count_mail "$recovery" '^Your login address is being changed$')
since=$(call 202 POST "/v1/accounts/$CARLA_ID/login-address-lost" '{"reason":"mailbox_deleted"}' "$SYSTEM" | field .since)
username=$(wait_sms "$phone" 'Log in with the username' "$sms" | grep -oE 'username [a-z]+[0-9]+' | sed 's/username //')
expect_match "$username" '^cr[0-9]+$' "the recovery username (her initials, then digits)"
echo "   the SMS gives the username $username"
wait_mail "$recovery" '^Your login address is being changed$' "$mails" > /dev/null
expect "$(call 202 POST "/v1/accounts/$CARLA_ID/login-address-lost" '{"reason":"mailbox_deleted"}' "$SYSTEM" | field .since)" "$since" \
  "reported again: nothing new"

say "her earlier session has ended; carla@shop.example no longer logs in"
call 401 GET /v1/accounts/me/security '' "$old" > /dev/null
call 401 POST /v1/sessions "{\"login\":\"carla@shop.example\",\"password\":\"$password\"}" > /dev/null

say "the username and her unchanged password: a login restricted to choosing a new login address"
s=$(call 201 POST /v1/sessions "{\"login\":\"$username\",\"password\":\"$password\"}")
expect "$(echo "$s" | field .scope)" login_address_change "the session's scope"
R=$(echo "$s" | field .token)
expect_match "$(call 403 GET /v1/accounts/me/security '' "$R" | field .type)" session-restricted "anything else"

new="carla-$(unique)@webmail.example"
say "she chooses $new; the code goes there"
req=$(call 202 POST /v1/accounts/me/login-email "{\"email\":\"$new\"}" "$R" | field .requestId)
code=$(wait_mail "$new" '^Confirm your new login address$' | code_in)
changed=$(count_mail "$recovery" '^Your login address was changed$')
s=$(call 200 POST /v1/accounts/me/login-email/confirm "{\"requestId\":\"$req\",\"code\":\"$code\"}" "$R")
expect "$(echo "$s" | field .scope)" full "the login the confirmation returns"
T=$(echo "$s" | field .token)
call 200 GET /v1/accounts/me/security '' "$T" > /dev/null
wait_mail "$recovery" '^Your login address was changed$' "$changed" > /dev/null
echo "   she is told at her recovery address too"

say "the username no longer logs in; the new address does"
call 401 POST /v1/sessions "{\"login\":\"$username\",\"password\":\"$password\"}" > /dev/null
call 201 POST /v1/sessions "{\"login\":\"$new\",\"password\":\"$password\"}" > /dev/null

say "set back: carla@shop.example becomes her login again, confirmed by the code sent to it"
seen=$(count_mail carla@shop.example '^Confirm your new login address$')
req=$(call 202 POST /v1/accounts/me/login-email '{"email":"carla@shop.example"}' "$T" | field .requestId)
code=$(wait_mail carla@shop.example '^Confirm your new login address$' "$seen" | code_in)
call 200 POST /v1/accounts/me/login-email/confirm "{\"requestId\":\"$req\",\"code\":\"$code\"}" "$T" > /dev/null
call 201 POST /v1/sessions "{\"login\":\"carla@shop.example\",\"password\":\"$password\"}" > /dev/null
say "done"
