#!/usr/bin/env bash
# RATE: what does a query cost when the server is not saturated? Saturated runs (run.sh, zone.sh)
# read many datagrams per wake-up; at a steady, lower rate nearly every query is its own wake-up,
# so per-wake-up work (epoll re-arming, timers) shows. Each binary serves the LOCAL names from
# `hosts` on CPU 1; dnsperf sends RATE queries a second from CPU 0 for SECS seconds. RUNS rounds,
# the binaries interleaved. Prints median and min-max CPU µs per query for each.
# Usage: bench/rate.sh DATA_DIR OUT_FILE RATE BIN...   (SECS=8 RUNS=5)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
data=$1 out=$2 rate=$3
shift 3
bins=("$@")
secs=${SECS:-8} runs=${RUNS:-5} port=15314
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && stop_pid "$pid"; rm -rf "$work"' EXIT
printf '.:%s {\n    bind 127.0.0.1\n    hosts %s/hosts.txt\n}\n' "$port" "$data" > "$work/Corefile"
first=$(head -1 "$data/local.q" | awk '{print $1}')

declare -A results
for ((r = 1; r <= runs; r++)); do
  for i in "${!bins[@]}"; do
    taskset -c 1 "${bins[$i]}" -conf "$work/Corefile" > "$work/log" 2>&1 &
    pid=$!
    wait_answer "$pid" "$port" "$first" > /dev/null
    read -r completed _ cpu < <(measure "$pid" "$port" "$data/local.q" "$secs" -Q "$rate")
    stop_pid "$pid"
    pid=
    echo "run $r bin $i ${bins[$i]} completed=$completed cpu_us_per_query=$cpu" >&2
    results[$i]+="$cpu "
  done
done

{
  echo "| binary | CPU µs/query at $rate q/s, median of $runs (min-max) | runs |"
  echo "|---|---:|---|"
  for i in "${!bins[@]}"; do
    vals=${results[$i]}
    med=$(tr ' ' '\n' <<<"$vals" | median)
    echo "| ${bins[$i]} | $med ($(range "$vals")) | $vals|"
  done
} | tee "$out"
