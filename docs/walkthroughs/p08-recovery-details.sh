#!/usr/bin/env bash
# P3–P8 details (issue 17): Alice, logged in, moves her mobile number to a new one confirmed by an
# SMS code (the old number is told), sees her sessions with their device, and moves the number back,
# so the seed stays as it was. Needs: npm start, eval "$(npm run -s seed | grep ^export)".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

firefox='user-agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
say "Alice logs in (a login proves the password: sensitive changes are allowed for a few minutes)"
T=$(call 201 POST /v1/sessions '{"login":"alice@demo.example","password":"alice-demo-password"}' '' "$firefox" | field x.token)

old=$(call 200 GET /v1/accounts/me/security '' "$T" | field x.mobilePhone)
move() {
  local to=$1 from=$2
  say "Alice moves her mobile number to $to; the code goes to the new number"
  local req seen told
  seen=$(count_sms "$to" 'confirm this mobile number')
  told=$(count_sms "$from" 'mobile number was changed')
  req=$(call 202 PUT /v1/accounts/me/mobile-phone "{\"mobilePhone\":\"$to\"}" "$T" | field x.requestId)
  local code
  code=$(wait_sms "$to" 'confirm this mobile number' "$seen" | code_in)
  call 204 POST /v1/accounts/me/mobile-phone/confirm "{\"requestId\":\"$req\",\"code\":\"$code\"}" "$T" > /dev/null
  say "the number it replaced ($from) is told by SMS"
  wait_sms "$from" 'mobile number was changed' "$told" > /dev/null
}
new="+4179$(printf '%07d' $((RANDOM * 30 + RANDOM % 30)))"
move "$new" +41790000001
expect "$(call 200 GET /v1/accounts/me/security '' "$T" | field 'x.mobilePhone.slice(-2)')" "${new: -2}" "the masked number's end"

say "her open sessions, with the device and the network (never the address)"
expect "$(call 200 GET /v1/accounts/me/sessions '' "$T" | field 'x.items.find((s) => s.current).device')" 'Firefox on Linux' "the current session's device"

move +41790000001 "$new"
expect "$(call 200 GET /v1/accounts/me/security '' "$T" | field x.mobilePhone)" "$old" "the seed's number back"
say "done"
