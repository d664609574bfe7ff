#!/usr/bin/env bash
# Checks that clients generated from ecom's /openapi.json work.
#
# For each backend (the memory backend, then MongoDB on a private secantusd-rs), it starts
# ecom-server on a free 127.0.0.1 port (with online payments offered), fetches /openapi.json and
# generates from it
#   - a Python client with openapi-python-client, and
#   - TypeScript types with openapi-typescript, which `tsc --strict --noEmit` compiles together
#     with scripts/clients/check.ts (bodies that must and must not type-check).
# Any line either generator prints beyond its banner (a schema it could not parse or process, a
# reference it could not find, a response or endpoint it left out) is a failure. Then
# scripts/clients/walkthrough.py runs the README's walkthrough through the generated Python
# client against that server. Exits non-zero on the first failure.
#
# Idempotent: the generators go into ${XDG_CACHE_HOME:-$HOME/.cache}/ecom-clients (a venv, and an
# npm prefix), never into the repository; everything else into a temporary directory removed at
# exit, with every process started here stopped. Traffic goes to 127.0.0.1 only (and to PyPI and
# npm when installing).
#
# Settings (environment):
#   ECOM_CLIENTS_BACKENDS      backends to check, space-separated (default "memory mongo")
#   ECOM_CLIENTS_PROFILE       cargo profile of the server built (default dev; or release)
#   ECOM_SERVER_BIN            an ecom-server binary to run instead of building one
#   ECOM_CLIENTS_PYTHON        the Python (3.11 or newer) to make the venv with (default: the first
#                              of python3.13, python3.12, python3.11, python3 that is)
#   ECOM_CLIENTS_KEEP          1: keep the work directory (documents, clients, logs) and print where
#   ECOM_CARGO_LOCK            a lock file every cargo command here takes first (flock), where builds
#                              must not overlap with others on the machine (default: none)
#   CARGO_TARGET_DIR           as for cargo
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BACKENDS=${ECOM_CLIENTS_BACKENDS:-memory mongo}
PROFILE=${ECOM_CLIENTS_PROFILE:-dev}
# The generators, pinned.
OPENAPI_PYTHON_CLIENT=0.29.1
OPENAPI_TYPESCRIPT=7.13.0
TYPESCRIPT=5.9.3
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ecom-clients
VENV=$CACHE/venv-openapi-python-client-$OPENAPI_PYTHON_CLIENT
NPM_PREFIX=$CACHE/npm-openapi-typescript-$OPENAPI_TYPESCRIPT-typescript-$TYPESCRIPT
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf 'clients: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

# cargo, after taking ECOM_CARGO_LOCK when it is set.
cargo_() {
  if [ -n "${ECOM_CARGO_LOCK:-}" ]; then
    flock "$ECOM_CARGO_LOCK" cargo "$@"
  else
    cargo "$@"
  fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ecom-clients.XXXXXX")
SERVER_PID=""
MONGO_PID=""

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
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  stop_pid "$MONGO_PID"
  MONGO_PID=""
  if [ "${ECOM_CLIENTS_KEEP:-0}" = 1 ]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------------

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# openapi-python-client (needs Python 3.11 or newer), in a venv of its own.
if ! "$VENV/bin/openapi-python-client" --version 2>/dev/null |
  grep -q "version: $OPENAPI_PYTHON_CLIENT\$"; then
  python=""
  for candidate in ${ECOM_CLIENTS_PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
  [ -n "$python" ] || fail "no Python 3.11 or newer found (openapi-python-client needs one)"
  log "installing openapi-python-client $OPENAPI_PYTHON_CLIENT into $VENV ($($python --version))"
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "openapi-python-client==$OPENAPI_PYTHON_CLIENT"
fi

# openapi-typescript and typescript, under an npm prefix of their own.
if ! command -v npm >/dev/null 2>&1; then
  log "installing node and npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
STAMP="$NPM_PREFIX/.installed"
if [ ! -f "$STAMP" ] || [ ! -x "$NPM_PREFIX/node_modules/.bin/tsc" ]; then
  log "installing openapi-typescript $OPENAPI_TYPESCRIPT and typescript $TYPESCRIPT into $NPM_PREFIX"
  rm -rf "$NPM_PREFIX"
  mkdir -p "$NPM_PREFIX"
  echo '{"private": true}' >"$NPM_PREFIX/package.json"
  npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error --save-exact \
    "openapi-typescript@$OPENAPI_TYPESCRIPT" "typescript@$TYPESCRIPT" >&2
  touch "$STAMP"
fi
OPENAPI_TS="$NPM_PREFIX/node_modules/.bin/openapi-typescript"
TSC="$NPM_PREFIX/node_modules/.bin/tsc"

# The server.
if [ -n "${ECOM_SERVER_BIN:-}" ]; then
  SERVER_BIN=$ECOM_SERVER_BIN
else
  log "building ecom-server ($PROFILE)"
  (cd "$ROOT" && cargo_ build --quiet --locked --profile "$PROFILE" -p ecom-http --bin ecom-server)
  TARGET_DIR=$(cd "$ROOT" && cargo_ metadata --format-version 1 --no-deps |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  case "$PROFILE" in
    dev) SERVER_BIN="$TARGET_DIR/debug/ecom-server" ;;
    *) SERVER_BIN="$TARGET_DIR/$PROFILE/ecom-server" ;;
  esac
fi
[ -x "$SERVER_BIN" ] || fail "no server binary at $SERVER_BIN"

case " $BACKENDS " in
  *" mongo "*)
    if ! command -v secantusd-rs >/dev/null 2>&1; then
      log "secantusd-rs is missing: running scripts/dev-services.sh"
      bash "$ROOT/scripts/dev-services.sh" >&2
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

