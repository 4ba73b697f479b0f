#!/usr/bin/env bash
# Builds the native addon into the repo root (rustytree.<platform>.node, native.js, native.d.ts).
#   scripts/build-native.sh [--release]      (default: cargo profile ci)
# On Linux the build goes through zig with the glibc floor (scripts/env.sh), so the binary the tests load
# is the one a release ships, and cargo test / clippy (cargo_floor) share its artefacts.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# `npm run build` on a fresh clone: without node_modules, `npx napi` would ask the registry for an
# unrelated package called `napi`.
ensure_npm_packages

profile=(--profile ci)
[ "${1:-}" = "--release" ] && profile=(--release)
target=()
if [ -n "$FLOOR_TARGET" ]; then
  ensure_zig_toolchain
  target=(--target "$FLOOR_TARGET" --cross-compile)
fi
npx napi build --platform "${profile[@]}" "${target[@]}" --js native.js --dts native.d.ts --no-const-enum
