#!/usr/bin/env bash
# Resident memory of one Moat serving kubeadm's Corefile with N Services loaded and its cache
# filled (issue 5: "RSS with 5 000 Services loaded and the cache full stays under the 170 Mi
# limit of the standard CoreDNS manifest"). Loopback only: the upstream is a second Moat that
# answers everything with whoami. Needs dnsperf.
#   bench/kubernetes/rss_cluster.sh [BUILD_DIR] [SERVICES]
set -euo pipefail
BIN=${1:-build-rel}/moat
SERVICES=${2:-5000}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'kill $UP_PID $MOAT_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
python3 "$HERE/gen_objects.py" --services "$SERVICES" --endpoints 5 --format json -o "$WORK/cluster.json"
UP_PORT=$((20000 + RANDOM % 10000)); PORT=$((UP_PORT + 1)); METRICS=$((UP_PORT + 2))
printf '.:%s {\n  bind 127.0.0.1\n  whoami\n}\n' "$UP_PORT" > "$WORK/Upstream"
# kubeadm's default Corefile, with the objects line and loopback ports.
cat > "$WORK/Corefile" <<COREFILE
.:$PORT {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:$((UP_PORT + 3))
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        objects $WORK/cluster.json
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus 127.0.0.1:$METRICS
    forward . 127.0.0.1:$UP_PORT {
        max_concurrent 1000
    }
    cache 30
    loop
    loadbalance
}
COREFILE
"$BIN" -conf "$WORK/Upstream" -quiet > /dev/null 2>&1 & UP_PID=$!
"$BIN" -conf "$WORK/Corefile" -quiet > "$WORK/moat.log" 2>&1 & MOAT_PID=$!
sleep 2
rss() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$MOAT_PID/status"; }
echo "workers: $(ls /proc/$MOAT_PID/task | wc -l) threads; after load: VmRSS $(rss VmRSS) MiB"
# Every Service name once, then 200 000 distinct external names (more than every worker's
# success cache holds), then the Services again.
python3 - "$WORK" "$SERVICES" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
items = json.load(open(f"{work}/cluster.json"))["items"]
names = [f'{i["metadata"]["name"]}.{i["metadata"]["namespace"]}.svc.cluster.local A'
         for i in items if i["kind"] == "Service"]
with open(f"{work}/q.txt", "w") as f:
    f.write("\n".join(names) + "\n")
    for i in range(200000):
        f.write(f"host{i:06d}.example.org A\n")
    f.write("\n".join(names) + "\n")
PY
dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/q.txt" -n 1 -Q 20000 -c 8 2>&1 | grep -E "Queries (sent|completed)|lost" || true
curl -s "127.0.0.1:$METRICS/metrics" | grep -E '^coredns_cache_entries' || true
echo "cache full: VmRSS $(rss VmRSS) MiB, peak VmHWM $(rss VmHWM) MiB (limit 170 MiB)"
