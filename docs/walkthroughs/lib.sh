# Helpers the walkthroughs source: curl for HTTP, node for JSON (no other tool needed).
# BASE is the API (npm start: http://127.0.0.1:3000); the seed's variables come from
#   eval "$(npm run -s seed)"
BASE=${BASE:-http://127.0.0.1:3000}
BODY=$(mktemp)
trap 'rm -f "$BODY"' EXIT

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

# field <js expression on x>: reads JSON on stdin, prints the expression (e.g. field x.id).
field() { node -e 'const x = JSON.parse(require("fs").readFileSync(0, "utf8")); const v = eval(process.argv[1]); console.log(typeof v === "string" ? v : JSON.stringify(v))' "$1"; }

# expect <actual> <expected> <what>: fails when they differ.
expect() { [ "$1" = "$2" ] || { echo "FAILED: $3: got '$1', expected '$2'" >&2; exit 1; }; }

# wait_mail <recipient> <subject regex> [seen]: the text of the newest email to that recipient whose
# subject matches, once there are more than [seen] of them (count them first with count_mail, so an
# earlier run's message never stands in for this one's), waiting up to 30 s. wait_sms and count_sms
# likewise, by number and body.
wait_mail() { wait_message emails "$1" "$2" "${3:-0}"; }
wait_sms() { wait_message sms "$1" "$2" "${3:-0}"; }
count_mail() { outbox_query emails "$1" "$2" count; }
count_sms() { outbox_query sms "$1" "$2" count; }
outbox_query() {
  curl -s -H 'accept: application/json' "$BASE/dev/outbox" | node -e '
    const [kind, to, pattern, want, seen] = process.argv.slice(1);
    const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const re = new RegExp(pattern);
    const all = kind === "emails" ? o.emails.filter((e) => e.to.includes(to) && re.test(e.subject)) : o.sms.filter((s) => s.to === to && re.test(s.body));
    if (want === "count") console.log(all.length);
    else if (all.length <= Number(seen)) process.exit(1);
    else console.log(kind === "emails" ? all[0].text : all[0].body);' "$1" "$2" "$3" "$4" "${5:-0}"
}
wait_message() {
  local i
  for i in $(seq 1 60); do
    outbox_query "$1" "$2" "$3" text "$4" && return 0
    sleep 0.5
  done
  echo "FAILED: no new $1 to $2 matching /$3/ within 30 s" >&2
  exit 1
}

# code_in: the first six-digit code of the text on stdin.
code_in() { grep -oE '\b[0-9]{6}\b' | head -1; }

say() { echo "== $*"; }
