#!/usr/bin/env bash
# Runs the cargo-fuzz (libFuzzer) targets in fuzz/ for a fixed budget each and prints what happened.
# Not part of `npm test` or CI: a run takes minutes per target, and the first build ~20-30 minutes.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 120 s, every target
#
# Environment:
#   FUZZ_SANITIZER   address (default) or none: `none` skips AddressSanitizer (about twice the execs/s,
#                    and the only choice where the ASan runtime is missing); changing it rebuilds.
#   FUZZ_JOBS        cargo build jobs (default 1: the machine is shared, builds run under `nice`).
#
# Paths, all outside the clone except fuzz/artifacts (git-ignored):
#   ~/.cache/rustytree/cargo-tools        cargo-fuzz, pinned below
#   ~/.cache/rustytree/fuzz-target        the instrumented build (never the main target dir)
#   ~/.cache/rustytree/fuzz-corpus/seeds  seeds rebuilt from fixtures/ by fuzz/make_seeds.py
#   ~/.cache/rustytree/fuzz-corpus/<t>    the corpus each target grows (kept between runs)
#   ~/.cache/rustytree/fuzz-logs/<t>.log  libFuzzer's output
#   fuzz/artifacts/<t>/                   crashing inputs (crash-*, oom-*, timeout-*, leak-*)
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
budget="${1:-120}"
shift || true
all_targets=(zarr_json cf_attrs chunk_decode shard_index icechunk_repo group_filter consolidated_tree selection_plan)
targets=("${@:-${all_targets[@]}}")
if [[ $# -eq 0 ]]; then targets=("${all_targets[@]}"); fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$HOME/.cache/rustytree"
tools="$cache/cargo-tools"
corpus="$cache/fuzz-corpus"
logs="$cache/fuzz-logs"
sanitizer="${FUZZ_SANITIZER:-address}"
export CARGO_TARGET_DIR="$cache/fuzz-target"
export CARGO_BUILD_JOBS="${FUZZ_JOBS:-1}"
# cargo-fuzz passes nightly-only flags to rustc (-Zsanitizer=address, and -Z options to cargo). Only
# stable Rust is installed here and nightly cannot be fetched, so RUSTC_BOOTSTRAP=1 lets stable rustc and
# cargo accept them. It is set for this script's fuzz builds only, which use their own target dir, so
# no artefact built this way ever reaches the addon.
export RUSTC_BOOTSTRAP=1

if ! [[ -x "$tools/bin/cargo-fuzz" ]] || ! "$tools/bin/cargo-fuzz" --version | grep -q " $CARGO_FUZZ_VERSION\$"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $tools"
  nice -n 15 cargo install --locked --version "$CARGO_FUZZ_VERSION" --root "$tools" -j "$CARGO_BUILD_JOBS" cargo-fuzz
fi
fuzz=("$tools/bin/cargo-fuzz" fuzz)

mkdir -p "$corpus" "$logs"
python3 "$root/fuzz/make_seeds.py" "$corpus/seeds"

cd "$root/fuzz"
# Overflow checks and debug assertions are on (cargo-fuzz's default); 16 codegen units keep the build of
# the whole dependency tree (icechunk, object_store, aws-lc, zarrs) tolerable at some cost in speed.
build_flags=(-s "$sanitizer" --codegen-units 16 --target-dir "$CARGO_TARGET_DIR")
echo "building fuzz targets (sanitizer: $sanitizer) in $CARGO_TARGET_DIR"
nice -n 15 "${fuzz[@]}" build "${build_flags[@]}"

summary=()
status=0
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t" "$root/fuzz/artifacts/$t"
  log="$logs/$t.log"
  dict=()
  case "$t" in zarr_json | cf_attrs | chunk_decode) dict=(-dict="$root/fuzz/zarr.dict") ;; esac
  before=$(find "$root/fuzz/artifacts/$t" -type f | sort)
  echo "fuzzing $t for ${budget}s (log: $log)"
  # Fork mode with the ignore_* flags: a finding is saved and fuzzing goes on for the whole budget, so
  # one known crash does not hide the next (libFuzzer otherwise stops at the first).
  set +e
  nice -n 15 "${fuzz[@]}" run "${build_flags[@]}" "$t" "$corpus/$t" "$corpus/seeds/$t" -- \
    -max_total_time="$budget" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -timeout=10 -rss_limit_mb=2048 -max_len=262144 "${dict[@]}" >"$log" 2>&1
  rc=$?
  set -e
  # The last status line: "#<executions>: cov: <n> ft: <n> corp: <n> exec/s: <n> oom/timeout/crash: a/b/c time: <s>s".
  # A pattern with no match (a run that died early) is an empty field, not an error.
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
  secs=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
  speed=$([[ -n "$execs" && "${secs:-0}" -gt 0 ]] && echo $((execs / secs)) || echo "?")
  cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+).*/\1\/\2/p' <<<"$last")
  otc=$(sed -nE 's/.*oom\/timeout\/crash: ([0-9\/]+).*/\1/p' <<<"$last")
  files=$(find "$corpus/$t" -type f | wc -l)
  new=$(comm -13 <(echo "$before") <(find "$root/fuzz/artifacts/$t" -type f | sort) | sed '/^$/d')
  # In fork mode libFuzzer may still exit non-zero when its last job crashed; what counts is whether
  # new inputs were saved.
  if [[ -n "$new" ]]; then
    result="FOUND: $(wc -l <<<"$new") new input(s) in fuzz/artifacts/$t"
    status=1
  elif [[ $rc -ne 0 ]]; then
    result="FAILED (exit $rc), see the log"
    status=1
  else
    result="no findings"
  fi
  summary+=("$(printf '%-14s %12s %8s %8s %12s %8s  %s' "$t" "${execs:-?}" "$speed" "$files" "${cov:-?}" "${otc:-?}" "$result")")
done

echo
printf '%-14s %12s %8s %8s %12s %8s  %s\n' target executions exec/s corpus cov/ft o/t/c result
printf '%s\n' "${summary[@]}"
exit "$status"
