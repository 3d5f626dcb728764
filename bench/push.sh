#!/usr/bin/env bash
# Push API throughput: wrk -t1 -c64 posting one service status per request (1,000
# services of one server, round robin), against skypunchd and, in the same run, against
# nginx answering a fixed 200 with the same requests.
#
#   bench/push.sh [SECONDS] [ROUNDS] [SERVICES_PER_REQUEST]   (defaults: 10 s, 5 rounds, 1)
#
# Each round runs wrk against skypunchd, then against nginx, so both meet the same
# conditions (on a VM, the CPU time the hypervisor steals varies minute to minute; it
# is measured from /proc/stat and shown per run). The result is the median of the
# rounds for each server and their ratio, and the median of the rounds' own ratios.
#
# Every 200 from skypunchd is an acknowledged report: committed to SQLite before the
# reply. With SAMPLE=0 (service_sample_seconds = 0: every report kept in the history,
# the costliest setting) the reports stored at the end are counted against the 200s;
# by default (SAMPLE=300, the daemon's default) unchanged reports are sampled, so the
# history holds fewer rows than were acknowledged and they are not counted.
#
# Then latency at half the maximum rate: wrk --latency with each of the 64 connections
# pausing between requests so that together they offer half of skypunchd's median rate
# (wrk times each request without the pause), for SECONDS x 2; its p50 / p99 / max.
#
# With RULE=1 a [[service_rule]] (3 of 5, the default flap detection) governs every
# service, so each report is judged as well as stored.
#
# Needs: wrk, nginx (nginx-light), python3. Prints a Markdown section.
set -euo pipefail
SECS=${1:-10}
ROUNDS=${2:-5}
PER=${3:-1}
SAMPLE=${SAMPLE:-300}
RULE=${RULE:-0}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup
port=$(free_port); nport=$(free_port)
daemon_config
cat >> "$dir/c.toml" <<TOML

[push]
listen = "127.0.0.1:$port"

[history]
service_sample_seconds = $SAMPLE
TOML
if [ "$RULE" = 1 ]; then
  printf '\n[[service_rule]]\nmatch = "bench/*"\nfailure_threshold = 3\nfailure_window = 5\n' >> "$dir/c.toml"
fi
cat > "$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
per = $PER
pause = tonumber(os.getenv("PAUSE_MS") or "0")
request = function()
  local services = {}
  for i = 1, per do
    counter = counter + 1
    services[i] = '{"name": "svc' .. (counter % 1000) .. '", "state": "OK", "info": "fine"}'
  end
  local body = '{"server": {"name": "bench", "key": "k"}, "period": 60, "services": [' .. table.concat(services, ", ") .. ']}'
  return wrk.format(nil, "/api/set/service/status", nil, body)
end
if pause > 0 then
  delay = function() return pause end
end
LUA
mkdir -p "$dir/nginx"
cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/nginx;
  server { listen 127.0.0.1:$nport; location / { return 200 '{"ok": 1}'; } }
}
NGINX
steal() { awk '/^cpu / {print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
run() {  # URL -> "requests/s|requests|errors|non-2xx|steal %"
  read -r s0 t0 < <(steal)
  wrk -t1 -c64 -d"${SECS}s" -s "$dir/post.lua" "$1" > "$dir/wrk.txt"
  read -r s1 t1 < <(steal)
  rps=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
  total=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
  errs=$(awk '/Socket errors/ {print $0}' "$dir/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.txt")
  echo "$rps|$total|${errs:-none}|${non2xx:-0}|$(( 100 * (s1 - s0) / (t1 - t0) ))"
}
ctl start >/dev/null
nginx -c "$dir/nginx.conf"
sleep 0.3
rows=""
ours_all=""
theirs_all=""
ratios_all=""
acked=0
for r in $(seq "$ROUNDS"); do
  IFS='|' read -r o_rps o_n o_err o_non o_st <<<"$(run "http://127.0.0.1:$port")"
  IFS='|' read -r n_rps n_n n_err n_non n_st <<<"$(run "http://127.0.0.1:$nport")"
  [ "$o_non" = 0 ] && acked=$((acked + o_n * PER))
  r_ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$o_rps" "$n_rps")
  rows+="| $r | $o_rps | $o_err, non-2xx $o_non | $o_st % | $n_rps | $n_err, non-2xx $n_non | $n_st % | $r_ratio |"$'\n'
  ratios_all+="$r_ratio "
  ours_all+="$o_rps "
  theirs_all+="$n_rps "
done
# Half the median rate, offered by 64 connections each pausing between requests.
half=$(python3 -c "
import statistics, sys
print(statistics.median(float(x) for x in sys.argv[1].split()) / 2)" "$ours_all")
pause=$(python3 -c "import sys; r = float(sys.argv[1]); print(max(1, round(64 * 1000 / r)))" "$half")
PAUSE_MS=$pause wrk -t1 -c64 -d"$((SECS * 2))s" --latency -s "$dir/post.lua" "http://127.0.0.1:$port" > "$dir/half.txt"
half_rps=$(awk '/Requests\/sec/ {print $2}' "$dir/half.txt")
half_n=$(awk '/requests in/ {print $1}' "$dir/half.txt")
acked=$((acked + half_n * PER))
lat() { awk -v p="$1" '$1 == p {print $2}' "$dir/half.txt"; }
half_max=$(awk '/Latency/ && !/Distribution/ {print $4; exit}' "$dir/half.txt")
ctl stop >/dev/null
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT (SELECT count(*) FROM service_history) + (SELECT coalesce(sum(count), 0) FROM service_samples)').fetchone()[0])" "$dir/s.db")
read -r o_med n_med ratio r_med < <(python3 -c "
import statistics, sys
o = [float(x) for x in sys.argv[1].split()]; n = [float(x) for x in sys.argv[2].split()]
r = [float(x) for x in sys.argv[3].split()]
mo, mn = statistics.median(o), statistics.median(n)
print(f'{mo:.0f} {mn:.0f} {mo / mn:.2f} {statistics.median(r):.2f}')" "$ours_all" "$theirs_all" "$ratios_all")
echo "### Push API, wrk -t1 -c64, $PER service(s) per request, service_sample_seconds = $SAMPLE, $([ "$RULE" = 1 ] && echo "a rule governing every service, ")$ROUNDS rounds of ${SECS} s each ($(date -u +%Y-%m-%d), $(nproc) vCPU, $(uname -r))"
echo
echo "| round | skypunchd req/s | errors | CPU stolen | nginx req/s | errors | CPU stolen | ratio |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s' "$rows"
echo
echo "Median: skypunchd $o_med req/s, nginx (1 worker, fixed 200) $n_med req/s; ratio of the"
echo "medians $ratio, median of the rounds' ratios $r_med"
if [ "$SAMPLE" = 0 ]; then
  echo "(bar: >= 25,000 requests/s and >= 0.50). Acknowledged reports (200s counted by wrk): $acked;"
  echo "stored: $stored (service_sample_seconds = 0)."
else
  echo "(bar: >= 25,000 requests/s and >= 0.50). Acknowledged reports (200s counted by wrk): $acked"
  echo "(service_sample_seconds = $SAMPLE: unchanged reports are sampled, so they are not counted)."
fi
echo
echo "At half the median rate (${pause} ms pause per connection; offered ~${half%.*} req/s, served $half_rps req/s for $((SECS * 2)) s):"
echo "latency p50 $(lat 50%), p99 $(lat 99%), max $half_max (bar: p99 < 50 ms)."
