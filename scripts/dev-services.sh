#!/usr/bin/env bash
# Makes sure the services ecom's tests need are present and running.
# Idempotent; safe to run again on a Debian/Ubuntu machine (uses apt-get, needs root or sudo).
#   - cmake and secantusd-rs (a MongoDB-wire-compatible test server, crate secantus-mdb; GPL-2.0,
#     used by the test kit only, never linked into ecom)
#   - cargo-deny (licence, ban and source checks)
#   - redis-server installed (each test binary starts a private one on a free port, unless
#     ECOM_TEST_REDIS_URL names a Redis to use)
set -euo pipefail

SECANTUS_VERSION="0.5.3-beta.196"
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export PATH="$HOME/.cargo/bin:$PATH"

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

log() { printf 'dev-services: %s\n' "$*"; }

# cmake (needed to build secantus-mdb)
if ! command -v cmake >/dev/null 2>&1; then
  log "installing cmake"
  apt_install cmake
fi

# secantusd-rs
if ! command -v secantusd-rs >/dev/null 2>&1 ||
   ! secantusd-rs --version 2>/dev/null | grep -q -- "${SECANTUS_VERSION%%-*}"; then
  log "installing secantus-mdb ${SECANTUS_VERSION} (takes a few minutes once)"
  cargo install secantus-mdb --version "=${SECANTUS_VERSION}" --ignore-rust-version --locked
fi
log "secantusd-rs: $(command -v secantusd-rs)"

# cargo-deny (the licence, ban and source checks of .ci/run)
CARGO_DENY_VERSION="0.20.2"
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
  log "installing cargo-deny ${CARGO_DENY_VERSION} (takes a few minutes once)"
  cargo install cargo-deny --version "=${CARGO_DENY_VERSION}" --locked
fi
log "cargo-deny: $(cargo deny --version)"

# redis-server (the tests start their own; nothing needs to run)
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server"
  apt_install redis-server
fi
log "redis-server: $(command -v redis-server)"
