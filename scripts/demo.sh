#!/usr/bin/env bash
# `npm run demo`: builds what it needs, then opens the bundled NEXRAD-like sample and reads from it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
build_all
node benchmark/demo.js "${1:-fixtures/stores/nexrad.zarr}"
