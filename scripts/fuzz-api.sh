#!/usr/bin/env bash
# Fuzzes ecom's REST API with schemathesis, driven by the server's own /openapi.json.
#
# For each backend (the memory backend, then MongoDB on a private secantusd-rs), it starts
# ecom-server on a free 127.0.0.1 port, signs up a shop and a customer over the API, seeds a
# product, a code, a cart and an order, and runs schemathesis twice: with the shop's headers and
# with the customer's (logout and token refresh are left out so the session survives). It prints
# one line per run and a total (requests sent, 5xx answers, violations of the document) and exits
# non-zero on any 5xx, any violation (status, schema, content type, accepted-invalid or
# refused-valid data) or any schemathesis error.
#
# Idempotent: schemathesis goes into a venv under ${XDG_CACHE_HOME:-$HOME/.cache}; every process it
# starts is stopped on exit. Traffic goes to 127.0.0.1 only.
#
# Settings (environment):
#   ECOM_FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 30)
#   ECOM_FUZZ_BACKENDS      backends to fuzz, space-separated (default "memory mongo")
#   ECOM_FUZZ_WORKERS       schemathesis workers (default 2)
#   ECOM_FUZZ_SEED          schemathesis seed (default: random, printed)
#   ECOM_FUZZ_KEEP          1: keep the reports (whole schemathesis output, HAR, JSON) and print where
#   ECOM_FUZZ_MODE          data schemathesis generates: all (default), positive (valid per the
#                           document only; each run then also lists the operations that refused
#                           most of it: 400/409/422 for more than half of their requests) or
#                           negative
#   ECOM_FUZZ_REPORT_DIR    keep each run's reports (JSON, HAR, server log) in this directory
#   ECOM_FUZZ_SCHEMATHESIS  the schemathesis version to install (default 4.32.5)
#   ECOM_FUZZ_PYTHON        the Python to make the venv with (default: python3.13, 3.12, python3)
#   ECOM_CARGO_LOCK         a lock file every cargo command here takes first (flock), where builds
#                           must not overlap with others on the machine (default: none)
#   CARGO_TARGET_DIR        as for cargo
#
# The document states the rules of free-form JSON (no `$` keys in bodies; the keys and integers
# of client data) in words, which client generators take; scripts/schemathesis_hooks.py gives
# them to schemathesis as JSON Schema.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAX_EXAMPLES=${ECOM_FUZZ_MAX_EXAMPLES:-30}
BACKENDS=${ECOM_FUZZ_BACKENDS:-memory mongo}
WORKERS=${ECOM_FUZZ_WORKERS:-2}
SEED=${ECOM_FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
MODE=${ECOM_FUZZ_MODE:-all}
ST_VERSION=${ECOM_FUZZ_SCHEMATHESIS:-4.32.5}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/ecom-fuzz-venv
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf 'fuzz-api: %s\n' "$*" >&2; }

# cargo, after taking ECOM_CARGO_LOCK when it is set.
cargo_() {
  if [ -n "${ECOM_CARGO_LOCK:-}" ]; then
    flock "$ECOM_CARGO_LOCK" cargo "$@"
  else
    cargo "$@"
  fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ecom-fuzz.XXXXXX")
SERVER_PID=""
MONGO_PID=""
ST_PID=""

stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$ST_PID"
  ST_PID=""
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  stop_pid "$MONGO_PID"
  MONGO_PID=""
  if [ "${ECOM_FUZZ_KEEP:-0}" = 1 ]; then
    log "reports kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------------

# Python 3.11's ast module fails under the deep recursion of schemathesis' generators
# ("AST constructor recursion depth mismatch"); prefer a newer Python where there is one.
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $ST_VERSION\$"; then
  python=""
  candidates=(${ECOM_FUZZ_PYTHON:-})
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.1[2-9]*/bin/python3)
  fi
  candidates+=(python3.13 python3.12 python3)
  for candidate in "${candidates[@]}"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
  [ -n "$python" ] || { log "no python3 found"; exit 2; }
  log "installing schemathesis $ST_VERSION into $VENV ($($python --version))"
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$ST_VERSION"
fi
ST="$VENV/bin/schemathesis"
PY="$VENV/bin/python"

