#!/usr/bin/env bash
# Before and after, side by side in one run of the shared harness: the `moat` built here and one
# built from BASE (a git revision), as the targets `project` and `baseline`, runs interleaved.
# The harness is copied into the scratch directory so that the second target can be added
# without touching it.
# Usage: bench/ab.sh MOAT_BIN BASE OUT_DIR [SCENARIO...]   (default scenario FORWARD-NOCACHE;
#        DURATION, RUNS as for the harness; HARNESS, BUILD_JOBS)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
bin=$1 base=$2 out=$3
shift 3
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(FORWARD-NOCACHE)
HARNESS=${HARNESS:-$BENCH_ROOT/../shared/bench}
mkdir -p "$out"
scratch=$out/scratch
mkdir -p "$scratch"

# The baseline's binary, from a worktree of BASE built as bench/run.sh builds (Release).
tree=$scratch/baseline-src
if [[ ! -x $scratch/baseline-build/moat ]]; then
  rm -rf "$tree"
  git -C "$BENCH_ROOT" worktree add --detach -f "$tree" "$base" > /dev/null
  cmake -S "$tree" -B "$scratch/baseline-build" -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build "$scratch/baseline-build" -j"${BUILD_JOBS:-2}" --target moat > /dev/null
  git -C "$BENCH_ROOT" worktree remove --force "$tree"
fi

rm -rf "$scratch/harness"
cp -r "$HARNESS" "$scratch/harness"
# A second project target, as targets/project.sh invites: the same script on another binary.
printf '%s\n' '_bin_var=BASELINE_BIN' 'source "$BENCH_DIR/targets/project.sh"' \
  > "$scratch/harness/targets/baseline.sh"

{
  echo "# $(git -C "$BENCH_ROOT" rev-parse --short HEAD) (project) against $(git -C "$BENCH_ROOT" rev-parse --short "$base") (baseline)"
  for s in "${scenarios[@]}"; do
    PROJECT_BIN=$bin BASELINE_BIN=$scratch/baseline-build/moat \
      PROJECT_COREFILE=$BENCH_ROOT/bench/moat.Corefile.tmpl \
      OUT_DIR=$out/$s WORK_DIR=$scratch/work bash "$scratch/harness/run.sh" "$s" project baseline
  done
} | tee "$out/summary.md"
