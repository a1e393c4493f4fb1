#!/usr/bin/env bash
# Fuzzes the pure-Rust core with cargo-fuzz (libFuzzer), every target for a bounded time, and
# prints executions and coverage per target.
#
#   scripts/fuzz.sh [seconds-per-target]         default 60
#
# Environment:
#   FUZZ_TARGETS     space-separated targets to run (default: all of `cargo fuzz list`)
#   FUZZ_SANITIZER   address (default) or none; address falls back to none if it cannot build
#   FUZZ_JOBS        libFuzzer -jobs (default 1: one process, two cores are shared with builds)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz wants nightly flags; on a stable
# toolchain RUSTC_BOOTSTRAP=1 unlocks them. The corpus grows in fuzz/corpus/<target> (git-
# ignored) from the seeds in fuzz/seeds/<target> (`node fuzz/seeds/generate.mjs` writes them).
# A crash leaves its input in fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/
# and `cd fuzz && cargo test --release` replays it (with the seeds) forever after.
set -uo pipefail

SECONDS_PER_TARGET="${1:-60}"
case "$SECONDS_PER_TARGET" in
  '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
LOGS="$FUZZ/logs"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
fi

if [ ! -f "$FUZZ/seeds/jwks.json" ] || [ ! -f "$FUZZ/seeds/tokens.json" ]; then
  node "$FUZZ/seeds/generate.mjs" || exit 2
fi

cd "$FUZZ" || exit 2
mkdir -p "$LOGS"

# One build for every target; AddressSanitizer when it builds, else none.
SANITIZER="${FUZZ_SANITIZER:-address}"
echo "== building fuzz targets (sanitizer: $SANITIZER)"
if ! cargo fuzz build --release --sanitizer "$SANITIZER" >"$LOGS/build.log" 2>&1; then
  if [ "$SANITIZER" != none ]; then
    echo "   the $SANITIZER build failed (see fuzz/logs/build.log); building without a sanitizer"
    SANITIZER=none
    cargo fuzz build --release --sanitizer none >"$LOGS/build.log" 2>&1 || {
      tail -30 "$LOGS/build.log" >&2
      exit 2
    }
  else
    tail -30 "$LOGS/build.log" >&2
    exit 2
  fi
fi

TARGETS="${FUZZ_TARGETS:-$(cargo fuzz list)}"

# Inputs longer than what a target reads only slow it down.
max_len() {
  case "$1" in
    jwt_parse) echo 20000 ;;      # tokens are refused past 16 KiB
    jwks_parse) echo 16384 ;;
    introspection_answer) echo 8192 ;;
    config_resolve) echo 2048 ;;
    *) echo 8192 ;;
  esac
}

summary=()
failed=0
for target in $TARGETS; do
  corpus="$FUZZ/corpus/$target"
  mkdir -p "$corpus" "$FUZZ/seeds/$target"
  log="$LOGS/$target.log"
  echo "== $target: ${SECONDS_PER_TARGET}s"
  cargo fuzz run --release --sanitizer "$SANITIZER" "$target" "$corpus" "$FUZZ/seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" \
    -jobs="${FUZZ_JOBS:-1}" -workers="${FUZZ_JOBS:-1}" \
    -max_len="$(max_len "$target")" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1
  status=$?
  # With -jobs, libFuzzer writes each job's output to fuzz-<n>.log in the working directory.
  for job_log in fuzz-*.log; do
    [ -f "$job_log" ] && cat "$job_log" >>"$log" && rm -f "$job_log"
  done
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -Eo 'cov: [0-9]+' | grep -Eo '[0-9]+')
  ft=$(echo "$last" | grep -Eo 'ft: [0-9]+' | grep -Eo '[0-9]+')
  corp=$(echo "$last" | grep -Eo 'corp: [0-9]+/[0-9]+[a-zA-Z]*' | cut -d' ' -f2)
  eps=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
  if [ "$status" -eq 0 ]; then
    result=ok
  else
    result="FAILED ($status)"
    failed=1
    echo "   $target failed; log: $log"
    grep -E 'panicked at|ERROR: AddressSanitizer|Test unit written to|SUMMARY' "$log" | head -5 | sed 's/^/   /'
  fi
  summary+=("$(printf '%-22s %-12s %12s %8s %6s %7s %12s' "$target" "$result" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")
done

echo
echo "== summary (${SECONDS_PER_TARGET}s per target, sanitizer: $SANITIZER)"
printf '%-22s %-12s %12s %8s %6s %7s %12s\n' target result executions exec/s cov ft corpus
for line in "${summary[@]}"; do echo "$line"; done
exit "$failed"
