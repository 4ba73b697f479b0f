#!/usr/bin/env bash
# The one test command (README: `npm test`). On a fresh clone it installs the npm packages, builds the
# native addon and the TypeScript layer, checks formatting and clippy, then runs the Rust unit tests and
# the ava suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

build_all
step "cargo fmt --check" cargo fmt --check
step "cargo clippy (pedantic, warnings are errors)" cargo clippy --profile ci --all-targets -- -D warnings
step "cargo test" cargo test --profile ci --lib --tests
step "ava" npx ava "$@"
