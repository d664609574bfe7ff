#!/usr/bin/env bash
# The flash-sale benchmark matrix in one run, printed as one table (see BENCHMARKS.md).
#
#   bash scripts/bench.sh            # HTTP matrix + store ceiling + criterion benches
#   BENCH_SECS=5 bash scripts/bench.sh   # shorter windows
#   BENCH_CRITERION=0 bash scripts/bench.sh  # HTTP matrix and ceiling only
#   BENCH_SERVER=/tmp/before/ecom-server BENCH_ONLY=mongo_redis_gate_hot bash scripts/bench.sh
#       # another build of the server (say, the commit before a change) on the same rows
#   BENCH_ONLY=mongo_redis_gate_hot,mongo_redis_gate_hot_model bash scripts/bench.sh  # several rows
#   BENCH_ONLY=mongo_atomic_100 BENCH_PROFILE=1 BENCH_SECS=30 bash scripts/bench.sh
#       # one row, with CPU per process (top) and a perf profile of the store and of the server
#
# It makes sure secantusd-rs and redis-server are installed (scripts/dev-services.sh), starts a
# private secantusd-rs and a private Redis on free ports (data in a temporary directory, removed
# at the end), builds the release `ecom-server` and `ecom-load`, then for each row starts the
# server on 127.0.0.1 with that backend and strategy (a fresh database and Redis prefix per row),
# drives it with `ecom-load checkout` and stops it. The store's own ceiling (conditional
# decrements of one document on MongoDB, Lua decrements on Redis) is measured in the same run so
# the rows can be read as fractions of it. Traffic goes to 127.0.0.1 only, bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

SECS="${BENCH_SECS:-10}"
CONNS="${BENCH_CONNECTIONS:-64}"
CRITERION="${BENCH_CRITERION:-1}"
ONLY="${BENCH_ONLY:-}"
PROFILE="${BENCH_PROFILE:-0}"
KEY="bench-bootstrap-key-0123456789"
SECRET="bench-secret-0123456789abcdef"

bash scripts/dev-services.sh >/dev/null
cargo build --release -q -p ecom-http -p ecom-load
SERVER="${BENCH_SERVER:-target/release/ecom-server}"
LOAD=target/release/ecom-load

# shellcheck source=scripts/bench-services.sh
. scripts/bench-services.sh

# Private secantusd-rs.
start_secantusd

start_redis

RESULTS="$WORK/results"
: >"$RESULTS"

# While a row runs: CPU per process, then where the store and the server spend it (perf).
profile() { # profile SERVER_PID
  sleep 10
  local load_pid
  load_pid="$(pgrep -f 'ecom-load checkout' | head -1)"
  echo "## CPU per process (top, 5 s): secantusd-rs, ecom-server, ecom-load"
  top -b -n 2 -d 5 -p "${PIDS[0]},$1,$load_pid" | awk '/^ *PID/ {n++} n == 2 && NF > 0'
  for who in "secantusd-rs:${PIDS[0]}" "ecom-server:$1"; do
    echo "## perf: ${who%%:*} (cpu-clock, 6 s), top symbols"
    perf record -q -e cpu-clock -g -o "$WORK/perf.data" -p "${who##*:}" -- sleep 6 >/dev/null 2>&1
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | head -20
  done
}