log "building ecom-server"
(cd "$ROOT" && cargo_ build --quiet -p ecom-http --bin ecom-server)
TARGET_DIR=$(cd "$ROOT" && cargo_ metadata --format-version 1 --no-deps |
  "$PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
SERVER_BIN="$TARGET_DIR/debug/ecom-server"

case " $BACKENDS " in
  *" mongo "*)
    if ! command -v secantusd-rs >/dev/null 2>&1; then
      log "secantusd-rs is missing: running scripts/dev-services.sh"
      bash "$ROOT/scripts/dev-services.sh"
    fi
    ;;
esac

# --- helpers -------------------------------------------------------------------------------------

# Waits until FILE has a line matching REGEX (from process PID) and prints the first match.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 line
  for _ in $(seq 1 600); do
    line=$(grep -m1 -E "$regex" "$file" 2>/dev/null || true)
    if [ -n "$line" ]; then
      printf '%s\n' "$line"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited early; its output:"
      cat "$file" >&2
      return 1
    fi
    sleep 0.1
  done
  log "timed out waiting for /$regex/ in $file"
  return 1
}

# Prints the value at a dotted PATH (e.g. metadata.shop._id) of the JSON on stdin.
json_get() {
  "$PY" -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value)' "$1"
}

BASE=""
KEY=""

# api METHOD PATH [BODY [CURL ARGS...]]: calls the API with the key; prints the JSON answer and
# fails unless the status is 2xx.
api() {
  local method=$1 path=$2 body=${3:-} out status data=()
  shift 3 || shift $#
  [ -z "$body" ] || data=(--data "$body")
  out="$WORK/answer.json"
  status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$BASE/v1/api$path" \
    -H "x-api-key: $KEY" -H 'content-type: application/json' "$@" "${data[@]}")
  if [ "${status:0:1}" != 2 ]; then
    log "$method $path answered $status: $(cat "$out")"
    return 1
  fi
  cat "$out"
}

# Starts ecom-server with the environment given as arguments (NAME=VALUE...); sets BASE.
start_server() {
  local out="$WORK/server.out"
  # Emptied first: the previous server's "listening on" line must not be read as this one's.
  : >"$out"
  env ECOM_BIND=127.0.0.1:0 ECOM_AUTH_RATE_LIMIT=0 RUST_LOG=warn "$@" \
    "$SERVER_BIN" >"$out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  local line
  line=$(wait_for_line "$out" '^listening on http://' "$SERVER_PID")
  BASE=${line#listening on }
}

# Starts secantusd-rs on a free port with its data in the work directory; sets MONGO_URI.
# (Not in a command substitution: MONGO_PID must reach the cleanup of this shell.)
start_mongo() {
  mkdir -p "$WORK/mongo"
  secantusd-rs --port 0 --storage-path "$WORK/mongo" --log-level WARNING \
    >"$WORK/mongo.out" 2>"$WORK/mongo.err" </dev/null &
  MONGO_PID=$!
  local line
  line=$(wait_for_line "$WORK/mongo.out" 'listening on' "$MONGO_PID")
  MONGO_URI="mongodb://127.0.0.1:${line##*:}/?directConnection=true"
}

# Signs up a shop and a customer and seeds data both can see; sets SHOP_ID, SHOP_TOKEN,
# USER_ID, USER_TOKEN.
seed() {
  local tag answer product
  tag="$$-$RANDOM"
  answer=$(api POST /shop/signup \
    "{\"name\":\"Fuzz Shop\",\"email\":\"fuzz-shop-$tag@example.com\",\"password\":\"correct horse battery\"}")
  SHOP_ID=$(json_get metadata.shop._id <<<"$answer")
  SHOP_TOKEN=$(json_get metadata.tokens.accessToken <<<"$answer")
  answer=$(api POST /user/signup \
    "{\"name\":\"Fuzz Buyer\",\"email\":\"fuzz-user-$tag@example.com\",\"password\":\"correct horse battery\"}")
  USER_ID=$(json_get metadata.user._id <<<"$answer")
  USER_TOKEN=$(json_get metadata.tokens.accessToken <<<"$answer")
  local shop=(-H "x-client-id: $SHOP_ID" -H "authorization: Bearer $SHOP_TOKEN")
  local user=(-H "x-client-id: $USER_ID" -H "authorization: Bearer $USER_TOKEN")
  answer=$(api POST /products '{"product_name":"Plain tee","product_thumb":"tee.png",
    "product_description":"A plain cotton tee","product_price":19.99,"product_quantity":50,
    "product_type":"Clothing","product_attributes":{"brand":"Acme","size":"M"}}' "${shop[@]}")
  product=$(json_get metadata._id <<<"$answer")
  api POST "/products/publish/$product" "" "${shop[@]}" >/dev/null
  api POST /products '{"product_name":"Draft lamp","product_thumb":"lamp.png","product_price":"5",
    "product_quantity":3,"product_type":"Furniture","product_attributes":{"brand":"Acme"}}' \
    "${shop[@]}" >/dev/null
  api POST /discounts '{"code":"FUZZ10","name":"Fuzz","type":"percentage","value":10,
    "start_date":"2020-01-01T00:00:00Z","end_date":"2999-01-01T00:00:00Z","max_uses":1000,
    "max_uses_per_user":100,"applies_to":"all"}' "${shop[@]}" >/dev/null
  local lines="{\"shopId\":\"$SHOP_ID\",\"item_products\":[{\"productId\":\"$product\",\"quantity\":1}]"
  api POST /checkout/order "{\"shop_order_ids\":[$lines,\"shop_discounts\":[{\"shopId\":\"$SHOP_ID\",\"codeId\":\"FUZZ10\"}]}],
    \"user_address\":{\"street\":\"1 Main St\"},\"user_payment\":{\"method\":\"cod\"}}" "${user[@]}" >/dev/null
  api POST /carts "{\"product\":{\"productId\":\"$product\",\"shopId\":\"$SHOP_ID\",\"quantity\":2}}" \
    "${user[@]}" >/dev/null
}

RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# fuzz NAME CLIENT_ID TOKEN: one schemathesis run with these credentials; appends its figures.
# scripts/schemathesis.toml lists the few operations with rules across fields that JSON Schema
# cannot state; scripts/schemathesis_hooks.py gives schemathesis the rules of free-form JSON that
# the document states in words. The filter_too_much health check is off: the key patterns of
# free-form JSON make the generator discard many drafts, which slows it down but is no finding.
fuzz() {
  local name=$1 client=$2 token=$3 dir="$WORK/$1" status=0
  mkdir -p "$dir"
  log "$name: schemathesis against $BASE/openapi.json (seed $SEED, $MAX_EXAMPLES examples)"
  (cd "$dir" && SCHEMATHESIS_HOOKS="$ROOT/scripts/schemathesis_hooks.py" "$ST" --config-file "$ROOT/scripts/schemathesis.toml" run "$BASE/openapi.json" \
    -H "x-api-key: $KEY" -H "x-client-id: $client" -H "authorization: Bearer $token" \
    --exclude-path-regex '/(logout|handlerRefreshToken)$' \
    --max-examples "$MAX_EXAMPLES" --workers "$WORKERS" --seed "$SEED" --mode "$MODE" \
    --generation-database none --request-timeout 60 --no-color \
    --suppress-health-check filter_too_much \
    --report json,har --report-dir "$dir" --report-json-path "$dir/report.json" \
    --report-har-path "$dir/requests.har") >"$dir/output.txt" 2>&1 &
  # In the background and waited for, so that a signal stops the run at once (see cleanup).
  ST_PID=$!
  wait "$ST_PID" || status=$?
  ST_PID=""
  "$PY" - "$name" "$dir" "$status" "$MODE" "$BASE" >>"$RESULTS" <<'EOF'
import json, sys, urllib.parse, urllib.request
name, folder, status, mode, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
try:
    entries = json.load(open(f"{folder}/requests.har"))["log"]["entries"]
except (OSError, ValueError, KeyError):
    entries = []
requests = len(entries)
server_errors = sum(1 for e in entries if e["response"]["status"] >= 500)
try:
    report = json.load(open(f"{folder}/report.json"))
except (OSError, ValueError):
    report = {"failures": [], "errors": [{"title": "no report", "count": 1}]}
violations = sum(f["count"] for f in report["failures"] if f["code"] != "not_a_server_error")
errors = sum(e["count"] for e in report["errors"])
refusing = "-"
if mode == "positive":
    # Which operation each request went to: the path template whose segments match, literal
    # segments preferred over parameters.
    paths = json.load(urllib.request.urlopen(f"{base}/openapi.json"))["paths"]
    def operation(method, url):
        segments = urllib.parse.urlsplit(url).path.split("/")
        best = None
        for template, item in paths.items():
            parts = template.split("/")
            if method.lower() not in item or len(parts) != len(segments):
                continue
            if all(p.startswith("{") or p == s for p, s in zip(parts, segments)):
                score = sum(not p.startswith("{") for p in parts)
                if best is None or score > best[0]:
                    best = (score, f"{method} {template}")
        return best[1] if best else f"{method} ?"
    sent, refused = {}, {}
    for e in entries:
        op = operation(e["request"]["method"], e["request"]["url"])
        sent[op] = sent.get(op, 0) + 1
        if e["response"]["status"] in (400, 409, 422):
            refused[op] = refused.get(op, 0) + 1
    mostly = sorted(f"{op} ({refused.get(op, 0)}/{n})" for op, n in sent.items()
                    if refused.get(op, 0) * 2 > n)
    refusing = f"{len(mostly)} of {len(sent)}" + (": " + ", ".join(mostly) if mostly else "")
print(f"{name}\t{requests}\t{server_errors}\t{violations}\t{errors}\t{status}\t{refusing}")
EOF
  if [ "$status" -ne 0 ]; then
    log "$name: schemathesis exited $status; its summary:"
    sed -n '/^=* *FAILURES\|^=* *ERRORS\|^=* *SUMMARY/,$p' "$dir/output.txt" | tail -n 200 >&2
  fi
  if [ -n "${ECOM_FUZZ_REPORT_DIR:-}" ]; then
    mkdir -p "$ECOM_FUZZ_REPORT_DIR/$name"
    cp "$dir"/report.json "$dir"/requests.har "$dir"/output.txt "$ECOM_FUZZ_REPORT_DIR/$name/" 2>/dev/null || true
    cp "$WORK/server.err" "$ECOM_FUZZ_REPORT_DIR/$name/server.log" 2>/dev/null || true
  fi
}

