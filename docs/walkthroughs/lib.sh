# Helpers the walkthroughs source: curl for HTTP, node for JSON (no other tool needed).
# BASE is the API (npm start: http://127.0.0.1:3000); the seed's variables come from
#   eval "$(npm run -s seed)"
BASE=${BASE:-http://127.0.0.1:3000}
BODY=$(mktemp)
trap 'rm -f "$BODY"' EXIT
for var in ALICE SYSTEM ORG ALICE_ID; do
  [ -n "${!var:-}" ] || { echo "FAILED: \$$var is not set: run eval \"\$(npm run -s seed | grep ^export)\" first" >&2; exit 1; }
done

# call <expected status> <METHOD> <path> [json body] [token] [extra header]: prints the answer's body;
# fails with the status and the body when the status is not the expected one.
call() {
  local expected=$1 method=$2 path=$3 body=${4:-} token=${5:-} extra=${6:-}
  local args=(-s -o "$BODY" -w '%{http_code}' -X "$method" "$BASE$path")
  [ -n "$body" ] && args+=(-H 'content-type: application/json' -d "$body")
  [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
  [ -n "$extra" ] && args+=(-H "$extra")
  local status
  status=$(curl "${args[@]}")
  if [ "$status" != "$expected" ]; then
    echo "FAILED: $method $path answered $status, expected $expected: $(cat "$BODY")" >&2
    exit 1
  fi
  cat "$BODY"
}

# status_of <METHOD> <path> [json body] [token]: prints only the status (the body is left in the
# file $BODY), for a step whose answer depends on an earlier run (e.g. 201 the first time, 409 since).
status_of() {
  local args=(-s -o "$BODY" -w '%{http_code}' -X "$1" "$BASE$2")
  [ -n "${3:-}" ] && args+=(-H 'content-type: application/json' -d "$3")
  [ -n "${4:-}" ] && args+=(-H "authorization: Bearer $4")
  curl "${args[@]}"
}

# field <js expression on x>: reads JSON on stdin, prints the expression (e.g. field x.id, or
# field .id for short); strings bare, anything else as JSON.
field() {
  node -e 'const x = JSON.parse(require("fs").readFileSync(0, "utf8"));
    let e = process.argv[1]; if (e.startsWith(".")) e = "x" + e;
    const v = eval(e); console.log(typeof v === "string" ? v : JSON.stringify(v))' "$1"
}

# expect <actual> <expected> <what>: fails when they differ.
expect() { [ "$1" = "$2" ] || { echo "FAILED: $3: got '$1', expected '$2'" >&2; exit 1; }; }
# expect_match <text> <regex> <what>: fails unless the text matches.
expect_match() { [[ "$1" =~ $2 ]] || { echo "FAILED: $3: '$1' does not match /$2/" >&2; exit 1; }; }

# The dev outbox (GET /dev/outbox) keeps every email and SMS the stack sent, never forgetting one.
# A walkthrough finds its message by recipient and subject (an SMS: by number and body), never as
# "the newest message": count_mail first counts those already there (an earlier run's), and
# wait_mail waits for the first one after them, in the order they arrived, up to 30 s.
#   seen=$(count_mail alice@demo.example '^Verify your identity$')
#   …the request that sends it…
#   text=$(wait_mail alice@demo.example '^Verify your identity$' "$seen")
# An optional last argument narrows by the email's text (a regex), when one recipient gets
# several emails with the same subject (e.g. the reason of a verification case).
# wait_mail <recipient> <subject regex> [seen] [text regex]; count_mail <recipient> <subject regex> [text regex]
# wait_sms <number> <body regex> [seen]; count_sms <number> <body regex>
wait_mail() { wait_message emails "$1" "$2" "${3:-0}" "${4:-}"; }
wait_sms() { wait_message sms "$1" "$2" "${3:-0}" ""; }
count_mail() { outbox_query emails "$1" "$2" count 0 "${3:-}"; }
count_sms() { outbox_query sms "$1" "$2" count 0 ""; }
outbox_query() {
  curl -s -H 'accept: application/json' "$BASE/dev/outbox" | node -e '
    const [kind, to, pattern, want, seen, textPattern] = process.argv.slice(1);
    const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const re = new RegExp(pattern), text = new RegExp(textPattern);
    // The outbox lists the newest first; oldest first here, so the index is the order of arrival.
    const all = (kind === "emails"
      ? o.emails.filter((e) => e.to.includes(to) && re.test(e.subject) && text.test(e.text))
      : o.sms.filter((s) => s.to === to && re.test(s.body))).reverse();
    if (want === "count") console.log(all.length);
    else if (all.length <= Number(seen)) process.exit(1);
    else console.log(kind === "emails" ? all[Number(seen)].text : all[Number(seen)].body);' "$@"
}
wait_message() {
  local i
  for i in $(seq 1 60); do
    outbox_query "$1" "$2" "$3" text "$4" "$5" && return 0
    sleep 0.5
  done
  echo "FAILED: no new $1 to $2 matching /$3/ within 30 s (after $4 already there)" >&2
  exit 1
}

# code_in: the first six-digit code of the text on stdin.
code_in() { grep -oE '\b[0-9]{6}\b' | head -1; }
# link_in <path>: the token of the first link …/<path>/<token> in the text on stdin (e.g. link_in verify).
link_in() { grep -oE "/$1/[A-Za-z0-9_-]{43}" | head -1 | sed 's|.*/||'; }
# totp <base32 secret>: the current code of an authenticator app (RFC 6238: SHA-1, 6 digits, 30 s).
totp() {
  node -e 'const s = process.argv[1].replace(/=+$/, "").toUpperCase(); let bits = "";
    for (const c of s) bits += "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".indexOf(c).toString(2).padStart(5, "0");
    const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
    const counter = Buffer.alloc(8); counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
    const h = require("crypto").createHmac("sha1", key).update(counter).digest(); const o = h[19] & 15;
    console.log(String((h.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, "0"))' "$1"
}
# unique: a fresh suffix, so a walkthrough run again never meets an earlier run's data.
unique() { echo "$(date +%s)$RANDOM"; }

# wait_until <what> <command…>: runs the command (a function of the script, say) every half
# second until it succeeds, up to 30 s; for a state a process reaches a moment after the answer.
wait_until() {
  local what=$1 i
  shift
  for i in $(seq 1 60); do
    ( "$@" ) > /dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "FAILED: $what: not within 30 s" >&2
  exit 1
}

say() { echo "== $*"; }

# fulfil_blocked <order id> <a customer token that reads the order>: blocks the paid order, Anna
# records a manual verification on its case once the case exists, and the order is fulfilled;
# prints the product of its first line.
fulfil_blocked() {
  local order=$1 reader=$2 case
  call 202 POST "/v1/orders/$order/block" '{"reason":"suspected phishing"}' "$SYSTEM" > /dev/null
  has_case() { [ "$(call 200 GET "/v1/orders/$order" '' "$ANNA" | field .block.verificationCaseId)" != null ]; }
  wait_until "the order's verification case" has_case
  case=$(call 200 GET "/v1/orders/$order" '' "$ANNA" | field .block.verificationCaseId)
  call 200 POST "/v1/verification-cases/$case/manual-verification" '{"decision":"approve","reason":"called the customer back"}' "$ANNA" > /dev/null
  fulfilled() { [ "$(call 200 GET "/v1/orders/$order" '' "$reader" | field .status)" = fulfilled ]; }
  wait_until "the order fulfilled" fulfilled
  call 200 GET "/v1/orders/$order" '' "$reader" | field '.lines[0].productId'
}
