#!/usr/bin/env bash
# What does `rewrite` cost per query (issue 16's speed row: a `rewrite name suffix` plus a hosts
# answer within 0.5 µs of plain LOCAL)? The LOCAL names answered by `hosts` from a plain block,
# against the same names asked under another suffix (h0001.hosts.example.) that a `rewrite name
# suffix ... answer auto` rule maps onto the hosts names and back in the reply. The server has
# CPU 1 to itself, dnsperf CPU 0, saturated; RUNS interleaved runs. Prints the median and min-max
# CPU µs per query of each and their difference.
# Usage: bench/rewrite.sh MOAT_BIN DATA_DIR OUT_FILE   (SECS=10 RUNS=5)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$1 data=$2 out=$3
secs=${SECS:-10} runs=${RUNS:-5} port=15315
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && stop_pid "$pid"; rm -rf "$work"' EXIT

printf '.:%s {\n    bind 127.0.0.1\n    hosts %s/hosts.txt\n}\n' "$port" "$data" > "$work/plain.Corefile"
printf '.:%s {\n    bind 127.0.0.1\n    rewrite name suffix .hosts.example. .hosts.test. answer auto\n    hosts %s/hosts.txt\n}\n' \
  "$port" "$data" > "$work/rewrite.Corefile"
cp "$data/local.q" "$work/plain.q"
sed 's/\.hosts\.test/.hosts.example/' "$data/local.q" > "$work/rewrite.q"

declare -A results
for r in $(seq "$runs"); do
  for conf in plain rewrite; do
    taskset -c 1 "$bin" -conf "$work/$conf.Corefile" -quiet > "$work/moat.log" 2>&1 &
    pid=$!
    first=$(head -1 "$work/$conf.q" | awk '{print $1}')
    wait_answer "$pid" "$port" "$first" 20
    measure "$pid" "$port" "$work/$conf.q" 2 > /dev/null   # warm-up
    read -r done_q qps us < <(measure "$pid" "$port" "$work/$conf.q" "$secs")
    stop_pid "$pid"
    pid=
    echo "run $r $conf completed=$done_q qps=$qps cpu_us_per_query=$us" >&2
    results[$conf]+="$us "
  done
done
plain=$(tr ' ' '\n' <<<"${results[plain]}" | median)
rewritten=$(tr ' ' '\n' <<<"${results[rewrite]}" | median)
{
  echo "| Corefile | CPU µs/query, median of $runs (min-max) | runs |"
  echo "|---|---:|---|"
  echo "| hosts | $plain ($(range "${results[plain]}")) | ${results[plain]}|"
  echo "| rewrite name suffix + hosts | $rewritten ($(range "${results[rewrite]}")) | ${results[rewrite]}|"
  awk -v a="$plain" -v b="$rewritten" 'BEGIN{printf "\nrewrite cost: %.2f µs per query (target ≤ 0.50)\n", b - a}'
} | tee "$out"
