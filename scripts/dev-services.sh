#!/usr/bin/env bash
# Makes sure the services ecom's tests need are present and running.
# Idempotent; safe to run again on a Debian/Ubuntu machine (uses apt-get, needs root or sudo).
#   - cmake and secantusd-rs (a MongoDB-wire-compatible test server, crate secantus-mdb; GPL-2.0,
#     used by the test kit only, never linked into ecom)
#   - redis-server answering on 127.0.0.1:6379
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

# Redis on 127.0.0.1:6379
redis_up() { command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing redis-server"
    apt_install redis-server
  fi
  log "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || { log "redis did not answer on 127.0.0.1:6379"; exit 1; }
fi
log "redis: up on 127.0.0.1:6379"
