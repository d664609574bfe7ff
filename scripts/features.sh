#!/usr/bin/env bash
# Every feature of `ecom` and `ecom-http` builds alone without warnings, and `ecom`'s `http`
# feature alone (the router to mount) pulls in no database driver. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
check() {
  echo "features: cargo check $*"
  out=$(cargo check --locked --quiet "$@" 2>&1) || { echo "$out"; exit 1; }
  if grep -q "^warning" <<<"$out"; then echo "$out"; exit 1; fi
}
check -p ecom-core --no-default-features
check -p ecom --no-default-features
for feature in memory mongo redis http; do
  check -p ecom --no-default-features --features "$feature"
done
check -p ecom-http --no-default-features
for feature in mongo redis server; do
  check -p ecom-http --no-default-features --features "$feature"
done
drivers=$(cargo tree --locked -p ecom --no-default-features --features http -e normal --prefix none |
  grep -E "^(mongodb|redis|clap|figment|toml|tracing-subscriber) " | sort -u || true)
if [ -n "$drivers" ]; then
  echo "features: ecom's http feature alone pulls in:"; echo "$drivers"; exit 1
fi
echo "features: every feature builds alone; http alone pulls no mongodb, redis, clap, figment, toml or tracing-subscriber"
