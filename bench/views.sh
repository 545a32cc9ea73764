#!/usr/bin/env bash
# What do `view` and `acl` cost per query? The LOCAL query set against two Corefiles that answer
# the same names from the same hosts file: one plain block, and the split-horizon shape (a guests
# block whose view does not match tried first, then the office block whose view and acl do, the
# acl's allow rule after a block rule that does not match). dnsperf sends from 127.0.0.2, the
# office client; the server has CPU 1 to itself, dnsperf CPU 0, saturated; RUNS interleaved runs.
# Prints the median and min-max CPU µs per query of each and their difference.
# Usage: bench/views.sh MOAT_BIN DATA_DIR OUT_FILE   (SECS=10 RUNS=5)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib.sh"
bin=$1 data=$2 out=$3
secs=${SECS:-10} runs=${RUNS:-5} port=15312
work=$(mktemp -d)
pid=
# A server left running would share the port (SO_REUSEPORT) with the next run's and take half
# its queries: stop it whatever way the script ends.
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

cat > "$work/plain.Corefile" <<EOC
.:$port {
    bind 127.0.0.1
    hosts $data/hosts.txt
}
EOC
cat > "$work/views.Corefile" <<EOC
.:$port {
    bind 127.0.0.1
    view guests {
        expr incidr(client_ip(), '127.0.0.3/32')
    }
    acl {
        block
    }
}
.:$port {
    bind 127.0.0.1
    view office {
        expr incidr(client_ip(), '127.0.0.2/32') && type() in ['A', 'AAAA', 'PTR', 'MX']
    }
    acl {
        block net 127.0.0.3/32
        allow net 127.0.0.0/8
    }
    hosts $data/hosts.txt
}
EOC

declare -A results
for r in $(seq "$runs"); do
  for conf in plain views; do
    taskset -c 1 "$bin" -conf "$work/$conf.Corefile" -quiet > "$work/moat.log" 2>&1 &
    pid=$!
    BENCH_FROM=127.0.0.2 wait_answer "$pid" "$port" h0001.hosts.test 20  # the office's view
    measure "$pid" "$port" "$data/local.q" 2 -a 127.0.0.2 > /dev/null   # warm-up
    read -r done_q qps us < <(measure "$pid" "$port" "$data/local.q" "$secs" -a 127.0.0.2)
    stop_pid "$pid"
    echo "run $r $conf completed=$done_q qps=$qps cpu_us_per_query=$us" >&2
    results[$conf]+="$us "
  done
done
plain=$(tr ' ' '\n' <<<"${results[plain]}" | median)
views=$(tr ' ' '\n' <<<"${results[views]}" | median)
{
  echo "| Corefile | CPU µs/query, median of $runs (min-max) | runs |"
  echo "|---|---:|---|"
  echo "| one block, hosts | $plain ($(range "${results[plain]}")) | ${results[plain]}|"
  echo "| two views + acl, hosts | $views ($(range "${results[views]}")) | ${results[views]}|"
  awk -v a="$plain" -v b="$views" 'BEGIN{printf "\nview + acl cost: %.2f µs per query (target ≤ 0.30)\n", b - a}'
} | tee "$out"
