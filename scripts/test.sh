#!/usr/bin/env bash
# The one test command (README: `npm test`). On a fresh clone it installs the npm packages, builds the
# native addon (on Linux through zig against the glibc floor, then checks the binary's GLIBC symbol
# versions) and the TypeScript layer, builds the object-storage servers the tests start (MinIO and
# fake-gcs-server, pinned, cached outside the clone; Azurite comes from npm), checks formatting (rustfmt, biome), biome's lint rules and clippy,
# then runs the Rust unit tests and the ava suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# MinIO and fake-gcs-server build (first run only) while the addon compiles.
servers_log="$(mktemp)"
ensure_test_servers >"$servers_log" 2>&1 &
servers_pid=$!

build_all
if [ -n "$FLOOR_TARGET" ]; then
  step "glibc floor $GLIBC_FLOOR and architecture of the addon" scripts/check-glibc.sh --max "$GLIBC_FLOOR" rustytree.linux-*.node
fi
step "API reference builds (typedoc, warnings are errors)" npx typedoc --logLevel Warn
step "cargo fmt --check" cargo fmt --check
step "biome check (format and lint of the TypeScript)" npx biome check .
step "cargo clippy (pedantic, warnings are errors)" cargo_floor clippy --profile ci --all-targets -- -D warnings
step "cargo test" cargo_floor test --profile ci --lib --tests
if ! wait "$servers_pid"; then cat "$servers_log" >&2; exit 1; fi
cat "$servers_log"
step "ava" npx ava "$@"
