#!/usr/bin/env bash
# 10,000 targets checked every second against nginx on loopback, and the CPU cost of
# one check compared with Prometheus blackbox_exporter probing the same URL.
#
#   bench/targets.sh [TARGETS] [SECONDS] [fresh|keepalive|tcp|dns|icmp]   (defaults: 10000 60 fresh)
#
# "fresh" opens a new connection for every check (the default of a target);
# "keepalive" sets keep_alive = true on every target; "tcp" makes every target a
# tcp:// connect check of the same nginx ports, against blackbox_exporter's tcp_connect;
# "dns" makes every target a dns:// A query to dnsmasq (dnsmasq-base) on loopback,
# against blackbox_exporter's dns prober asking dnsmasq the same; "icmp" makes every
# target an icmp:// check of 127.0.0.1 with one echo request (count=1), against
# blackbox_exporter's icmp prober (one echo request per probe).
#
# "icmp" needs root (raw ICMP sockets, for skypunchd and blackbox_exporter alike) or
# ping sockets allowed to the user (sysctl net.ipv4.ping_group_range).
#
# Needs: nginx (nginx-light), prometheus-blackbox-exporter, wrk, hyperfine, sqlite3,
# python3. Prints a Markdown section for BENCHMARKS.md.
#
# Measured over a window that starts 10 s after the targets are loaded:
#   - done/due: history rows in the window / (targets x window seconds)
#   - interval jitter: |t(n+1) - t(n) - 1 s| over consecutive check starts of each target
#   - daemon CPU (utime+stime from /proc) and peak RSS over the window
#   - `skypunchctl targets` (10,000 rows, table) with hyperfine
#   - CPU per check: skypunchd's CPU / checks, and blackbox_exporter's CPU / probes
#     while wrk drives /probe as fast as it answers (its cost includes serving /probe,
#     which is how Prometheus uses it).
# With PUSH=1, after that window: the latency of pushed reports beside the checks (wrk
# --latency, 4 connections each posting one report every 40 ms for 10 s), since they
# share the database's one writer with the checks' results.
set -euo pipefail
N=${1:-10000}
SECS=${2:-60}
MODE=${3:-fresh}
SCHEME=http
case $MODE in
  fresh) OPTIONS='{}' ;;
  keepalive) OPTIONS='{"keep_alive": true}' ;;
  tcp) OPTIONS='{}'; SCHEME=tcp ;;
  dns) OPTIONS='{}'; SCHEME=dns ;;
  icmp) OPTIONS='{}'; SCHEME=icmp ;;
  *) echo "mode: fresh, keepalive, tcp, dns or icmp" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
. bench/nginx.sh
. bench/lib.sh
bench_setup
hz=$(getconf CLK_TCK)

# nginx: four ports, a fixed 200.
nginx_ok "$dir" 18081 18082 18083 18084
nginx_pid=$(cat "$dir/nginx.pid")
if [ "$SCHEME" = dns ]; then
  dnsmasq --keep-in-foreground --no-daemon --port=15353 --listen-address=127.0.0.1 \
    --bind-interfaces --no-resolv --no-hosts --pid-file= --user=root --cache-size=0 \
    --local=/test/ --address=/web.test/127.0.0.1 >/dev/null 2>&1 &
  bench_pids+=" $!"
  sleep 1
fi

daemon_config
cat >> "$dir/c.toml" <<TOML
worker_threads = ${WORKERS:-0}
TOML
if [ "${PUSH:-0}" = 1 ]; then
  push_port=$(free_port)
  printf '[push]\nlisten = "127.0.0.1:%s"\n' "$push_port" >> "$dir/c.toml"
else
  printf '[push]\nlisten = ""\n' >> "$dir/c.toml"
fi
ctl start >/dev/null
pid=$(cat "$dir/run/s.pid")
python3 - "$dir/s.db" "$N" "$OPTIONS" "$SCHEME" <<'PY'
import sqlite3, sys
db, n, options, scheme = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = sqlite3.connect(db)
url = lambda i: {"tcp": f"tcp://127.0.0.1:{18081 + i % 4}",
                 "dns": "dns://127.0.0.1:15353/web.test?expect=127.0.0.1",
                 "icmp": "icmp://127.0.0.1?count=1"}.get(
                 scheme, f"http://127.0.0.1:{18081 + i % 4}/t/{i}?x=1")
c.executemany("INSERT INTO targets (name, url, frequency, timeout, options) VALUES (?, ?, 1, 5, ?)",
              [(f"bench {i}", url(i), options) for i in range(n)])
c.commit()
PY
sleep 10
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# nginx's work is done by its worker processes.
nginx_cpu() { local s=0; for p in $nginx_pid $(pgrep -P "$nginx_pid"); do s=$((s + $(cpu "$p"))); done; echo $s; }
t0=$(date +%s%3N); c0=$(cpu "$pid"); n0=$(nginx_cpu)
peak=0
for _ in $(seq "$SECS"); do
  sleep 1
  r=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status"); [ "$r" -gt "$peak" ] && peak=$r
done
t1=$(date +%s%3N); c1=$(cpu "$pid"); n1=$(nginx_cpu)