# --- runs ----------------------------------------------------------------------------------------

for backend in $BACKENDS; do
  case "$backend" in
    memory)
      start_server
      KEY=$(wait_for_line "$WORK/server.out" '^api key: ' "$SERVER_PID")
      KEY=${KEY#api key: }
      ;;
    mongo)
      start_mongo
      KEY="ecom_fuzz_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
      start_server ECOM_MONGO_URI="$MONGO_URI" ECOM_MONGO_DB="ecom_fuzz" \
        ECOM_SECRET="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" ECOM_BOOTSTRAP_API_KEY="$KEY"
      ;;
    *)
      log "unknown backend $backend (memory, mongo)"
      exit 2
      ;;
  esac
  log "$backend: server at $BASE"
  seed
  fuzz "$backend/shop" "$SHOP_ID" "$SHOP_TOKEN"
  fuzz "$backend/customer" "$USER_ID" "$USER_TOKEN"
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  stop_pid "$MONGO_PID"
  MONGO_PID=""
done

# --- summary -------------------------------------------------------------------------------------

failed=0
total_requests=0 total_5xx=0 total_violations=0 total_errors=0
while IFS=$'\t' read -r name requests server_errors violations errors status refusing; do
  printf '%-18s %7d requests  %4d server errors (5xx)  %4d violations  %3d errors\n' \
    "$name" "$requests" "$server_errors" "$violations" "$errors"
  if [ "$refusing" != "-" ]; then
    printf '%-18s operations refusing most valid input: %s\n' "" "$refusing"
  fi
  total_requests=$((total_requests + requests))
  total_5xx=$((total_5xx + server_errors))
  total_violations=$((total_violations + violations))
  total_errors=$((total_errors + errors))
  if [ "$server_errors" -ne 0 ] || [ "$violations" -ne 0 ] || [ "$errors" -ne 0 ] ||
     [ "$status" -ne 0 ] || [ "$requests" -eq 0 ]; then
    failed=1
  fi
done <"$RESULTS"
printf '%-18s %7d requests  %4d server errors (5xx)  %4d violations  %3d errors  (seed %s)\n' \
  "total" "$total_requests" "$total_5xx" "$total_violations" "$total_errors" "$SEED"
exit "$failed"
