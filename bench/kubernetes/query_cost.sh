#!/usr/bin/env bash
# Does a query cost the same with 10 000 Services as with 10? Serves two generated clusters
# with the kubernetes plugin (one at a time, pinned to CPU 1), loads each with dnsperf from
# CPU 0 (A queries for ClusterIP services), and prints qps and the server's CPU µs per query.
# Loopback only. Usage: bench/kubernetes/query_cost.sh [MOAT_BIN] (default build-rel/moat)
set -euo pipefail
bin=${1:-build-rel/moat}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=15399
hz=$(getconf CLK_TCK)

for n in 10 10000; do
  python3 "$here/gen_objects.py" --services "$n" --endpoints 5 --format json -o "$work/$n.json"
  : > "$work/$n.q"
  for i in $(seq 0 $((n - 1))); do
    (( i % 10 == 0 )) && continue  # every 10th is headless: keep to ClusterIP answers
    echo "svc-$i.ns-$((i % 100)).svc.cluster.local A" >> "$work/$n.q"
  done
  if [ "$(wc -l < "$work/$n.q")" -gt 1000 ]; then shuf -n 1000 --random-source=<(yes) "$work/$n.q" > "$work/q" && mv "$work/q" "$work/$n.q"; fi
  printf '.:%s {\n  bind 127.0.0.1\n  kubernetes cluster.local {\n    objects %s\n  }\n}\n' "$port" "$work/$n.json" > "$work/Corefile"
  taskset -c 1 "$bin" -conf "$work/Corefile" -quiet > "$work/moat.out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do dig @127.0.0.1 -p $port +time=1 +tries=1 svc-1.ns-1.svc.cluster.local >/dev/null 2>&1 && break; sleep 0.1; done
  taskset -c 0 dnsperf -s 127.0.0.1 -p $port -d "$work/$n.q" -l 2 -c 4 -q 100 > /dev/null  # warm-up
  before=$(awk '{print $14 + $15}' /proc/$pid/stat)
  out=$(taskset -c 0 dnsperf -s 127.0.0.1 -p $port -d "$work/$n.q" -l 5 -c 4 -q 100)
  after=$(awk '{print $14 + $15}' /proc/$pid/stat)
  kill $pid; wait $pid 2>/dev/null || true
  qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
  done_q=$(echo "$out" | awk '/Queries completed/ {print $3}')
  rcodes=$(echo "$out" | awk '/Response codes/ {$1=$2=""; print}')
  us=$(awk -v t=$((after - before)) -v hz="$hz" -v q="$done_q" 'BEGIN {printf "%.2f", t / hz * 1e6 / q}')
  echo "services=$n qps=$qps cpu_us_per_query=$us rcodes:$rcodes"
done
