#!/usr/bin/env bash
# P4 and P8, on Carla (a reset ends every session and token of the account, and the seed's tokens
# are Alice's, which the other walkthroughs use). P4: Carla forgot her password; the reset link
# goes to her recovery address, sets a new password once, and ends her sessions (old tokens 401).
# P8: she mints an API token, then runs the compromised-password wizard: the password changes (back
# to the seed's), the API token is revoked, her own login stays, the settings to review come back.
# Not walked: the SMS-code and identity-check variants of the reset (p02 walks an identity check).
# Limits: 5 recovery requests an hour per login (429 beyond).
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

seed_password=carla-demo-password
new="a new passphrase $(unique)"
say "Carla is logged in somewhere"
old=$(call 201 POST /v1/sessions "{\"login\":\"carla@shop.example\",\"password\":\"$seed_password\"}" | field .token)
call 200 GET /v1/accounts/me/security '' "$old" > /dev/null

say "she asks for a reset; the link goes to her recovery address"
seen=$(count_mail carla.private@webmail.example '^Reset your password$')
call 202 POST /v1/recovery/password '{"login":"carla@shop.example"}' > /dev/null
token=$(wait_mail carla.private@webmail.example '^Reset your password$' "$seen" | link_in reset-password)
echo "   the page: $BASE/reset-password/$token"
# Should a step fail from here, her password is set back to the seed's by the compromised wizard
# below; if even that fails, the next run's first login fails and says so.

say "the link sets a new password, once; her earlier session has ended"
call 204 POST "/v1/recovery/password/$token" "{\"newPassword\":\"$new\"}" > /dev/null
call 404 POST "/v1/recovery/password/$token" "{\"newPassword\":\"$new\"}" > /dev/null
call 401 GET /v1/accounts/me/security '' "$old" > /dev/null
call 401 POST /v1/sessions "{\"login\":\"carla@shop.example\",\"password\":\"$seed_password\"}" > /dev/null

say "P8: with the new password she logs in and mints an API token, usable as a bearer"
T=$(call 201 POST /v1/sessions "{\"login\":\"carla@shop.example\",\"password\":\"$new\"}" | field .token)
api=$(call 201 POST /v1/accounts/me/api-tokens '{"name":"ci","lifetimeDays":90}' "$T" | field .token)
expect_match "$api" '^bo_' "the API token"
call 200 GET /v1/accounts/me/security '' "$api" > /dev/null

say "the compromised-password wizard: a new password (the seed's again), the API token revoked"
review=$(call 200 POST /v1/accounts/me/compromised "{\"currentPassword\":\"$new\",\"newPassword\":\"$seed_password\"}" "$T")
echo "   to review: $(echo "$review" | field 'Object.keys(x).join(", ")')"
call 401 GET /v1/accounts/me/security '' "$api" > /dev/null
expect "$(call 200 GET /v1/accounts/me/security '' "$T" | field .activeApiTokens)" 0 "her active API tokens"
call 201 POST /v1/sessions "{\"login\":\"carla@shop.example\",\"password\":\"$seed_password\"}" > /dev/null
say "done"
