#!/usr/bin/env bash
# Latency from an alert's cause to its notifier's command being started, with nothing
# queued.
#
#   bench/notify.sh [ALERTS]   (default 50 of each kind)
#
# - targets: ALERTS targets on a closed port, checked every 5 s; each one's first check
#   FAILs and raises a FAILURE. Measured from the end of the failed check (its start,
#   as stored in alerts.time, plus its response time) to the command's first
#   instruction.
# - pushed: ALERTS state changes posted to /api/set/service/status, 200 ms apart.
#   Measured from just before the POST is sent to the command's first instruction.
#
# The command is a shell script whose first line records the time (date +%s%N).
# Needs: python3, sqlite3. Prints a Markdown section for BENCHMARKS.md.
set -euo pipefail
N=${1:-50}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup
closed=$(free_port)
cat > "$dir/stamp.sh" <<'SH'
#!/bin/sh
t=$(date +%s%N)
read -r first
echo "$t $first" >> started.txt
SH
chmod +x "$dir/stamp.sh"
daemon_config
{
  cat <<TOML

[push]
listen = "127.0.0.1:0"

# Each alert alone: this measures one alert's way, not grouping (bench/storm.sh).
[[notifier]]
name = "stamp"
type = "command"
command = "./stamp.sh"
group_interval = 0
TOML
  for i in $(seq 1 "$N"); do
    printf '\n[[target]]\nname = "t%s"\nurl = "http://127.0.0.1:%s/"\nfrequency = 5\n' "$i" "$closed"
  done
} >> "$dir/c.toml"
ctl start >/dev/null
listen=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["listen"])')

# Targets: wait until every target has failed once and its alert was delivered.
for _ in $(seq 1 100); do
  [ "$(wc -l < "$dir/started.txt" 2>/dev/null || echo 0)" -ge "$N" ] && break
  sleep 0.2
done
sleep 1
target_ms=$(python3 - "$dir" <<'PY'
import sqlite3, sys
d = sys.argv[1]
started = {}
for line in open(f"{d}/started.txt"):
    t, text = line.split(" ", 1)
    name = text.strip().rsplit(" ", 1)[-1]   # "Skypunch FAILURE detected for tN"
    started.setdefault(name, int(t) / 1e6)
db = sqlite3.connect(f"file:{d}/s.db?mode=ro", uri=True)
rows = db.execute(
    "SELECT a.target, a.time + r.response_us / 1000.0 FROM alerts a JOIN target_results r "
    "ON r.target_id = a.target_id AND r.time = a.time WHERE a.kind = 'target'").fetchall()
lat = sorted(started[n] - done for n, done in rows if n in started)
print(" ".join(f"{x:.1f}" for x in lat))
PY
)
: > "$dir/started.txt"

# Pushed state changes, one at a time.
push_ms=$(python3 - "$dir" "$listen" "$N" <<'PY'
import http.client, json, os, sys, time
d, listen, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = listen.rsplit(":", 1)
sent = []
for i in range(n):
    state = "FAIL" if i % 2 == 0 else "OK"
    body = json.dumps({"server": {"name": "bench", "key": "k"}, "period": 3600,
                       "services": [{"name": "svc", "state": state, "info": str(i)}]})
    c = http.client.HTTPConnection(host, int(port))
    t = time.time_ns() / 1e6
    c.request("POST", "/api/set/service/status", body, {"Content-Type": "application/json"})
    assert c.getresponse().status == 200
    c.close()
    sent.append(t)
    time.sleep(0.2)
deadline = time.time() + 10
while time.time() < deadline:
    if os.path.exists(f"{d}/started.txt") and sum(1 for _ in open(f"{d}/started.txt")) >= n:
        break
    time.sleep(0.1)
started = [int(l.split(" ", 1)[0]) / 1e6 for l in open(f"{d}/started.txt")]
lat = sorted(s - t for s, t in zip(started, sent))
print(" ".join(f"{x:.1f}" for x in lat))
PY
)

summary() {
  python3 - "$@" <<'PY'
import sys
xs = sorted(float(x) for x in sys.argv[1:])
if not xs:
    print("no samples"); sys.exit()
pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
print(f"{len(xs)} alerts: median {pick(0.5):.1f} / p90 {pick(0.9):.1f} / max {xs[-1]:.1f} ms")
PY
}
echo "### Alert to notifier command started ($(date -u +%Y-%m-%d), $(nproc) vCPU, $(uname -r))"
echo
echo "| cause | latency | bar |"
echo "|---|---|---|"
echo "| target's failed check -> command started | $(summary $target_ms) | < 200 ms |"
echo "| pushed state change (POST sent) -> command started | $(summary $push_ms) | < 200 ms |"
