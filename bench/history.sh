#!/usr/bin/env bash
# A year of history, then reads on it with the daemon running.
#
#   bench/history.sh [TARGETS] [SERVERS] [SERVICES_PER_SERVER]   (defaults: 1000 2000 10)
#
# examples/history_gen.rs builds the year through the store's own write path with a
# fixed clock (the year ends 2026-11-29 00:00 UTC) and a fixed seed: targets checked
# every 60 s with 1 % of checks failing in bursts, services reporting every 300 s (the
# default service_sample_seconds) with 1 % of their time in FAIL bursts. The last 7
# days (raw_days) go through record_checks, push_states and the filing; the days
# before through record_past, which writes the same figures and incidents without the
# raw rows that would have been pruned by then.
#
# Set HISTORY_DB=path to keep the database (and reuse it on the next run), and
# REPORT_SECONDS=60 to have the services report every 60 s: the same stored rows (the
# filing keeps one unchanged report in 300 s) for five times the generation time.
#
# Then, with skypunchd serving that database (its 1,000 targets checked every 60 s
# against nginx), p50 / p95 over 200 requests each, nginx's own static answer for
# scale:
#   - GET /api/targets/<id>/history?limit=100, /api/services/<id>/history?limit=100
#   - GET /api/targets/<id>/bars (one target's 90-day bar)
#   - skypunchctl report --target <id> --month 2026-10, and report --month 2026-10
#     for every source (5 runs)
#
# Needs: nginx (nginx-light), sqlite3 (with dbstat), python3. Prints a Markdown
# section for BENCHMARKS.md.
set -euo pipefail
N=${1:-1000}
SERVERS=${2:-2000}
PER=${3:-10}
END_MS=1795910400000
cd "$(dirname "$0")/.."
. bench/nginx.sh
. bench/lib.sh
bench_setup --example history_gen
db=${HISTORY_DB:-$dir/history.db}

if [ ! -f "$db" ]; then
  g0=$(date +%s)
  "$bin/examples/history_gen" "$db" "$END_MS" "$N" "$SERVERS" "$PER" 2> "$dir/gen.log"
  g1=$(date +%s)
  echo "generated in $((g1 - g0)) s:" >&2
  cat "$dir/gen.log" >&2
fi
size=$(stat -c %s "$db")
sqlite3 "$db" "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC" > "$dir/sizes.txt"

nginx_ok "$dir" 18091

cat > "$dir/c.toml" <<TOML
[daemon]
socket = "run/s.sock"
pid_file = "run/s.pid"
database = "$db"
log_file = "log/s.log"
[push]
listen = "127.0.0.1:18092"
[history]
time_zone = "UTC"
TOML
ctl start >/dev/null
# The first pruning (raw rows past raw_days: the generator's first day) and the
# services found offline (the year ended a while ago) run at start: wait for them
# (at most two minutes; nothing is logged when there was nothing to delete).
for _ in $(seq 120); do
  grep -q 'history: \(deleted\|pruning\)' "$dir/log/s.log" 2>/dev/null && break
  sleep 1
done
sleep 5

python3 - "$dir" "$bin" "$N" "$SERVERS" "$PER" "$size" <<'PY'
import random, statistics, subprocess, sys, time, urllib.request
d, bin_, n, servers, per, size = sys.argv[1:7]
n, servers, per, size = int(n), int(servers), int(per), int(size)
services = servers * per
rng = random.Random(7)

def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]

def http(path, runs=200):
    times = []
    for _ in range(runs):
        url = "http://127.0.0.1:" + path(rng)
        t = time.perf_counter()
        with urllib.request.urlopen(url) as r:
            r.read()
        times.append((time.perf_counter() - t) * 1000)
    return times

def ctl(args, runs):
    times = []
    for _ in range(runs):
        a = args(rng)
        t = time.perf_counter()
        subprocess.run([f"{bin_}/skypunchctl", "--config", f"{d}/c.toml", *a], check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - t) * 1000)
    return times

rows = [
    ("`/api/targets/<id>/history?limit=100`", http(lambda r: f"18092/api/targets/{r.randint(1, n)}/history?limit=100")),
    ("`/api/services/<id>/history?limit=100`", http(lambda r: f"18092/api/services/{r.randint(1, services)}/history?limit=100")),
    ("one target's 90-day bar, `/api/targets/<id>/bars`", http(lambda r: f"18092/api/targets/{r.randint(1, n)}/bars")),
    ("`skypunchctl report --target <id> --month 2026-10`", ctl(lambda r: ["report", "--target", str(r.randint(1, n)), "--month", "2026-10"], 100)),
    (f"`skypunchctl report --server <name> --month 2026-10` ({per} services)", ctl(lambda r: ["report", "--server", f"host{r.randint(0, servers - 1)}", "--month", "2026-10"], 100)),
    (f"`skypunchctl report --month 2026-10` (all {n + services} sources)", ctl(lambda r: ["report", "--month", "2026-10"], 5)),
    ("nginx static answer (peer, for scale)", http(lambda r: "18091/")),
]
print("| read | p50 ms | p95 ms | bar |")
print("|---|---|---|---|")
for name, t in rows:
    bar = "" if "nginx" in name or "all " in name or "--server" in name else "p95 <= 50 ms"
    print(f"| {name} | {q(t, .5):.1f} | {q(t, .95):.1f} | {bar} |")

sizes = {}
for line in open(f"{d}/sizes.txt"):
    name, b = line.rsplit("|", 1)
    sizes[name] = int(b)
target_tables = ["target_results", "target_hours", "target_days", "target_incidents"]
service_tables = ["service_states", "service_samples", "service_hours", "service_days", "service_incidents"]
t_bytes = sum(sizes.get(t, 0) for t in target_tables)
s_bytes = sum(sizes.get(t, 0) for t in service_tables)
print()
print("| database after the simulated year | size |")
print("|---|---|")
print(f"| whole file ({n} targets, {services} services) | {size:,} bytes = {size / 1e9:.2f} GB = {size / 2**20:.0f} MiB (bar 2 GB) |")
for name, b in sorted(sizes.items(), key=lambda kv: -kv[1])[:10]:
    print(f"| `{name}` | {b / 2**20:.0f} MiB |")
print(f"| per target-year (its four tables) | {t_bytes / n / 1024:.0f} KiB |")
print(f"| per service-year (its five tables) | {s_bytes / services / 1024:.0f} KiB |")
PY