hyperfine -N --warmup 3 --runs 20 --export-json "$dir/list.json" \
  "$bin/skypunchctl --config $dir/c.toml targets" >/dev/null 2>&1
push_latency=""
if [ "${PUSH:-0}" = 1 ]; then
  cat > "$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = '{"server": {"name": "bench", "key": "k"}, "period": 60, "services": [{"name": "svc' .. (counter % 100) .. '", "state": "OK", "info": "fine"}]}'
  return wrk.format(nil, "/api/set/service/status", nil, body)
end
delay = function() return 40 end
LUA
  wrk -t1 -c4 -d10s --latency -s "$dir/post.lua" "http://127.0.0.1:$push_port" > "$dir/push.txt"
  push_latency="$(awk '$1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} /Latency/ && !/Distribution/ {max = $4} /requests in/ {n = $1} END {print p50 " / " p99 " / " max " (" n " reports)"}' "$dir/push.txt")"
fi
ctl stop >/dev/null

# blackbox_exporter on the same URL, driven by wrk for 20 s.
cat > "$dir/bb.yml" <<YML
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
  dns_a:
    prober: dns
    timeout: 5s
    dns:
      query_name: web.test
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
  icmp_echo:
    prober: icmp
    timeout: 5s
    icmp:
      preferred_ip_protocol: ip4
YML
prometheus-blackbox-exporter --config.file="$dir/bb.yml" --web.listen-address=127.0.0.1:19115 >/dev/null 2>&1 &
bbpid=$!
bench_pids+=" $bbpid"
sleep 1
b0=$(cpu "$bbpid")
case $SCHEME in
  tcp) probe="module=tcp_connect&target=127.0.0.1:18081" ;;
  dns) probe="module=dns_a&target=127.0.0.1:15353" ;;
  icmp) probe="module=icmp_echo&target=127.0.0.1" ;;
  *) probe="module=http_2xx&target=http://127.0.0.1:18081/t/1?x=1" ;;
esac
wrk -t1 -c8 -d20s "http://127.0.0.1:19115/probe?$probe" > "$dir/wrk.txt"
b1=$(cpu "$bbpid")
probes=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")

python3 - "$dir" "$N" "$t0" "$t1" "$c0" "$c1" "$hz" "$peak" "$b0" "$b1" "$probes" "$n0" "$n1" "$MODE" "$push_latency" <<'PY'
import json, sqlite3, sys
from collections import defaultdict
d, n, t0, t1, c0, c1, hz, peak, b0, b1, probes, n0, n1 = sys.argv[1:14]
n, t0, t1, hz = int(n), int(t0), int(t1), int(hz)
secs = (t1 - t0) / 1000
db = sqlite3.connect(f"{d}/s.db")
rows = db.execute("SELECT target_id, time, result FROM target_results WHERE time >= ? AND time < ? ORDER BY target_id, time", (t0, t1)).fetchall()
fails = sum(1 for r in rows if r[2] != 0)  # result 0 is PASS
by = defaultdict(list)
for tid, t, _ in rows:
    by[tid].append(t)
jit = sorted(abs(b - a - 1000) for ts in by.values() for a, b in zip(ts, ts[1:]))
q = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
cpu_s = (int(c1) - int(c0)) / hz
nginx_s = (int(n1) - int(n0)) / hz
bb_s = (int(b1) - int(b0)) / hz
probes = int(probes)
lst = json.load(open(f"{d}/list.json"))["results"][0]
per_check = cpu_s / max(len(rows), 1) * 1e6
per_probe = bb_s / max(probes, 1) * 1e6
print(f"| measure | value | bar |")
print(f"|---|---|---|")
print(f"| checks done / due ({n} targets x {secs:.0f} s, {sys.argv[14]} connections) | {len(rows)} / {int(n*secs)} = {100*len(rows)/(n*secs):.2f} % ({fails} FAIL) | >= 99 % |")
print(f"| interval jitter \\|dt - 1 s\\| p50 / p99 / max | {q(jit,.5)} / {q(jit,.99)} / {jit[-1] if jit else 'nan'} ms | p99 < 50 ms |")
print(f"| skypunchd CPU | {cpu_s/secs:.2f} cores ({cpu_s:.1f} s in {secs:.0f} s) | < 1 core |")
print(f"| skypunchd peak RSS | {int(peak)/1024:.0f} MB | < 150 MB |")
print(f"| nginx CPU (for scale) | {nginx_s/secs:.2f} cores | |")
print(f"| `skypunchctl targets` ({n} rows) median / max | {lst['median']*1000:.0f} / {max(lst['times'])*1000:.0f} ms | < 300 ms |")
print(f"| CPU per check: skypunchd | {per_check:.0f} us | |")
print(f"| CPU per probe: blackbox_exporter 0.23 ({probes} probes in 20 s) | {per_probe:.0f} us | |")
print(f"| ratio blackbox / skypunchd | {per_probe/per_check:.1f} x | |")
if sys.argv[15]:
    print(f"| a pushed report's latency beside the checks p50 / p99 / max | {sys.argv[15]} | |")
PY
