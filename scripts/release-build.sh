#!/usr/bin/env bash
# Local mirror of the release workflow's Linux job: builds the release binaries for linux-x64-gnu and
# linux-arm64-gnu with a glibc 2.17 floor (zig as the C compiler and linker through cargo-zigbuild, both
# pinned and installed by scripts/env.sh), checks them with scripts/check-glibc.sh and copies them to --out.
#
#   scripts/release-build.sh [--out DIR] [--target x86_64|aarch64]...
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

out="artifacts"
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--target x86_64|aarch64]..." >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(x86_64 aarch64)
mkdir -p "$out"

ensure_npm_packages
ensure_zig_toolchain
for arch in "${targets[@]}"; do
  triple="$arch-unknown-linux-gnu"
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  # A release build of its own: fat LTO and a different target must not evict the ci-profile artefacts.
  step "release build $triple (glibc $GLIBC_FLOOR)" \
    env CARGO_TARGET_DIR="$RUSTYTREE_CACHE/target-release" \
    npx napi build --platform --release --target "$triple.$GLIBC_FLOOR" --cross-compile \
      --output-dir "$out" --no-js --dts release-native.d.ts
done
# The declarations are the ones npm test builds; only the binaries are artefacts.
rm -f "$out/release-native.d.ts"
step "glibc floor and architecture" scripts/check-glibc.sh --max 2.28 "$out"/*.node
ls -l "$out"/*.node
