#!/usr/bin/env bash
# `npm run demo`: builds what it needs, then opens the bundled NEXRAD-like sample and reads from it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_npm_packages
step "build native addon (profile ci)" npm run --silent build:native
step "build TypeScript" npm run --silent build:ts
node benchmark/demo.js "${1:-fixtures/stores/nexrad.zarr}"
