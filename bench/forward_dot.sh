#!/usr/bin/env bash
# FORWARD-DOT: what forwarding over DNS over TLS costs. Moat (`forward . tls://...`) and dnsdist
# (a DoT backend, OpenSSL) in front of the same unbound, which serves the LOCAL names as
# local-data over TLS (and over plain UDP on the same port: `moat-udp`, Moat forwarding there
# without TLS, is the reference row that shows what TLS adds). dnsperf sends RATE plain-UDP queries a second (a fixed rate below
# unbound's DoT ceiling, so the upstream is never what limits) from CPU 0, where unbound runs
# too; the target has CPU 1. RUNS rounds of SECS seconds, targets interleaved. Prints CPU µs per
# query (median, min-max) and, for Moat, queries per TLS handshake (its connection reuse, from
# moat_forward_tls_handshakes_total). Certificates: a throwaway CA made with openssl.
# Usage: bench/forward_dot.sh MOAT_BIN DATA_DIR OUT_FILE   (RATE=10000 SECS=8 RUNS=3)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$(realpath "$1") data=$(realpath "$2") out=$(realpath "$3")
rate=${RATE:-10000} secs=${SECS:-8} runs=${RUNS:-3}
up_port=15330 port=15331 metrics=15332
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do stop_pid "$p"; done; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
first=$(head -1 "$data/local.q" | awk '{print $1}')

cd "$work"
make_test_pki "$work"

{
  printf 'server:\n  interface: %s@%s\n  tls-port: %s\n' "$BENCH_ADDR" "$up_port" "$up_port"
  printf '  tls-service-key: "%s/server.key"\n  tls-service-pem: "%s/server.pem"\n' "$work" "$work"
  printf '  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n  use-syslog: no\n' "$work"
  printf '  logfile: ""\n  verbosity: 0\n  num-threads: 1\n  do-ip6: no\n  module-config: "iterator"\n'
  printf '  access-control: 127.0.0.0/8 allow\n  incoming-num-tcp: 1000\n  tcp-idle-timeout: 120000\n'
  printf '  local-zone: "." static\n'
  awk '{printf "  local-data: \"%s. 300 IN A %s\"\n", $2, $1}' "$data/hosts.txt"
  printf 'remote-control:\n  control-enable: no\n'
} > unbound.conf
taskset -c 0 unbound -d -c unbound.conf > unbound.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  kdig -p "$up_port" @"$BENCH_ADDR" +tls-ca="$work/ca.pem" +tls-hostname=dns.test "$first" +short 2>/dev/null |
    grep -q . && break
  sleep 0.1
done

printf '.:%s {\n    bind %s\n    forward . tls://%s:%s {\n        tls %s/ca.pem\n        tls_servername dns.test\n    }\n    prometheus %s:%s\n}\n' \
  "$port" "$BENCH_ADDR" "$BENCH_ADDR" "$up_port" "$work" "$BENCH_ADDR" "$metrics" > Corefile
printf '.:%s {\n    bind %s\n    forward . %s:%s\n}\n' "$port" "$BENCH_ADDR" "$BENCH_ADDR" "$up_port" > Corefile.udp
cat > dnsdist.conf <<CONF
setSecurityPollSuffix("")
setLocal("$BENCH_ADDR:$port")
setACL({"127.0.0.0/8"})
newServer({address="$BENCH_ADDR:$up_port", name="upstream", tls="openssl", subjectName="dns.test",
           validateCertificates=true, caStore="$work/ca.pem"})
getServer(0):setUp()
CONF

start() {  # $1 target: sets $pid
  case $1 in
    moat) taskset -c 1 "$bin" -conf "$work/Corefile" > "$work/moat.log" 2>&1 & ;;
    moat-udp) taskset -c 1 "$bin" -conf "$work/Corefile.udp" > "$work/moat.log" 2>&1 & ;;
    dnsdist) taskset -c 1 dnsdist --supervised --disable-syslog -C "$work/dnsdist.conf" > "$work/dnsdist.log" 2>&1 & ;;
  esac
  pid=$!
  wait_answer "$pid" "$port" "$first" > /dev/null
}

handshakes() {
  curl -s "http://$BENCH_ADDR:$metrics/metrics" |
    awk '/^moat_forward_tls_handshakes_total\{/{s += $NF} END{print s + 0}'
}

declare -A cpu reuse
for ((r = 1; r <= runs; r++)); do
  for t in moat dnsdist moat-udp; do
    start "$t"
    read -r completed _ us < <(measure "$pid" "$port" "$data/local.q" "$secs" -Q "$rate")
    if [[ $t == moat ]]; then
      h=$(handshakes)
      reuse[$t]+="$(awk -v c="$completed" -v h="$h" 'BEGIN{printf "%.0f", (h > 0) ? c / h : 0}') "
    fi
    stop_pid "$pid"
    echo "run $r $t completed=$completed cpu_us_per_query=$us" >&2
    cpu[$t]+="$us "
  done
done

{
  echo "| target | CPU µs/query at $rate q/s over DoT, median of $runs (min-max) | queries per TLS handshake | runs |"
  echo "|---|---:|---:|---|"
  for t in moat dnsdist moat-udp; do
    med=$(tr ' ' '\n' <<<"${cpu[$t]}" | median)
    ratio=n/a
    [[ -n ${reuse[$t]:-} ]] && ratio="$(tr ' ' '\n' <<<"${reuse[$t]}" | median) (runs: ${reuse[$t]% })"
    echo "| $t | $med ($(range "${cpu[$t]}")) | $ratio | ${cpu[$t]}|"
  done
} | tee "$out"
