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

# Installs what is missing and builds the addon and the TypeScript layer.
build_all() {
  ensure_npm_packages
  step "build native addon (profile ci)" npm run --silent build:native
  step "build TypeScript" npm run --silent build:ts
}
