#!/usr/bin/env bash
# The one test command (README: `npm test`). On a fresh clone it installs the npm packages, builds the
# native addon and the TypeScript layer, builds the object-storage servers the tests start (MinIO and
# fake-gcs-server, pinned, cached outside the clone; Azurite comes from npm), checks formatting and clippy,
# then runs the Rust unit tests and the ava suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# MinIO and fake-gcs-server build (first run only) while the addon compiles.
servers_log="$(mktemp)"
ensure_test_servers >"$servers_log" 2>&1 &
servers_pid=$!

build_all
step "cargo fmt --check" cargo fmt --check
step "cargo clippy (pedantic, warnings are errors)" cargo clippy --profile ci --all-targets -- -D warnings
step "cargo test" cargo test --profile ci --lib --tests
if ! wait "$servers_pid"; then cat "$servers_log" >&2; exit 1; fi
cat "$servers_log"
step "ava" npx ava "$@"
