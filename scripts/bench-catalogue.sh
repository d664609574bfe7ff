#!/usr/bin/env bash
# The public catalogue under load (see BENCHMARKS.md, "Catalogue"): release ecom-servers on a
# private secantusd-rs (MongoDB wire protocol), for each catalogue size two servers over the
# same store side by side: A with the catalogue's read model off and no answer cache (every
# request reaches the store), B with the defaults (the read model on, no answer cache). The
# products are written straight into the store through ecom's MongoDB adapter by
# `ecom-load browse --seed-mongo-uri` (publishing 100,000 through the API takes too long); then
# each listing of /products/all (every filter and sort), /products/facets and /categories is
# measured at 16 connections for BENCH_SECS seconds on A and then on B, and once more while
# shops edit BENCH_EDITS products per second and a flash sale runs (`--under-writes`).
#
#   bash scripts/bench-catalogue.sh
#   BENCH_SIZES=10000 BENCH_SECS=3 bash scripts/bench-catalogue.sh     # one size, a quick pass
#   BENCH_ONLY=facets bash scripts/bench-catalogue.sh                  # listings named *facets*
#   BENCH_WRITES=0 bash scripts/bench-catalogue.sh                     # no pass under writes
#   BENCH_BUILD=0 bash scripts/bench-catalogue.sh                      # binaries already built
#   BENCH_BASELINE=/tmp/before/ecom-server bash scripts/bench-catalogue.sh
#   BENCH_LOG=ecom_core::service::catalogue=debug bash scripts/bench-catalogue.sh  # servers' logs
#       # A: that build's server with the read model on (two builds of the read model compared)
#
# Traffic goes to 127.0.0.1 only, bounded in time; everything started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

SECS="${BENCH_SECS:-5}"
SIZES="${BENCH_SIZES:-10000 100000}"
CONNS="${BENCH_CONNECTIONS:-16}"
ONLY="${BENCH_ONLY:-}"
WRITES="${BENCH_WRITES:-1}"
EDITS="${BENCH_EDITS:-10}"
KEY="bench-bootstrap-key-0123456789"

bash scripts/dev-services.sh >/dev/null
if [ "${BENCH_BUILD:-1}" = 1 ]; then cargo build --release -q -p ecom-http -p ecom-load; fi
BIN="${CARGO_TARGET_DIR:-target}/release"

# shellcheck source=scripts/bench-services.sh
. scripts/bench-services.sh
start_secantusd

start_server() { # start_server NAME DB INDEX [BINARY] -> sets PORT
  PORT="$(free_port)"
  local binary="${4:-$BIN/ecom-server}"
  ECOM_BIND="127.0.0.1:$PORT" ECOM_BOOTSTRAP_API_KEY="$KEY" ECOM_SECRET="bench-secret-0123456789abcdef" \
    ECOM_MONGO_URI="$MONGO" ECOM_MONGO_DB="$2" ECOM_CATALOGUE_INDEX="$3" ECOM_CATALOGUE_CACHE_MS=0 \
    ECOM_AUTH_RATE_LIMIT=0 RUST_LOG="${BENCH_LOG:-warn}" \
    "$binary" >"$WORK/$1.out" 2>&1 </dev/null &
  PIDS+=($!)
  SERVER_PID=$!
  wait_for "$WORK/$1.out" "listening on"
}

for PRODUCTS in $SIZES; do
  DB="catalogue_$PRODUCTS"
  if [ -n "${BENCH_BASELINE:-}" ]; then
    start_server "baseline_$PRODUCTS" "$DB" true "$BENCH_BASELINE"
  else
    start_server "store_$PRODUCTS" "$DB" false
  fi
  STORE="$PORT"
  STORE_PID="$SERVER_PID"
  start_server "index_$PRODUCTS" "$DB" true
  INDEX="$PORT"
  INDEX_PID="$SERVER_PID"
  # Above BENCH_STORE_MAX products the store path (A) answers in tens of seconds per request
  # (past the server's 30 s timeout for facets): B alone is measured.
  if [ -n "${BENCH_BASELINE:-}" ]; then
    URLS=(--url "http://127.0.0.1:$STORE" --compare-url "http://127.0.0.1:$INDEX")
    WHAT="A: $BENCH_BASELINE, read model on; B: this build, read model on; no cache"
  elif [ "$PRODUCTS" -le "${BENCH_STORE_MAX:-10000}" ]; then
    URLS=(--url "http://127.0.0.1:$STORE" --compare-url "http://127.0.0.1:$INDEX")
    WHAT="A: read model off, no cache; B: read model on (defaults), no cache"
  else
    URLS=(--url "http://127.0.0.1:$INDEX")
    WHAT="the read model on (defaults), no cache; writes through the same server"
  fi
  echo "# catalogue bench: $(git rev-parse --short HEAD), $PRODUCTS products, $CONNS connections, ${SECS} s per listing and server; $WHAT"
  "$BIN/ecom-load" browse "${URLS[@]}" \
    --api-key "$KEY" --products "$PRODUCTS" --connections "$CONNS" --secs "$SECS" \
    --seed-mongo-uri "$MONGO" --seed-mongo-db "$DB" --edits-per-sec "$EDITS" \
    ${ONLY:+--only "$ONLY"} $([ "$WRITES" = 1 ] && echo --under-writes)
  echo "# resident memory after the run: A $(awk '/VmRSS/ {print $2, $3}' "/proc/$STORE_PID/status"), B $(awk '/VmRSS/ {print $2, $3}' "/proc/$INDEX_PID/status")"
done
