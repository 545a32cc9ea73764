#!/usr/bin/env bash
# SERVE-DOT: what answering over DNS over TLS costs. Moat (a tls:// block with `hosts`) and
# unbound (tls-port, the same names as local-data) serve LOCAL's 1 000 names; dnsperf -m dot
# sends RATE queries a second over 4 TLS connections from CPU 0; the server has CPU 1. RUNS
# rounds of SECS seconds, servers interleaved. Prints CPU µs per query, median and min-max.
# Usage: bench/serve_dot.sh MOAT_BIN DATA_DIR OUT_FILE   (RATE=10000 SECS=8 RUNS=3)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$(realpath "$1") data=$(realpath "$2") out=$(realpath "$3")
rate=${RATE:-10000} secs=${SECS:-8} runs=${RUNS:-3}
port=15335
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && stop_pid "$pid"; rm -rf "$work"' EXIT
first=$(head -1 "$data/local.q" | awk '{print $1}')
make_test_pki "$work"

printf 'tls://.:%s {\n    bind %s\n    tls %s/server.pem %s/server.key\n    hosts %s/hosts.txt\n}\n' \
  "$port" "$BENCH_ADDR" "$work" "$work" "$data" > "$work/Corefile"
{
  printf 'server:\n  interface: %s@%s\n  tls-port: %s\n' "$BENCH_ADDR" "$port" "$port"
  printf '  tls-service-key: "%s/server.key"\n  tls-service-pem: "%s/server.pem"\n' "$work" "$work"
  printf '  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n  use-syslog: no\n' "$work"
  printf '  logfile: ""\n  verbosity: 0\n  num-threads: 1\n  do-ip6: no\n  module-config: "iterator"\n'
  printf '  access-control: 127.0.0.0/8 allow\n  incoming-num-tcp: 1000\n  local-zone: "." static\n'
  awk '{printf "  local-data: \"%s. 300 IN A %s\"\n", $2, $1}' "$data/hosts.txt"
  printf 'remote-control:\n  control-enable: no\n'
} > "$work/unbound.conf"

start() {
  case $1 in
    moat) taskset -c 1 "$bin" -conf "$work/Corefile" > "$work/server.log" 2>&1 & ;;
    unbound) taskset -c 1 unbound -d -c "$work/unbound.conf" > "$work/server.log" 2>&1 & ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    kdig -p "$port" @"$BENCH_ADDR" +tls-ca="$work/ca.pem" +tls-hostname=dns.test "$first" +short 2>/dev/null |
      grep -q . && return 0
    sleep 0.1
  done
  echo "bench: $1 never answered over TLS" >&2
  return 1
}

declare -A cpu
for ((r = 1; r <= runs; r++)); do
  for t in moat unbound; do
    start "$t"
    read -r completed _ us < <(measure "$pid" "$port" "$data/local.q" "$secs" -m dot -Q "$rate")
    stop_pid "$pid"
    pid=
    echo "run $r $t completed=$completed cpu_us_per_query=$us" >&2
    cpu[$t]+="$us "
  done
done

{
  echo "| server | CPU µs/query at $rate q/s over DoT, median of $runs (min-max) | runs |"
  echo "|---|---:|---|"
  for t in moat unbound; do
    echo "| $t | $(tr ' ' '\n' <<<"${cpu[$t]}" | median) ($(range "${cpu[$t]}")) | ${cpu[$t]}|"
  done
} | tee "$out"
