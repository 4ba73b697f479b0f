# The pinned Python environments (sourced, not run). `ensure_fixture_venv` creates (once) a venv outside
# the repo at ${RUSTYTREE_VENV:-$HOME/.cache/rustytree/venv-fixtures} with the exact pins of
# scripts/requirements-fixtures.txt (fixture and benchmark-data generators) and sets VENV;
# `ensure_bench_venv` does the same for the benchmark's Python contenders. Needs Python >= 3.12 (zarr 3.4.x does not support 3.11):
# $RUSTYTREE_PYTHON, python3.13/python3.12 on PATH, pyenv's ~/.pyenv/versions/3.1[23]*/bin/python, or
# python3 if it is new enough.

py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  local c
  for c in "${RUSTYTREE_PYTHON:-}" python3.13 python3.12 \
           $(ls -d "$HOME"/.pyenv/versions/3.1[23]*/bin/python 2>/dev/null | sort -r) python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then command -v "$c"; return 0; fi
  done
  echo "error: need Python >= 3.12 (set RUSTYTREE_PYTHON)" >&2
  return 1
}

ensure_fixture_venv() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  ensure_venv "${RUSTYTREE_VENV:-$HOME/.cache/rustytree/venv-fixtures}" "$root/scripts/requirements-fixtures.txt"
}

# The benchmark's Python contenders (xarray, rustytree-xarray), from scripts/requirements-bench.txt.
ensure_bench_venv() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  ensure_venv "${RUSTYTREE_BENCH_VENV:-$HOME/.cache/rustytree/venv-bench}" "$root/scripts/requirements-bench.txt"
}

# Creates the venv at $1 (once) and installs the pins of $2 when they changed; sets VENV.
ensure_venv() {
  local req="$2" stamp sum py
  VENV="$1"
  if [ ! -x "$VENV/bin/python" ] || ! py_ok "$VENV/bin/python"; then
    py="$(find_python)"
    echo "creating venv $VENV with $py ($("$py" --version 2>&1))"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$py" -m venv "$VENV"
  fi
  # Reinstall only when the pins changed since the last install.
  stamp="$VENV/.requirements.sha256"
  sum="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$sum" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$sum" > "$stamp"
  fi
}
