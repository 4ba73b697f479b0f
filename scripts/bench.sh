#!/usr/bin/env bash
# `npm run bench [--large]`: builds what it needs, generates the KLOT-like benchmark data once (pinned Python
# venv, scripts/bench_data.sh), then runs benchmark/bench.ts, which writes benchmark/RESULTS.md.
# The addon is built with the release profile (LTO, as users install it); run `npm run build` afterwards to
# get the test build back.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
build_all --release
export RUSTYTREE_BENCH_BUILD=release
PROFILE=small
[ "${1:-}" = "--large" ] && { PROFILE=large; shift; }
DATA="$(bash scripts/bench_data.sh "$PROFILE")"
# The Python contenders (xarray, rustytree-xarray) from their own pinned venv.
source scripts/python-env.sh
ensure_bench_venv
export RUSTYTREE_BENCH_PYTHON="$VENV/bin/python"
node --import=tsx benchmark/bench.ts --data "$DATA" "$@"
