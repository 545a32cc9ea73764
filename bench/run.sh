#!/usr/bin/env bash
# Moat's benchmarks in one command (see bench/README.md):
#   bench/run.sh [PART...]     PART: table log workers hosts1m callgrind views zone zone1m dot servedot (default: all)
# Builds a Release `moat` in build-bench/ (BUILD_DIR), then measures it beside the anchors with
# the shared side-by-side harness (HARNESS, default ../shared/bench next to the repository).
# Results go to bench/results/<stamp>/ (OUT_DIR); summary.md there holds every table.
# DURATION and RUNS reach the harness (defaults 10 and 3); loopback only, ports 15300-15399.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${HARNESS:-$BENCH_ROOT/../shared/bench}
BUILD_DIR=${BUILD_DIR:-$BENCH_ROOT/build-bench}
OUT_DIR=${OUT_DIR:-$BENCH_ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}
export DURATION=${DURATION:-10} RUNS=${RUNS:-3}
parts=("$@")
((${#parts[@]})) || parts=(table log workers hosts1m callgrind views zone zone1m dot servedot)

[[ -x $HARNESS/run.sh ]] || { echo "bench: no harness at $HARNESS (set HARNESS)" >&2; exit 1; }
cmake -S "$BENCH_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$BUILD_DIR" -j2 --target moat > /dev/null
bin=$BUILD_DIR/moat
mkdir -p "$OUT_DIR"
data=$OUT_DIR/scratch/data
mkdir -p "$data"
DATA_DIR=$data bash "$HARNESS/lib/gen.sh"

harness() {  # $1 sub-directory, then the harness's own arguments
  local sub=$1; shift
  PROJECT_BIN=$bin PROJECT_COREFILE=$BENCH_ROOT/bench/moat.Corefile.tmpl \
    OUT_DIR=$OUT_DIR/$sub WORK_DIR=$OUT_DIR/scratch bash "$HARNESS/run.sh" "$@"
}

summary=$OUT_DIR/summary.md
{
  echo "# Moat bench, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD)"
  echo
  echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -r)"
} > "$summary"
for part in "${parts[@]}"; do
  echo "== $part" >&2
  echo -e "\n## $part\n" >> "$summary"
  case $part in
    table) harness table all project unbound dnsdist dnsmasq limit | tee -a "$summary" ;;
    log) QUERY_LOG=1 harness log-LOCAL LOCAL project limit | tee -a "$summary"
         QUERY_LOG=1 harness log-PRIVATE-NX PRIVATE-NX project limit | tee -a "$summary" ;;
    workers) bash "$BENCH_ROOT/bench/workers.sh" "$bin" "$data" "$OUT_DIR/workers.md" >> "$summary" ;;
    hosts1m) bash "$BENCH_ROOT/bench/hosts_1m.sh" "$bin" "$HARNESS" "$OUT_DIR/hosts_1m.md" >> "$summary" ;;
    callgrind) bash "$BENCH_ROOT/bench/callgrind.sh" "$bin" "$HARNESS" "$data" "$OUT_DIR/callgrind.md" >> "$summary" ;;
    views) bash "$BENCH_ROOT/bench/views.sh" "$bin" "$data" "$OUT_DIR/views.md" >> "$summary" ;;
    zone) bash "$BENCH_ROOT/bench/zone.sh" "$bin" "$HARNESS" "$data" "$OUT_DIR/zone.md" >> "$summary" ;;
    zone1m) bash "$BENCH_ROOT/bench/zone_1m.sh" "$bin" "$OUT_DIR/zone_1m.md" >> "$summary" ;;
    dot) bash "$BENCH_ROOT/bench/forward_dot.sh" "$bin" "$data" "$OUT_DIR/forward_dot.md" >> "$summary" ;;
    servedot) bash "$BENCH_ROOT/bench/serve_dot.sh" "$bin" "$data" "$OUT_DIR/serve_dot.md" >> "$summary" ;;
    *) echo "bench: unknown part '$part' (table log workers hosts1m callgrind views zone zone1m dot servedot)" >&2; exit 2 ;;
  esac
done
echo "bench: every table is in $summary" >&2
