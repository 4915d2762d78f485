#!/usr/bin/env bash
# P6: two-factor authentication. Alice, from a fresh login, gets an authenticator secret and
# confirms it with its first code (computed here as an app would): 2FA is on, with 10 backup codes.
# Her password alone then gets 401 second-factor-required with a restricted token; with a backup
# code she logs in, and from that login (which gave the second factor) she switches 2FA off again.
# Not walked: without the device, the disable request's identity check (reason disable_2fa).
# Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

alice='{"login":"alice@demo.example","password":"alice-demo-password"}'
say "Alice logs in and starts switching 2FA on: a secret for her authenticator app"
T=$(call 201 POST /v1/sessions "$alice" | field .token)
secret=$(call 201 POST /v1/accounts/me/two-factor '' "$T" | field .secret)

say "its first code switches it on: 10 backup codes, shown once"
on=$(call 200 POST /v1/accounts/me/two-factor/confirm "{\"otp\":\"$(totp "$secret")\"}" "$T")
# Should a step fail, 2FA is switched off again (from this login, which proved both factors), or the
# other walkthroughs' logins would need a code.
trap 'curl -s -o /dev/null -X DELETE -H "authorization: Bearer $T" "$BASE/v1/accounts/me/two-factor"; rm -f "$BODY"' EXIT
expect "$(echo "$on" | field .backupCodes.length)" 10 "the backup codes"
backup=$(echo "$on" | field '.backupCodes[0]')
expect "$(call 200 GET /v1/accounts/me/security '' "$T" | field .twoFactor.enabled)" true "2FA shown on"

say "the password alone is not enough now: 401 second-factor-required, with a restricted token"
r=$(call 401 POST /v1/sessions "$alice")
expect_match "$(echo "$r" | field .type)" second-factor-required "the refusal"
[ "$(echo "$r" | field .restrictedToken)" != undefined ] || { echo "FAILED: no restrictedToken" >&2; exit 1; }

say "with a backup code she logs in; the same code again is refused"
T2=$(call 201 POST /v1/sessions "{\"login\":\"alice@demo.example\",\"password\":\"alice-demo-password\",\"otp\":\"$backup\"}" | field .token)
call 401 POST /v1/sessions "{\"login\":\"alice@demo.example\",\"password\":\"alice-demo-password\",\"otp\":\"$backup\"}" > /dev/null

say "from that login she switches 2FA off; the password alone works again"
call 204 DELETE /v1/accounts/me/two-factor '' "$T2" > /dev/null
trap 'rm -f "$BODY"' EXIT
call 201 POST /v1/sessions "$alice" > /dev/null
say "done"
