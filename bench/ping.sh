#!/usr/bin/env bash
# Ping URL throughput: wrk -t1 -c64 GETting one job's /ping/<uuid>, against skypunchd
# and, in the same run, against nginx answering a fixed 200.
#
#   bench/ping.sh [SECONDS] [ROUNDS]   (defaults: 10 s, 5 rounds)
#
# Each round runs wrk against skypunchd, then against nginx (one worker), so both meet
# the same conditions. Every 200 from skypunchd is an acknowledged ping, committed to
# SQLite before the reply; with service_sample_seconds = 0 every ping is kept in the
# history, and the pings stored at the end are counted against the 200s.
#
# Needs: wrk, nginx (nginx-light), python3. Prints a Markdown section.
set -euo pipefail
SECS=${1:-10}
ROUNDS=${2:-5}
cd "$(dirname "$0")/.."
. bench/lib.sh
. bench/nginx.sh
bench_setup
port=$(free_port); nport=$(free_port)
daemon_config
cat >> "$dir/c.toml" <<TOML

[push]
listen = "127.0.0.1:$port"

[history]
service_sample_seconds = 0
TOML
ctl start >/dev/null
url=$(ctl jobs add backup --server bench --period 1h)
path=${url#http://127.0.0.1:$port}
nginx_ok "$dir" "$nport"
sleep 0.3
run() {  # URL -> "requests/s|requests|errors|non-2xx"
  wrk -t1 -c64 -d"${SECS}s" "$1" > "$dir/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
  total=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
  errs=$(awk '/Socket errors/ {print $0}' "$dir/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.txt")
  echo "$rps|$total|${errs:-none}|${non2xx:-0}"
}
rows=""; ours=""; theirs=""; acked=0
for r in $(seq "$ROUNDS"); do
  IFS='|' read -r o_rps o_n o_err o_non <<<"$(run "http://127.0.0.1:$port$path")"
  IFS='|' read -r n_rps n_n n_err n_non <<<"$(run "http://127.0.0.1:$nport$path")"
  [ "$o_non" = 0 ] && acked=$((acked + o_n))
  ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$o_rps" "$n_rps")
  rows+="| $r | $o_rps | $o_err, non-2xx $o_non | $n_rps | $n_err, non-2xx $n_non | $ratio |"$'\n'
  ours+="$o_rps "; theirs+="$n_rps "
done
ctl stop >/dev/null
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT (SELECT count(*) FROM service_history) + (SELECT coalesce(sum(count), 0) FROM service_samples)').fetchone()[0])" "$dir/s.db")
read -r o_med n_med ratio < <(python3 -c "
import statistics, sys
o = [float(x) for x in sys.argv[1].split()]; n = [float(x) for x in sys.argv[2].split()]
mo, mn = statistics.median(o), statistics.median(n)
print(f'{mo:.0f} {mn:.0f} {mo / mn:.2f}')" "$ours" "$theirs")
echo "### Ping URL, wrk -t1 -c64 GET /ping/<uuid>, $ROUNDS rounds of ${SECS} s each ($(date -u +%Y-%m-%d), $(nproc) vCPU, $(uname -r))"
echo
echo "| round | skypunchd req/s | errors | nginx req/s | errors | ratio |"
echo "|---|---|---|---|---|---|"
printf '%s' "$rows"
echo
echo "Median: skypunchd $o_med pings/s, nginx (1 worker, fixed 200) $n_med req/s; ratio $ratio"
echo "(bar: >= 0.50, zero errors). Acknowledged pings (200s counted by wrk): $acked; stored: $stored."
