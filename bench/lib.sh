# Helpers shared by bench/*.sh. Sourced, not executed. Loopback only: every address here is
# 127.0.0.1 and every port is above 15000.
BENCH_ADDR=127.0.0.1
HZ=$(getconf CLK_TCK)

# Renders bench/moat.Corefile.tmpl the way the shared harness's project target does.
# $1 out file, $2 port, $3 hosts file, $4 private hosts file, $5 upstream ADDR:PORT, $6 "log" or ""
render_corefile() {
  sed -e "s|@ADDR@|$BENCH_ADDR|g" -e "s|@PORT@|$2|g" -e "s|@UPSTREAM@|$5|g" \
      -e "s|@HOSTS@|$3|g" -e "s|@PRIVATE_HOSTS@|$4|g" -e "s|@CACHE@||g" -e "s|@LOG@|${6:-}|g" \
      "$BENCH_ROOT/bench/moat.Corefile.tmpl" > "$1"
}

# Waits (up to $4 s, default 60) until NAME ($3) answers NOERROR with an address on port $2;
# $1 is the pid to watch. Prints the seconds waited since $5 (an EPOCHREALTIME), if given.
wait_answer() {
  local pid=$1 port=$2 name=$3 limit=${4:-60} since=${5:-} deadline
  deadline=$(( $(date +%s) + limit ))
  while (( $(date +%s) < deadline )); do
    kill -0 "$pid" 2>/dev/null || { echo "bench: process $pid died" >&2; return 1; }
    # +short still prints ";; communications error" lines: only an address counts.
    if [[ $(dig +short +tries=1 +time=1 ${BENCH_FROM:+-b "$BENCH_FROM"} -p "$port" @"$BENCH_ADDR" "$name" A 2>/dev/null) =~ ^[0-9.]+$ ]]; then
      [[ -n $since ]] && awk -v a="$since" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f\n", b - a}'
      return 0
    fi
    sleep 0.05
  done
  echo "bench: $name never answered on port $port" >&2
  return 1
}

# CPU nanoseconds a process has run, all threads (schedstat: ns precision, unlike jiffies).
proc_cpu_ns() {
  local f t s=0
  for f in /proc/"$1"/task/*/schedstat; do
    read -r t _ < "$f" 2>/dev/null && s=$((s + t))
  done
  echo "$s"
}

# Resident and peak-resident KiB of a process.
proc_rss_kib() { awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} END{print r, h}' "/proc/$1/status"; }

# Loads PID ($1) on port $2 with dnsperf from CPU 0 using query file $3 for $4 s; extra
# dnsperf flags follow. Prints "completed qps cpu_us_per_query".
measure() {
  local pid=$1 port=$2 qfile=$3 secs=$4 a b out; shift 4
  a=$(proc_cpu_ns "$pid")
  out=$(taskset -c 0 dnsperf -s "$BENCH_ADDR" -p "$port" -d "$qfile" -l "$secs" -c 4 -q 100 "$@" 2>&1)
  b=$(proc_cpu_ns "$pid")
  awk -v a="$a" -v b="$b" '/Queries completed:/{c=$3} /Queries per second:/{q=$4}
    END{printf "%d %.0f %.2f\n", c, q, (c > 0) ? (b - a) / 1000 / c : 0}' <<<"$out"
}

median() { awk 'NF' | sort -g | awk '{a[NR]=$1} END{if (NR) print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# "min-max" of the space-separated numbers in $1.
range() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk 'NR==1{lo=$1} {hi=$1} END{printf "%s-%s", lo, hi}'; }

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# A throwaway CA and a certificate for dns.test in directory $1 (ca.pem, server.pem, server.key),
# made with openssl as the tests make theirs (tests/support/tls.cpp).
make_test_pki() {
  local d=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
    -out "$d/ca.pem" -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/server.key" \
    -out "$d/server.csr" -subj "/CN=dns.test" 2>/dev/null
  printf 'subjectAltName=DNS:dns.test\nextendedKeyUsage=serverAuth\n' > "$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/server.pem" -days 2 -extfile "$d/server.ext" 2>/dev/null
}
