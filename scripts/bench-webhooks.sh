#!/usr/bin/env bash
# The hot-product flash sale with and without a subscribed webhook endpoint, alternating, in
# one run (see BENCHMARKS.md, "Events and webhooks"): a release ecom-server on a private
# secantusd-rs + Redis (gate strategy), `ecom-load checkout` on one product at 64 connections.
# Runs "plain" have no endpoint (the event relay runs as always); runs "hooked" have one
# platform endpoint (`ecom-server webhook add`) subscribed to `order.placed`, on a local
# receiver (`ecom-load receive`) answering 200. After each hooked run it waits until every
# order placed reached the receiver (at most 30 s after the load stopped, else it fails) and
# reports how long that took and the delivery rate (distinct events per second).
#
#   bash scripts/bench-webhooks.sh                     # 3 pairs of 10 s runs
#   BENCH_PAIRS=1 BENCH_SECS=3 bash scripts/bench-webhooks.sh   # a quick pass (CI-sized)
#
# Traffic goes to 127.0.0.1 only, bounded in time; everything started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

SECS="${BENCH_SECS:-10}"
PAIRS="${BENCH_PAIRS:-3}"
CONNS="${BENCH_CONNECTIONS:-64}"
DRAIN_LIMIT=30
KEY="bench-bootstrap-key-0123456789"
SECRET="bench-secret-0123456789abcdef"

bash scripts/dev-services.sh >/dev/null
cargo build --release -q -p ecom-http -p ecom-load
SERVER="${BENCH_SERVER:-target/release/ecom-server}"
LOAD=target/release/ecom-load

# shellcheck source=scripts/bench-services.sh
. scripts/bench-services.sh
start_secantusd
start_redis
RESULTS="$WORK/results"
: >"$RESULTS"

stats() { python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))[sys.argv[2]])' "$@"; }

# run LABEL HOOKED(0|1)
run() {
  local label="$1" hooked="$2" port db
  port="$(free_port)"
  db="bench_${label//[^a-z0-9]/_}"
  local env=(ECOM_MONGO_URI="$MONGO" ECOM_MONGO_DB="$db" ECOM_SECRET="$SECRET"
    ECOM_REDIS_URL="$REDIS" ECOM_REDIS_PREFIX="bench:${label}:" ECOM_CHECKOUT_STRATEGY=gate
    ECOM_WEBHOOK_ALLOW_PRIVATE=true ECOM_WEBHOOK_ALLOW_HTTP=true)
  local receiver=""
  if [ "$hooked" = "1" ]; then
    local rport
    rport="$(free_port)"
    "$LOAD" receive --port "$rport" >"$WORK/$label.receiver" 2>&1 </dev/null &
    receiver=$!
    PIDS+=("$receiver")
    wait_for "$WORK/$label.receiver" "receiving on"
    RECEIVER="http://127.0.0.1:$rport"
    env "${env[@]}" RUST_LOG=warn "$SERVER" webhook add --url "$RECEIVER/hook" \
      --events order.placed --description bench >"$WORK/$label.endpoint"
  fi
  env "${env[@]}" ECOM_BIND="127.0.0.1:$port" ECOM_BOOTSTRAP_API_KEY="$KEY" \
    ECOM_AUTH_RATE_LIMIT=0 RUST_LOG=warn "$SERVER" >"$WORK/$label.server" 2>&1 </dev/null &
  local pid=$!
  PIDS+=("$pid")
  wait_for "$WORK/$label.server" "listening on"
  "$LOAD" checkout --url "http://127.0.0.1:$port" --api-key "$KEY" --label "$label" \
    --windows 1 --window-secs "$SECS" --products 1 --connections "$CONNS" --server-pid "$pid" \
    | tee "$WORK/$label.load" | grep -E 'window|stock check'
  local summary orders
  summary="$(grep '^summary ' "$WORK/$label.load" | sed 's/^summary //')"
  orders="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["orders"])' "$summary")"
  local drain="null" rate="null" delivered="null"
  if [ -n "$receiver" ]; then
    local stopped now got
    stopped="$(stats "$RECEIVER/stats" now_ms)"
    while :; do
      got="$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))["by_type"].get("order.placed", 0))' "$RECEIVER/stats")"
      now="$(stats "$RECEIVER/stats" now_ms)"
      if [ "$got" -ge "$orders" ]; then break; fi
      if [ $(( now - stopped )) -gt $(( DRAIN_LIMIT * 1000 )) ]; then
        echo "bench: $label: only $got of $orders order.placed delivered ${DRAIN_LIMIT} s after the load" >&2
        exit 1
      fi
      sleep 0.2
    done
    local first last
    first="$(stats "$RECEIVER/stats" first_ms)"
    last="$(stats "$RECEIVER/stats" last_ms)"
    delivered="$got"
    drain="$(python3 -c "print(max(0, $last - $stopped) / 1000)")"
    rate="$(python3 -c "print($got / max(0.001, ($last - $first) / 1000))")"
    echo "$label: $got of $orders order.placed delivered; the last ${drain} s after the load stopped; ${rate%.*} deliveries/s"
  fi
  python3 -c 'import json,sys; s=json.loads(sys.argv[1]); s.update(hooked=sys.argv[2]=="1", delivered=json.loads(sys.argv[3]), drain_s=json.loads(sys.argv[4]), delivery_rate=json.loads(sys.argv[5])); print(json.dumps(s))' \
    "$summary" "$hooked" "$delivered" "$drain" "$rate" >>"$RESULTS"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if [ -n "$receiver" ]; then kill "$receiver"; wait "$receiver" 2>/dev/null || true; fi
}

for i in $(seq 1 "$PAIRS"); do
  run "plain_$i" 0
  run "hooked_$i" 1
done

echo
echo "## Hot product, gate, ${CONNS} connections, ${SECS} s runs, alternating, one run"
python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| pair | plain orders/s (p99 ms) | hooked orders/s (p99 ms) | hooked/plain | order.placed delivered | last delivery after load | deliveries/s |")
print("|---|---|---|---|---|---|---|")
plain = [r for r in rows if not r["hooked"]]
hooked = [r for r in rows if r["hooked"]]
ratios = []
for i, (p, h) in enumerate(zip(plain, hooked), 1):
    pr, hr = p["windows"][0]["orders_per_s"], h["windows"][0]["orders_per_s"]
    ratios.append(hr / pr)
    print(f"| {i} | {pr:.0f} ({p['windows'][0]['p99_ms']:.0f}) | {hr:.0f} ({h['windows'][0]['p99_ms']:.0f}) | "
          f"{hr / pr:.2f}x | {h['delivered']} of {h['orders']} | {h['drain_s']:.1f} s | {h['delivery_rate']:.0f} |")
print()
print(f"mean hooked/plain: {sum(ratios) / len(ratios):.2f}x")
PY