BASE=""
KEY=""
SERVERS=0

# Starts ecom-server with the environment given as arguments (NAME=VALUE...); sets BASE. Its
# output goes to a file of its own (a previous server's "listening on" line is not its own).
start_server() {
  local out="$WORK/server-$SERVERS.out"
  SERVERS=$((SERVERS + 1))
  env ECOM_BIND=127.0.0.1:0 ECOM_AUTH_RATE_LIMIT=0 RUST_LOG=warn \
    ECOM_BOOTSTRAP_API_KEY="$KEY" ECOM_PAYMENT_WEBHOOK_SECRET="whsec-$(random_hex 16)" "$@" \
    "$SERVER_BIN" >"$out" 2>"${out%.out}.err" </dev/null &
  SERVER_PID=$!
  local line
  line=$(wait_for_line "$out" '^listening on http://127\.0\.0\.1:' "$SERVER_PID")
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

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# Fails unless the generator output in FILE has only the lines matching REGEX (its banner).
only_banner() {
  local file=$1 regex=$2 what=$3 extra
  extra=$(grep -Ev "$regex" "$file" | grep -Ev '^[[:space:]]*$' || true)
  if [ -n "$extra" ]; then
    log "$what warned ($(grep -cEv "$regex|^[[:space:]]*\$" "$file") lines); its output:"
    cat "$file" >&2
    fail "$what did not take the document cleanly"
  fi
}

# check NAME: generates both clients from $BASE/openapi.json, compiles the TypeScript, runs the
# walkthrough.
check() {
  local name=$1 dir="$WORK/$1" status
  mkdir -p "$dir/python" "$dir/typescript"
  curl -sSf --max-time 30 -o "$dir/openapi.json" "$BASE/openapi.json" ||
    fail "$name: could not fetch $BASE/openapi.json"

  log "$name: openapi-python-client $OPENAPI_PYTHON_CLIENT"
  status=0
  (cd "$dir/python" && PATH="$VENV/bin:$PATH" openapi-python-client generate \
    --path "$dir/openapi.json" --output-path "$dir/python/ecom_client" --meta none \
    >"$dir/python.log" 2>&1) || status=$?
  [ "$status" -eq 0 ] || { cat "$dir/python.log" >&2; fail "$name: openapi-python-client exited $status"; }
  only_banner "$dir/python.log" '^Generating ' "$name: openapi-python-client"
  [ -f "$dir/python/ecom_client/client.py" ] || fail "$name: no Python client was generated"

  log "$name: openapi-typescript $OPENAPI_TYPESCRIPT, tsc $TYPESCRIPT --strict"
  status=0
  (cd "$dir/typescript" && "$OPENAPI_TS" "$dir/openapi.json" -o "$dir/typescript/schema.d.ts" \
    >"$dir/typescript.log" 2>&1) || status=$?
  [ "$status" -eq 0 ] || { cat "$dir/typescript.log" >&2; fail "$name: openapi-typescript exited $status"; }
  only_banner "$dir/typescript.log" '^(✨ openapi-typescript |🚀 .* → .*schema\.d\.ts)' \
    "$name: openapi-typescript"
  cp "$ROOT/scripts/clients/check.ts" "$dir/typescript/check.ts"
  (cd "$dir/typescript" && "$TSC" --strict --noEmit --target es2022 --module nodenext \
    --moduleResolution nodenext schema.d.ts check.ts >&2) || fail "$name: tsc --strict failed"

  log "$name: the README walkthrough through the generated Python client"
  PYTHONPATH="$dir/python" "$VENV/bin/python" "$ROOT/scripts/clients/walkthrough.py" "$BASE" "$KEY" >&2 ||
    fail "$name: the walkthrough failed"
}

# --- runs ----------------------------------------------------------------------------------------

for backend in $BACKENDS; do
  KEY="ecom_clients_$(random_hex 16)"
  case "$backend" in
    memory)
      start_server
      ;;
    mongo)
      start_mongo
      start_server ECOM_MONGO_URI="$MONGO_URI" ECOM_MONGO_DB="ecom_clients" \
        ECOM_SECRET="$(random_hex 24)"
      ;;
    *)
      fail "unknown backend $backend (memory, mongo)"
      ;;
  esac
  log "$backend: server at $BASE"
  check "$backend"
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  stop_pid "$MONGO_PID"
  MONGO_PID=""
done

log "passed: both generators took /openapi.json without a warning, tsc --strict compiled the types, the walkthrough passed (backends: $BACKENDS)"
