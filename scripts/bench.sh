#!/usr/bin/env bash
# `npm run bench`: builds what it needs, then runs the round-trip benchmark (benchmark/bench.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
build_all
node --import=tsx benchmark/bench.ts "$@"
