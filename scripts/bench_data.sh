#!/usr/bin/env bash
# Generates the benchmark's KLOT-like archive (benchmark/make_data.py) once per profile and generator
# version, under ${RUSTYTREE_CACHE:-~/.cache/rustytree}/bench-data/<profile>-<hash>, and prints that path.
# Usage: scripts/bench_data.sh [small|large]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${1:-small}"
source "$ROOT/scripts/python-env.sh"
HASH="$(cat "$ROOT/benchmark/make_data.py" "$ROOT/scripts/requirements-fixtures.txt" | sha256sum | cut -c1-12)"
OUT="${RUSTYTREE_CACHE:-$HOME/.cache/rustytree}/bench-data/$PROFILE-$HASH"
if [ ! -f "$OUT/layout.json" ]; then
  ensure_fixture_venv >&2
  echo "generating the $PROFILE benchmark data in $OUT (minutes)" >&2
  PYTHONWARNINGS=ignore "$VENV/bin/python" "$ROOT/benchmark/make_data.py" "$PROFILE" "$OUT" >&2
fi
echo "$OUT"
