#!/usr/bin/env bash
# Instructions per query, counted by callgrind: stable on a noisy machine, so a regression
# shows commit to commit. Moat runs under valgrind twice per scenario, once answering Q1 and
# once Q2 queries; start-up and shutdown cost the same both times, so
#   instructions per query = (Ir(Q2 run) - Ir(Q1 run)) / (Q2 - Q1 answered).
# LOCAL answers from the 1 000-entry hosts file; FORWARD-NOCACHE forwards every query to an
# NSD the script starts on loopback (the shared harness's upstream config). HOSTS and REWRITE
# (SCENARIOS="HOSTS REWRITE") isolate what `rewrite` adds: a block with hosts only, asked the
# LOCAL names, against the same block with `rewrite name suffix ... answer auto` in front, asked
# those names under the suffix it maps (h0001.hosts.example.). TEMPLATE answers the LOCAL names
# from a `template IN A hosts.test` stanza instead of hosts: compare it with HOSTS.
# Usage: bench/callgrind.sh MOAT_BIN HARNESS_DIR DATA_DIR OUT_FILE   (SCENARIOS, default
#        "LOCAL FORWARD-NOCACHE")
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$1 harness=$2 data=$3 out=$4
port=15313 up_port=15354
work=$(mktemp -d)
nsd_pid=""
trap '[[ -n $nsd_pid ]] && stop_pid "$nsd_pid"; rm -rf "$work"' EXIT
command -v valgrind > /dev/null || { echo "bench: valgrind is not installed" >&2; exit 1; }

(
  export WORK_DIR=$work DATA_DIR=$data UPSTREAM_ADDR=127.0.0.1 UPSTREAM_PORT=$up_port
  source "$harness/upstream/nsd.sh"
  upstream_prepare > /dev/null
  printf '%q ' "${UPSTREAM_CMD[@]}" > "$work/nsd.cmd"
)
eval "exec taskset -c 0 $(cat "$work/nsd.cmd")" > "$work/nsd.log" 2>&1 &
nsd_pid=$!
render_corefile "$work/Corefile" "$port" "$data/hosts.txt" "$data/private-hosts.txt" "127.0.0.1:$up_port"
printf '.:%s {\n    bind %s\n    hosts %s/hosts.txt\n}\n' "$port" "$BENCH_ADDR" "$data" > "$work/hosts.Corefile"
printf '.:%s {\n    bind %s\n    rewrite name suffix .hosts.example. .hosts.test. answer auto\n    hosts %s/hosts.txt\n}\n' \
  "$port" "$BENCH_ADDR" "$data" > "$work/rewrite.Corefile"
sed 's/\.hosts\.test/.hosts.example/' "$data/local.q" > "$work/rewrite.q"
printf '.:%s {\n    bind %s\n    template IN A hosts.test {\n        answer "{{ .Name }} 3600 IN A 192.0.2.1"\n    }\n}\n' \
  "$port" "$BENCH_ADDR" > "$work/template.Corefile"

# One valgrind run answering PASSES passes over the query file; prints "answered Ir".
run_once() {
  local qfile=$1 passes=$2 probe=$3 conf=${4:-$work/Corefile} pid answered ir
  rm -f "$work"/callgrind.out*
  taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "$bin" -conf "$conf" -quiet > "$work/moat.log" 2>&1 &
  pid=$!
  wait_answer "$pid" "$port" "$probe" 120 > /dev/null
  answered=$(taskset -c 0 dnsperf -s "$BENCH_ADDR" -p "$port" -d "$qfile" -n "$passes" -Q 2000 -t 5 2>&1 |
             awk '/Queries completed:/{print $3}')
  stop_pid "$pid"
  ir=$(awk '/^(summary|totals):/{print $2; exit}' "$work/callgrind.out")
  echo "$answered $ir"
}

{
  echo "| scenario | instructions per query (callgrind Ir) | queries measured |"
  echo "|---|---:|---:|"
  for scenario in ${SCENARIOS:-LOCAL FORWARD-NOCACHE}; do
    conf=$work/Corefile
    case $scenario in
      LOCAL) q=$data/local.q probe=h0001.hosts.test ;;
      FORWARD-NOCACHE) q=$data/fwd.q probe=host0001.example.test ;;
      HOSTS) q=$data/local.q probe=h0001.hosts.test conf=$work/hosts.Corefile ;;
      REWRITE) q=$work/rewrite.q probe=h0001.hosts.example conf=$work/rewrite.Corefile ;;
      TEMPLATE) q=$data/local.q probe=h0001.hosts.test conf=$work/template.Corefile ;;
    esac
    read -r a1 i1 < <(run_once "$q" 1 "$probe" "$conf")
    read -r a2 i2 < <(run_once "$q" 6 "$probe" "$conf")
    echo "$scenario: $a1 answered, $i1 Ir; $a2 answered, $i2 Ir" >&2
    awk -v s="$scenario" -v a1="$a1" -v a2="$a2" -v i1="$i1" -v i2="$i2" \
      'BEGIN{printf "| %s | %.0f | %d |\n", s, (i2 - i1) / (a2 - a1), a2 - a1}'
  done
} | tee "$out"
