#!/usr/bin/env bash
# The one test command (README: `npm test`). On a fresh clone it installs the npm packages, builds the
# native addon and the TypeScript layer, then runs the Rust unit tests and the ava suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

ensure_npm_packages
step "build native addon (profile ci)" npm run --silent build:native
step "build TypeScript" npm run --silent build:ts
step "cargo test" cargo test --profile ci --lib --tests
step "ava" npx ava "$@"
