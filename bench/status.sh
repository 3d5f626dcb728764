#!/usr/bin/env bash
# The status page and its API with 10,000 targets.
#
#   bench/status.sh [TARGETS]   (default 10000)
#
# TARGETS targets checked every 60 s (against the daemon's own /healthz, so nothing
# else is needed), 50 pushed services; once every target has been checked, hyperfine
# times `curl` of /ui/, /api/status (the page's first request: 100 targets of all),
# /api/status?limit=500, /api/status?state=FAIL, /api/targets/1/history and /metrics.
# Needs: hyperfine, curl, sqlite3, python3. Prints a Markdown section for BENCHMARKS.md.
set -euo pipefail
N=${1:-10000}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup
port=$(free_port)
daemon_config
cat >> "$dir/c.toml" <<TOML
log_level = "warn"
location = "bench1"

[push]
listen = "127.0.0.1:$port"
TOML
ctl start >/dev/null
python3 - "$dir/s.db" "$N" "$port" <<'PY'
import sqlite3, sys
db, n, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = sqlite3.connect(db)
c.executemany("INSERT INTO targets (name, url, frequency) VALUES (?, ?, 60)",
              [(f"target {i:05d}", f"http://127.0.0.1:{port}/healthz?t={i}") for i in range(n)])
c.commit()
PY
for i in $(seq 1 50); do
  curl -s -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"server\": {\"name\": \"host$((i % 5))\", \"key\": \"k\"}, \"period\": 600, \"services\": [{\"name\": \"svc$i\", \"state\": \"OK\", \"info\": \"fine\"}]}" \
    "http://127.0.0.1:$port/api/set/service/status"
done
# Every target checked once (first checks are spread over the 60 s period), and the
# uptime figures computed.
for _ in $(seq 1 120); do
  left=$(sqlite3 "$dir/s.db" "SELECT count(*) FROM targets WHERE status = 'NEW'")
  [ "$left" = 0 ] && break
  sleep 1
done
sleep 31
u="http://127.0.0.1:$port"
hyperfine -N --warmup 3 --runs 30 --export-markdown "$dir/h.md" \
  -n "/ui/" "curl -sf -o /dev/null $u/ui/" \
  -n "/api/status?limit=100 (the page)" "curl -sf -o /dev/null $u/api/status?limit=100" \
  -n "/api/status?limit=500" "curl -sf -o /dev/null $u/api/status?limit=500" \
  -n "/api/status?state=FAIL" "curl -sf -o /dev/null $u/api/status?state=FAIL" \
  -n "/api/targets/1/history" "curl -sf -o /dev/null $u/api/targets/1/history" \
  -n "/metrics ($N targets)" "curl -sf -o /dev/null $u/metrics" >/dev/null
echo "### Status page with $N targets ($(date -u +%Y-%m-%d), $(nproc) vCPU, $(uname -r))"
echo
echo "Bar: the page and /api/status under 200 ms. Daemon RSS: $(ps -o rss= -p "$(cat "$dir/run/s.pid")" | awk '{printf "%.0f MB", $1/1024}')."
echo
cat "$dir/h.md"
