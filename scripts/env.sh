# Shared set-up for the repo's scripts (sourced, not run).
# Build artefacts live outside the clone so a fresh clone reuses an earlier build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rustytree/target}"
# napi builds for an explicit target; cargo test must use the same one or it rebuilds every dependency.
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() {
  local name="$1"; shift
  local t0=$SECONDS
  echo "==> $name"
  "$@"
  echo "<== $name ($((SECONDS - t0)) s)"
}

# Installs the locked npm packages when node_modules is missing or older than the lock file.
ensure_npm_packages() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "npm ci" npm ci --no-audit --no-fund
  fi
}

# Installs what is missing and builds the addon and the TypeScript layer: `build_all` with cargo profile
# ci (tests), `build_all --release` as a release ships it (benchmarks).
build_all() {
  ensure_npm_packages
  if [ "${1:-}" = "--release" ]; then
    step "build native addon (release profile)" npm run --silent build:native:release
  else
    step "build native addon (profile ci)" npm run --silent build:native
  fi
  step "build TypeScript" npm run --silent build:ts
}

# The glibc floor of the Linux binaries, and the pinned tools that build against it: zig (from PyPI's
# ziglang wheel, in a venv outside the clone) as C compiler and linker, driven by cargo-zigbuild
# (cargo install, pinned). zig links against a stub glibc of the requested version, so the binary needs
# nothing newer, whatever the build machine runs.
export GLIBC_FLOOR="2.17"
CARGO_ZIGBUILD_VERSION="0.24.1"

# The target every Linux (glibc) build uses: the host triple with the floor, e.g.
# x86_64-unknown-linux-gnu.2.17. Empty elsewhere (macOS), or with RUSTYTREE_HOST_TOOLCHAIN=1 (the system
# compiler and glibc; binaries then need the build machine's glibc).
FLOOR_TARGET=""
if [ "$(uname -s)" = Linux ] && [ -z "${RUSTYTREE_HOST_TOOLCHAIN:-}" ]; then
  case "$CARGO_BUILD_TARGET" in
    x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu) FLOOR_TARGET="$CARGO_BUILD_TARGET.$GLIBC_FLOOR" ;;
  esac
fi
export FLOOR_TARGET

# `cargo <subcommand> ...` for the build's target: through cargo-zigbuild with the floor target when there
# is one, so clippy and tests reuse the addon's artefacts instead of rebuilding every C dependency.
cargo_floor() {
  local sub="$1"; shift
  if [ -n "$FLOOR_TARGET" ]; then
    ensure_zig_toolchain
    cargo-zigbuild "$sub" --target "$FLOOR_TARGET" "$@"
  else
    cargo "$sub" "$@"
  fi
}

ensure_zig_toolchain() {
  # Once per shell (and its children): build, clippy and tests all call it.
  [ -n "${RUSTYTREE_ZIG_READY:-}" ] && return 0
  local repo_root
  repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # shellcheck source=scripts/python-env.sh
  source "$repo_root/scripts/python-env.sh"
  ensure_venv "$RUSTYTREE_CACHE/venv-zig" "$repo_root/scripts/requirements-zig.txt" >&2
  export PATH="$VENV/bin:$RUSTYTREE_CACHE/cargo-tools/bin:$PATH"
  if ! cargo-zigbuild --version 2>/dev/null | grep -q " $CARGO_ZIGBUILD_VERSION\$"; then
    step "cargo install cargo-zigbuild $CARGO_ZIGBUILD_VERSION" \
      cargo install --locked --quiet cargo-zigbuild --version "$CARGO_ZIGBUILD_VERSION" --root "$RUSTYTREE_CACHE/cargo-tools"
  fi
  export RUSTYTREE_ZIG_READY=1
}

# Object-storage servers the tests start on 127.0.0.1, pinned. The Go ones are built once with
# `go install` into a cache outside the clone (MinIO takes a few minutes on 2 cores); Azurite comes from
# npm (package.json).
export RUSTYTREE_CACHE="${RUSTYTREE_CACHE:-$HOME/.cache/rustytree}"
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
FAKE_GCS_MODULE="github.com/fsouza/fake-gcs-server@v1.56.1"

# The path of the binary `go install module@version` puts in the cache.
go_tool_path() {
  local module="$1"
  local name="${module%@*}"
  name="${name##*/}"
  echo "$RUSTYTREE_CACHE/gobin/$name-${module#*@}/$name"
}

# Builds module@version into the cache unless it is there already.
go_tool_install() {
  local module="$1" path
  path="$(go_tool_path "$module")"
  [ -x "$path" ] && return 0
  command -v go >/dev/null || { echo "go not found: install Go to build ${module%@*} for the object-storage tests" >&2; exit 1; }
  GOBIN="$(dirname "$path")" GOFLAGS=-mod=mod go install "$module"
}

ensure_test_servers() {
  step "MinIO and fake-gcs-server (go install, cached)" \
    bash -c "$(declare -f go_tool_path go_tool_install); go_tool_install $MINIO_MODULE & a=\$!; go_tool_install $FAKE_GCS_MODULE; wait \$a"
  export RUSTYTREE_MINIO_BIN RUSTYTREE_FAKE_GCS_BIN
  RUSTYTREE_MINIO_BIN="$(go_tool_path "$MINIO_MODULE")"
  RUSTYTREE_FAKE_GCS_BIN="$(go_tool_path "$FAKE_GCS_MODULE")"
}
