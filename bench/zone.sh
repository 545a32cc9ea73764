#!/usr/bin/env bash
# ZONE: what does an answer from a zone file cost? The same 1 000-name zone (the harness's
# example.test.zone: SOA, NS and host0000..host0999 A) answered by Moat's `file` plugin, by NSD,
# and by unbound's local-data, beside Moat's `hosts` answering the same number of names (the
# LOCAL query set) and the limit responder (a fixed answer: this machine's floor). Each server
# has CPU 1 to itself (NSD's processes all of them), dnsperf CPU 0, saturated; RUNS interleaved
# runs of SECS seconds. Prints median and min-max CPU µs per query.
# Usage: bench/zone.sh MOAT_BIN HARNESS DATA_DIR OUT_FILE   (SECS=10 RUNS=5)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$1 harness=$2 data=$3 out=$4
secs=${SECS:-10} runs=${RUNS:-5} port=15313
work=$(mktemp -d)
pid=
# A server left running would share the port with the next run's: stop it however this ends.
trap '[[ -n $pid ]] && stop_pid "$pid"; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT

cat > "$work/file.Corefile" <<EOC
example.test.:$port {
    bind 127.0.0.1
    file $data/example.test.zone {
        reload 0
    }
}
EOC
cat > "$work/hosts.Corefile" <<EOC
.:$port {
    bind 127.0.0.1
    hosts $data/hosts.txt
}
EOC
mkdir -p "$work/nsd"
cat > "$work/nsd/nsd.conf" <<EOC
server:
  ip-address: 127.0.0.1@$port
  port: $port
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$work/nsd"
  pidfile: "$work/nsd/nsd.pid"
  database: ""
  xfrdfile: "$work/nsd/xfrd.state"
  zonelistfile: "$work/nsd/zone.list"
  logfile: "$work/nsd/nsd.log"
  verbosity: 0
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
zone:
  name: example.test.
  zonefile: "$data/example.test.zone"
EOC
{
  cat <<EOC
server:
  interface: 127.0.0.1@$port
  port: $port
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  so-rcvbuf: 4m
  so-sndbuf: 4m
  module-config: "iterator"
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  local-zone: "example.test." static
  local-data: "example.test. 3600 IN SOA ns.example.test. hostmaster.example.test. 1 3600 900 604800 3600"
  local-data: "example.test. 3600 IN NS ns.example.test."
  local-data: "ns.example.test. 3600 IN A 127.0.0.1"
EOC
  awk '$2 == "IN" && $3 == "A" && $1 ~ /^host/ {printf "  local-data: \"%s.example.test. 3600 IN A %s\"\n", $1, $4}' \
    "$data/example.test.zone"
  printf 'remote-control:\n  control-enable: no\n'
} > "$work/unbound.conf"
unbound-checkconf "$work/unbound.conf" > /dev/null
limit=$harness/limit/dnsfixed
[[ -x $limit ]] || gcc -O2 -Wall -o "$limit" "$harness/limit/dnsfixed.c"

# NSD serves from a grandchild process: its CPU is the whole tree's.
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
tree_cpu_ns() {
  local total=0 p
  for p in "$1" $(descendants "$1"); do total=$((total + $(proc_cpu_ns "$p"))); done
  echo "$total"
}
measure_tree() {  # like lib.sh's measure, over a process tree: $1 root pid, $2 query file, $3 seconds
  local root=$1 qfile=$2 seconds=$3 a b run
  a=$(tree_cpu_ns "$root")
  run=$(taskset -c 0 dnsperf -s "$BENCH_ADDR" -p "$port" -d "$qfile" -l "$seconds" -c 4 -q 100 2>&1)
  b=$(tree_cpu_ns "$root")
  awk -v a="$a" -v b="$b" '/Queries completed:/{c=$3} /Queries per second:/{q=$4}
    END{printf "%d %.0f %.2f\n", c, q, (c > 0) ? (b - a) / 1000 / c : 0}' <<<"$run"
}

start() {  # $1 target; sets pid and the query file
  case $1 in
    moat-file) taskset -c 1 "$bin" -conf "$work/file.Corefile" -quiet > "$work/moat.log" 2>&1 & qfile=$data/fwd.q name=host0001.example.test ;;
    moat-hosts) taskset -c 1 "$bin" -conf "$work/hosts.Corefile" -quiet > "$work/moat.log" 2>&1 & qfile=$data/local.q name=h0001.hosts.test ;;
    nsd) taskset -c 1 nsd -d -c "$work/nsd/nsd.conf" > "$work/nsd.out" 2>&1 & qfile=$data/fwd.q name=host0001.example.test ;;
    unbound) taskset -c 1 unbound -d -c "$work/unbound.conf" > "$work/unbound.out" 2>&1 & qfile=$data/fwd.q name=host0001.example.test ;;
    limit) taskset -c 1 "$limit" 127.0.0.1 "$port" 64 > /dev/null 2>&1 & qfile=$data/fwd.q name=host0001.example.test ;;
  esac
  pid=$!
  wait_answer "$pid" "$port" "$name" 20
}

read -r -a targets <<<"${TARGETS:-moat-file moat-hosts nsd unbound limit}"
declare -A results
for r in $(seq "$runs"); do
  for t in "${targets[@]}"; do
    start "$t"
    measure_tree "$pid" "$qfile" 2 > /dev/null  # warm-up
    read -r done_q qps us < <(measure_tree "$pid" "$qfile" "$secs")
    stop_pid "$pid"
    pid=
    echo "run $r $t completed=$done_q qps=$qps cpu_us_per_query=$us" >&2
    results[$t]+="$us "
  done
done
{
  echo "| target | CPU µs/query, median of $runs (min-max) | runs |"
  echo "|---|---:|---|"
  for t in "${targets[@]}"; do
    echo "| $t | $(tr ' ' '\n' <<<"${results[$t]}" | median) ($(range "${results[$t]}")) | ${results[$t]}|"
  done
  awk -v f="$(tr ' ' '\n' <<<"${results[moat-file]}" | median)" -v l="$(tr ' ' '\n' <<<"${results[limit]}" | median)" \
    'BEGIN{printf "\nmoat-file / limit: %.2f (target ≤ 1.10)\n", f / l}'
} | tee "$out"
