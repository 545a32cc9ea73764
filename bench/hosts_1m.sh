#!/usr/bin/env bash
# A hosts file with 1 000 000 entries: how long Moat takes to answer its last name after start,
# how much memory it holds, and whether a query costs more than with 1 000 entries. unbound
# gets the same names as local-data (the shared harness's own unbound config) for the memory
# comparison. Loopback only; everything pinned to CPU 1, dnsperf to CPU 0.
# Usage: bench/hosts_1m.sh MOAT_BIN HARNESS_DIR OUT_FILE   (SECS=10 RUNS=3)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$1 harness=$2 out=$3
secs=${SECS:-10} runs=${RUNS:-3} port=15312
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The harness's generator numbers names with four digits and runs out of IPv4 octets past
# 62 500, so the tables are written here: h0000000..h0999999.hosts.test in 127.100-115.x.y.
for n in 1000 1000000; do
  mkdir -p "$work/d$n"
  awk -v n="$n" 'BEGIN{for(i=0;i<n;i++) printf "127.%d.%d.%d h%07d.hosts.test\n", 100+int(i/62500), int(i/250)%250, i%250+1, i}' > "$work/d$n/hosts.txt"
  awk -v n="$n" 'BEGIN{for(i=0;i<n;i++) printf "h%07d.hosts.test A\n", i}' > "$work/d$n/local.q"
  echo "127.109.0.2 svc01.internal.company" > "$work/d$n/private-hosts.txt"
  render_corefile "$work/Corefile$n" "$port" "$work/d$n/hosts.txt" "$work/d$n/private-hosts.txt" 127.0.0.1:15399
done
last=h0999999.hosts.test

# Load time and memory: Moat, then unbound, each started fresh RUNS times.
declare -a moat_load moat_rss unbound_load unbound_rss
for r in $(seq "$runs"); do
  t0=$EPOCHREALTIME
  taskset -c 1 "$bin" -conf "$work/Corefile1000000" -quiet > "$work/moat.log" 2>&1 &
  pid=$!
  moat_load+=("$(wait_answer "$pid" "$port" "$last" 60 "$t0")")
  read -r rss _ < <(proc_rss_kib "$pid")
  moat_rss+=("$rss")
  stop_pid "$pid"

  mkdir -p "$work/unbound"
  (
    export ADDR=$BENCH_ADDR PORT=$port UPSTREAM_ADDR=127.0.0.1 UPSTREAM_PORT=15399 CACHE=0 QUERY_LOG=0
    export DATA_DIR=$work/d1000000
    source "$harness/targets/unbound.sh"
    target_prepare LOCAL "$work/unbound" > /dev/null
    printf '%q ' "${TARGET_CMD[@]}" > "$work/unbound.cmd"
  )
  t0=$EPOCHREALTIME
  eval "exec taskset -c 1 $(cat "$work/unbound.cmd")" > "$work/unbound.log" 2>&1 &
  pid=$!
  unbound_load+=("$(wait_answer "$pid" "$port" "$last" 120 "$t0")")
  read -r rss _ < <(proc_rss_kib "$pid")
  unbound_rss+=("$rss")
  stop_pid "$pid"
  echo "run $r: moat ${moat_load[-1]} s ${moat_rss[-1]} KiB, unbound ${unbound_load[-1]} s ${unbound_rss[-1]} KiB" >&2
done

# Per-query cost, 1 000 vs 1 000 000 entries, interleaved; each query file walks every name.
declare -A cost
for r in $(seq "$runs"); do
  for n in 1000 1000000; do
    taskset -c 1 "$bin" -conf "$work/Corefile$n" -quiet > "$work/moat.log" 2>&1 &
    pid=$!
    wait_answer "$pid" "$port" "$(printf "h%07d.hosts.test" $((n - 1)))" 60 > /dev/null
    measure "$pid" "$port" "$work/d$n/local.q" 2 > /dev/null
    read -r done_q qps us < <(measure "$pid" "$port" "$work/d$n/local.q" "$secs")
    stop_pid "$pid"
    echo "run $r entries=$n completed=$done_q qps=$qps cpu_us_per_query=$us" >&2
    cost[$n]+="$us "
  done
done
med() { printf '%s\n' "$@" | median; }
{
  echo "| | Moat | unbound |"
  echo "|---|---:|---:|"
  echo "| 1 000 000 entries: start to last name answered, s (median of $runs) | $(med "${moat_load[@]}") | $(med "${unbound_load[@]}") |"
  echo "| RSS after load, MiB (median) | $(med "${moat_rss[@]}" | awk '{printf "%.0f", $1/1024}') | $(med "${unbound_rss[@]}" | awk '{printf "%.0f", $1/1024}') |"
  echo
  echo "| hosts entries | Moat CPU µs/query, saturated (median of $runs) | runs |"
  echo "|---:|---:|---|"
  echo "| 1 000 | $(tr ' ' '\n' <<<"${cost[1000]}" | median) | ${cost[1000]}|"
  echo "| 1 000 000 | $(tr ' ' '\n' <<<"${cost[1000000]}" | median) | ${cost[1000000]}|"
} | tee "$out"
