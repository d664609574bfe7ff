#!/usr/bin/env bash
# Every feature of `ecom` and `ecom-http` builds alone without warnings, and `ecom`'s `http`
# feature alone (the router to mount) pulls in no database driver, none of the server's
# dependencies, and not the in-process store. Run by .ci/run.
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
banned="mongodb|redis|clap|figment|toml|tracing-subscriber|anyhow|mimalloc|secrecy"
drivers=$(cargo tree --locked -p ecom --no-default-features --features http -e normal --prefix none |
  grep -E "^($banned) " | sort -u || true)
if [ -n "$drivers" ]; then
  echo "features: ecom's http feature alone pulls in:"; echo "$drivers"; exit 1
fi
# The in-process store is compiled only with `memory`: no crate turns it on for the router.
core_features=$(cargo tree --locked -p ecom --no-default-features --features http -e normal,features \
  --prefix none -i ecom-core | grep -o '^ecom-core feature "[a-z]*"' | sort -u || true)
if grep -q '"memory"' <<<"$core_features"; then
  echo "features: ecom's http feature alone compiles ecom-core's memory backend:"
  cargo tree --locked -p ecom --no-default-features --features http -e normal,features -i ecom-core
  exit 1
fi
echo "features: every feature builds alone; http alone pulls none of ${banned//|/, } and no memory backend"
