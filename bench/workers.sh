#!/usr/bin/env bash
# Do more workers cost anything per query? Moat starts one worker per CPU in its affinity mask,
# so `taskset -c 1` gives one worker and `taskset -c 0,1` two. Each is loaded at a fixed,
# unsaturated rate (dnsperf -Q, pinned to CPU 0) with the LOCAL query set, RUNS times
# interleaved, and the median CPU µs per query (all threads, from schedstat) is printed.
# Usage: bench/workers.sh MOAT_BIN DATA_DIR OUT_FILE   (RATE=20000 SECS=10 RUNS=3)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$1 data=$2 out=$3
rate=${RATE:-20000} secs=${SECS:-10} runs=${RUNS:-3} port=15311
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
render_corefile "$work/Corefile" "$port" "$data/hosts.txt" "$data/private-hosts.txt" 127.0.0.1:15399

declare -A results
for r in $(seq "$runs"); do
  for cpus in 1 0,1; do
    taskset -c "$cpus" "$bin" -conf "$work/Corefile" -quiet > "$work/moat.log" 2>&1 &
    pid=$!
    wait_answer "$pid" "$port" h0001.hosts.test 20
    measure "$pid" "$port" "$data/local.q" 2 > /dev/null   # warm-up
    read -r done_q qps us < <(measure "$pid" "$port" "$data/local.q" "$secs" -Q "$rate")
    workers=$(ls /proc/"$pid"/task | wc -l)
    stop_pid "$pid"
    echo "run $r cpus=$cpus threads=$workers completed=$done_q qps=$qps cpu_us_per_query=$us" >&2
    results[$cpus]+="$us "
  done
done
one=$(tr ' ' '\n' <<<"${results[1]}" | median)
two=$(tr ' ' '\n' <<<"${results[0,1]}" | median)
{
  echo "| workers | CPU µs/query at $rate qps (median of $runs) | runs |"
  echo "|---|---:|---|"
  echo "| 1 (taskset -c 1) | $one | ${results[1]}|"
  echo "| 2 (taskset -c 0,1) | $two | ${results[0,1]}|"
  awk -v a="$one" -v b="$two" 'BEGIN{printf "\n2 workers / 1 worker: %.2f (target ≤ 1.10)\n", b / a}'
} | tee "$out"