# row LABEL WINDOWS PRODUCTS CONNECTIONS ENV...   (MODELS=N row ...: N models per product)
row() {
  local label="$1" windows="$2" products="$3" conns="$4"
  shift 4
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$label,"* ]]; then return 0; fi
  local port
  port="$(free_port)"
  env "$@" ECOM_BIND="127.0.0.1:$port" ECOM_SECRET="$SECRET" ECOM_BOOTSTRAP_API_KEY="$KEY" \
    ECOM_AUTH_RATE_LIMIT=0 ECOM_MONGO_DB="bench_${label//[^a-z0-9]/_}" ECOM_REDIS_PREFIX="bench:${label}:" RUST_LOG=warn \
    "$SERVER" >"$WORK/$label.server" 2>&1 </dev/null &
  local pid=$!
  PIDS+=("$pid")
  wait_for "$WORK/$label.server" "listening on"
  local profiler=""
  if [ "$PROFILE" = "1" ]; then
    profile "$pid" >"$WORK/$label.profile" 2>&1 &
    profiler=$!
  fi
  "$LOAD" checkout --url "http://127.0.0.1:$port" --api-key "$KEY" --label "$label" \
    --windows "$windows" --window-secs "$SECS" --products "$products" --connections "$conns" \
    --models "${MODELS:-0}" --server-pid "$pid" | tee -a "$WORK/$label.load"
  grep '^summary ' "$WORK/$label.load" | sed 's/^summary //' >>"$RESULTS"
  if [ -n "$profiler" ]; then
    wait "$profiler" || true
    cat "$WORK/$label.profile"
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

row memory_hot 3 1 "$CONNS"
row memory_100 1 100 "$CONNS"
row mongo_atomic_hot 3 1 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_CHECKOUT_STRATEGY=atomic
row mongo_redis_gate_hot 3 1 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_REDIS_URL="$REDIS" ECOM_CHECKOUT_STRATEGY=gate
# One hot model of a product with variants (MODELS=1), and six models of one product.
MODELS=1 row mongo_redis_gate_hot_model 3 1 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_REDIS_URL="$REDIS" ECOM_CHECKOUT_STRATEGY=gate
MODELS=6 row mongo_redis_gate_6_models 1 1 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_REDIS_URL="$REDIS" ECOM_CHECKOUT_STRATEGY=gate
row mongo_redis_atomic_hot 3 1 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_REDIS_URL="$REDIS" ECOM_CHECKOUT_STRATEGY=atomic
row mongo_redis_lock_hot 1 1 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_REDIS_URL="$REDIS" ECOM_CHECKOUT_STRATEGY=lock_then_reserve
row mongo_atomic_100 1 100 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_CHECKOUT_STRATEGY=atomic
row mongo_redis_gate_100 1 100 "$CONNS" ECOM_MONGO_URI="$MONGO" ECOM_REDIS_URL="$REDIS" ECOM_CHECKOUT_STRATEGY=gate
row mongo_atomic_1conn 1 1 1 ECOM_MONGO_URI="$MONGO" ECOM_CHECKOUT_STRATEGY=atomic

if [ -n "$ONLY" ]; then exit 0; fi
"$LOAD" ceiling --mongo-uri "$MONGO" --redis-url "$REDIS" --connections "$CONNS" --secs "$SECS" \
  | tee "$WORK/ceiling.load"
grep '^summary ' "$WORK/ceiling.load" | sed 's/^summary //' >>"$RESULTS"

echo
echo "## HTTP, ${CONNS} connections (1 for *_1conn), ${SECS} s windows, one run"
python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ceiling = next((r["ceiling"] for r in rows if r.get("label") == "ceiling"), {})
mongo = ceiling.get("mongo_decrements_per_s")
print("| run | orders/s per window | p99 ms per window | last/first | other answers | RSS MiB | stock check | vs store ceiling |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if r.get("label") == "ceiling":
        continue
    w = r["windows"]
    rates = [x["orders_per_s"] for x in w]
    p99 = [x["p99_ms"] for x in w]
    other = {}
    for x in w:
        for k, v in x["other"].items():
            other[k] = other.get(k, 0) + v
    flat = f"{rates[-1] / rates[0]:.2f}" if len(rates) > 1 and rates[0] else "-"
    vs = f"{rates[0] / mongo:.2f}x" if mongo and r["label"].startswith("mongo") else "-"
    rss = f"{r['rss_mib']:.0f}" if r.get("rss_mib") is not None else "-"
    print(f"| {r['label']} | {' / '.join(f'{x:.0f}' for x in rates)} | "
          f"{' / '.join(f'{x:.0f}' for x in p99)} | {flat} | {other or 'none'} | {rss} | "
          f"{'ok' if r['consistent'] else 'MISMATCH'} | {vs} |")
if ceiling:
    print()
    print(f"store ceiling: MongoDB {ceiling.get('mongo_decrements_per_s', 0):.0f} conditional "
          f"decrements/s; Redis {ceiling.get('redis_decrements_per_s', 0):.0f} Lua decrements/s")
PY

if [ "$CRITERION" = "1" ]; then
  echo
  echo "## In process (criterion)"
  ECOM_BENCH_MONGO_URI="$MONGO" cargo bench -q --bench reserve --bench checkout --bench history -- \
    --warm-up-time 1 --measurement-time 3 2>&1 | grep -E '^[a-z_]+/|time:|thrpt:' || true
fi
