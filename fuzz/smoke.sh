#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, MOAT_FUZZ=ON) and runs each one (FUZZ_JOBS at a time,
# default one per CPU): first on the inputs in
# fuzz/regressions/<target>/ (each must now pass), then for FUZZ_SECONDS (default 20) from its seed
# corpus in fuzz/corpus/<target>/. Any crash, sanitizer report, leak, timeout, out-of-memory or
# broken invariant fails the run; the input that did it is kept in FUZZ_ARTIFACTS.
#
#   fuzz/smoke.sh                      # the CI smoke run: 20 s per target
#   FUZZ_SECONDS=600 fuzz/smoke.sh     # ten minutes per target (fuzz/README.md)
#   fuzz/smoke.sh hosts corefile       # only these targets
#   FUZZ_CMAKE_ARGS=-DMOAT_WERROR=ON fuzz/smoke.sh   # extra configure arguments (CI's)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-20}
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz/artifacts}
jobs=${FUZZ_BUILD_JOBS:-2}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire_query wire_reply record_walker corefile hosts k8s_objects log_format expression configmap zone_file axfr rewrite template autopath)

CC=${CC:-clang-14} CXX=${CXX:-clang++-14} \
  cmake -S . -B "$build" -DMOAT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo ${FUZZ_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" --target moat_fuzz -j"$jobs"

mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One target: its regressions, then fuzzing. Prints its result; non-zero on any finding.
fuzz_one() {
  local t=$1 bin="$build/fuzz/${1}_fuzz" log="$work/$1.log" runs
  local flags=(-timeout=25 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$t-")
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    if ! "$bin" "${flags[@]}" fuzz/regressions/"$t"/* >"$log" 2>&1; then
      echo "fuzz: $t: a regression input fails again" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
  fi
  mkdir -p "$work/$t"
  if "$bin" "${flags[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      "$work/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t: ${seconds}s, $runs executions, no finding"
  else
    echo "fuzz: $t: FAILED (input kept under $artifacts/)" >&2
    grep -E "ERROR|invariant|SUMMARY|Test unit written" "$log" >&2 || tail -n 40 "$log" >&2
    return 1
  fi
}

# FUZZ_JOBS targets at a time (default: one per CPU); each fuzzer is one process on one CPU,
# so two at a time on CI's two cores halve the stage's fuzzing time.
parallel=${FUZZ_JOBS:-$(nproc)}
failed=()
declare -A running=()
reap() {
  local pid status=0
  wait -n -p pid || status=$?
  [ "$status" -eq 0 ] || failed+=("${running[$pid]}")
  unset "running[$pid]"
}
for t in "${targets[@]}"; do
  while [ ${#running[@]} -ge "$parallel" ]; do reap; done
  fuzz_one "$t" &
  running[$!]=$t
done
while [ ${#running[@]} -gt 0 ]; do reap; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
