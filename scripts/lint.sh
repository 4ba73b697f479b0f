#!/usr/bin/env bash
# `npm run lint`: rustfmt, clippy (pedantic, warnings are errors, on the build's target), tsc, and biome
# (formatting and lint rules of ts/, __test__/, benchmark/ and scripts/, configured in biome.json).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo fmt --check
cargo_floor clippy --profile ci --all-targets -- -D warnings
npx tsc -p tsconfig.json --noEmit
npx biome check .
