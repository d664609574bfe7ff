#!/usr/bin/env bash
# Runs ecom's whole test suite: makes sure the services exist, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-services.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --workspace --all-features --locked
