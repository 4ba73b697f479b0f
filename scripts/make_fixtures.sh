#!/usr/bin/env bash
# Regenerate the test fixtures from scratch.
#
# Usage: scripts/make_fixtures.sh [all|zarr|icechunk]   (default: all)
#   zarr      fixtures/stores, fixtures/expected (except icechunk_*.json) and fixtures/broken,
#             by scripts/make_fixtures.py
#   icechunk  fixtures/icechunk and fixtures/expected/icechunk_*.json, by scripts/make_icechunk_fixtures.py
#
# Creates (once) a venv outside the repo at ${RUSTYTREE_VENV:-$HOME/.cache/rustytree/venv-fixtures}
# with the exact pins of scripts/requirements-fixtures.txt, then runs the generator(s).
# Needs Python >= 3.12 (zarr 3.4.x does not support 3.11). The interpreter is, in order:
# $RUSTYTREE_PYTHON, python3.13/python3.12 on PATH, pyenv's ~/.pyenv/versions/3.1[23]*/bin/python,
# or python3 if it is new enough.
# The zarr fixtures are deterministic: rerunning `zarr` leaves `git status` clean.  The icechunk ones
# are not byte-stable (icechunk draws random snapshot/chunk ids and stamps commit times), so `icechunk`
# (and `all`) rewrites fixtures/icechunk and renames icechunk_radar.snapshot-<id>.json every time.
set -euo pipefail

TARGET="${1:-all}"
case "$TARGET" in
  all|zarr|icechunk) ;;
  *) echo "usage: $0 [all|zarr|icechunk]" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/python-env.sh"
ensure_fixture_venv

cd "$ROOT"
if [ "$TARGET" != icechunk ]; then
  # make_fixtures.py wipes fixtures/expected: keep the icechunk expectations when they are not regenerated
  KEEP="$(mktemp -d)"
  trap 'rm -rf "$KEEP"' EXIT
  if [ "$TARGET" = zarr ]; then
    cp fixtures/expected/icechunk_*.json "$KEEP"/ 2>/dev/null || true
  fi
  rm -rf fixtures/stores fixtures/expected fixtures/broken
  "$VENV/bin/python" scripts/make_fixtures.py
  cp "$KEEP"/icechunk_*.json fixtures/expected/ 2>/dev/null || true
fi
if [ "$TARGET" != zarr ]; then
  "$VENV/bin/python" scripts/make_icechunk_fixtures.py
fi
