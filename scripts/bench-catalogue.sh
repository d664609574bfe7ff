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

# shellcheck source=scripts/bench-services.sh
. scripts/bench-services.sh
start_secantusd

start_server() { # start_server NAME CACHE_MS -> sets PORT
  PORT="$(free_port)"
  ECOM_BIND="127.0.0.1:$PORT" ECOM_BOOTSTRAP_API_KEY="$KEY" ECOM_SECRET="bench-secret-0123456789abcdef" \
    ECOM_MONGO_URI="$MONGO" ECOM_MONGO_DB=catalogue \
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
