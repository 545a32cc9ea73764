#!/usr/bin/env bash
# A 1 000 000-record zone (SOA, NS, and 999 998 A records under big.test.) loaded by Moat's
# `file` plugin and by NSD: seconds from start until the last name answers, CPU seconds spent
# by then, and memory once loaded (Moat's RSS; the sum of PSS over NSD's processes, which share
# pages). RUNS runs each, interleaved; median and min-max.
# Usage: bench/zone_1m.sh MOAT_BIN OUT_FILE   (RUNS=3)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$1 out=$2
runs=${RUNS:-3} port=15314
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && stop_pid "$pid"; rm -rf "$work"' EXIT

{
  echo '$ORIGIN big.test.'
  echo '$TTL 3600'
  echo '@ IN SOA ns.big.test. hostmaster.big.test. 1 3600 900 604800 3600'
  echo '@ IN NS ns'
  echo 'ns IN A 127.0.0.1'
  awk 'BEGIN{for(i=0;i<999997;i++) printf "host%07d IN A 127.%d.%d.%d\n", i, int(i/62500)%250, int(i/250)%250, i%250+1}'
} > "$work/big.zone"
last=host0999996.big.test
printf 'big.test.:%s {\n    bind 127.0.0.1\n    file %s {\n        reload 0\n    }\n}\n' "$port" "$work/big.zone" > "$work/Corefile"
cat > "$work/nsd.conf" <<EOC
server:
  ip-address: 127.0.0.1@$port
  port: $port
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$work"
  pidfile: "$work/nsd.pid"
  database: ""
  xfrdfile: "$work/xfrd.state"
  zonelistfile: "$work/zone.list"
  logfile: "$work/nsd.log"
  verbosity: 0
zone:
  name: big.test.
  zonefile: "$work/big.zone"
EOC

descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
tree() { echo "$1" $(descendants "$1"); }  # NSD serves from a grandchild
cpu_s() { local t=0 p; for p in $(tree "$1"); do t=$((t + $(proc_cpu_ns "$p"))); done; awk -v t="$t" 'BEGIN{printf "%.2f", t / 1e9}'; }
pss_mib() { local t=0 p; for p in $(tree "$1"); do t=$((t + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup"))); done; awk -v t="$t" 'BEGIN{printf "%.0f", t / 1024}'; }
rss_mib() { awk '/^VmRSS:/{printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

declare -A secs cpu mem
for r in $(seq "$runs"); do
  for t in moat nsd; do
    since=$EPOCHREALTIME
    case $t in
      moat) "$bin" -conf "$work/Corefile" -quiet > "$work/moat.log" 2>&1 & ;;
      nsd) nsd -d -c "$work/nsd.conf" > "$work/nsd.out" 2>&1 & ;;
    esac
    pid=$!
    s=$(wait_answer "$pid" "$port" "$last" 120 "$since")
    c=$(cpu_s "$pid")
    if [[ $t == moat ]]; then m=$(rss_mib "$pid"); else m=$(pss_mib "$pid"); fi
    stop_pid "$pid"
    pid=
    echo "run $r $t ready_s=$s cpu_s=$c memory_mib=$m" >&2
    secs[$t]+="$s " cpu[$t]+="$c " mem[$t]+="$m "
  done
done
med() { tr ' ' '\n' <<<"$1" | median; }
{
  echo "| server | ready after s, median of $runs (min-max) | CPU s by then | memory MiB (Moat RSS, NSD summed PSS) |"
  echo "|---|---:|---:|---:|"
  for t in moat nsd; do
    echo "| $t | $(med "${secs[$t]}") ($(range "${secs[$t]}")) | $(med "${cpu[$t]}") ($(range "${cpu[$t]}")) | $(med "${mem[$t]}") ($(range "${mem[$t]}")) |"
  done
} | tee "$out"
