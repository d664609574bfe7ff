#!/usr/bin/env bash
# The public catalogue under load (see BENCHMARKS.md, "Catalogue"): a release ecom-server on a
# private secantusd-rs (MongoDB wire protocol), 10,000 products published through the API, then
# `ecom-load browse`: each listing of /products/all (every filter and sort), /products/facets
# and /categories at 16 connections for BENCH_SECS seconds each, on two servers over the same
# store side by side: A with the catalogue cache off (every request reaches the store), B with
# the default cache (ECOM_CATALOGUE_CACHE_MS=1000).
#
#   bash scripts/bench-catalogue.sh
#   BENCH_PRODUCTS=2000 BENCH_SECS=3 bash scripts/bench-catalogue.sh   # a quick pass
#   BENCH_ONLY=facets bash scripts/bench-catalogue.sh                  # listings named *facets*
#
# Traffic goes to 127.0.0.1 only, bounded in time; everything started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

SECS="${BENCH_SECS:-5}"
PRODUCTS="${BENCH_PRODUCTS:-10000}"
CONNS="${BENCH_CONNECTIONS:-16}"
ONLY="${BENCH_ONLY:-}"
KEY="bench-bootstrap-key-0123456789"

bash scripts/dev-services.sh >/dev/null
cargo build --release -q -p ecom-http -p ecom-load

WORK="$(mktemp -d -t ecom-catalogue.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() { # wait_for FILE PATTERN
  for _ in $(seq 1 300); do
    if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench-catalogue: timed out waiting for '$2' in $1" >&2
  cat "$1" >&2
  return 1
}

mkdir -p "$WORK/mongo"
secantusd-rs --port 0 --storage-path "$WORK/mongo" --cache-size 256M --log-level WARNING \
  >"$WORK/mongo.out" 2>"$WORK/mongo.err" </dev/null &
PIDS+=($!)
wait_for "$WORK/mongo.out" "listening on"
MONGO_PORT="$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/mongo.out" | head -1 | sed 's/.*://')"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_server() { # start_server NAME CACHE_MS -> sets PORT
  PORT="$(free_port)"
  ECOM_BIND="127.0.0.1:$PORT" ECOM_BOOTSTRAP_API_KEY="$KEY" ECOM_SECRET="bench-secret-0123456789abcdef" \
    ECOM_MONGO_URI="mongodb://127.0.0.1:${MONGO_PORT}/?directConnection=true" ECOM_MONGO_DB=catalogue \
    ECOM_AUTH_RATE_LIMIT=0 ECOM_CATALOGUE_CACHE_MS="$2" RUST_LOG=warn \
    target/release/ecom-server >"$WORK/$1.out" 2>&1 </dev/null &
  PIDS+=($!)
  wait_for "$WORK/$1.out" "listening on"
}
start_server cold 0
COLD="$PORT"
start_server warm 1000
WARM="$PORT"

echo "# catalogue bench: $(git rev-parse --short HEAD), $PRODUCTS products, $CONNS connections, ${SECS} s per listing and server; A: cache off, B: ECOM_CATALOGUE_CACHE_MS=1000"
target/release/ecom-load browse --url "http://127.0.0.1:$COLD" --compare-url "http://127.0.0.1:$WARM" \
  --api-key "$KEY" --products "$PRODUCTS" --connections "$CONNS" --secs "$SECS" ${ONLY:+--only "$ONLY"}
