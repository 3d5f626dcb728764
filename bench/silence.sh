#!/usr/bin/env bash
# A silence added while 1,000 alerts are still owed: how long `skypunchctl silence add`
# takes, end to end, to commit it and turn those deliveries into suppressed ones, and
# how many are left pending after it answered.
#
#   bench/silence.sh [N] [ROUNDS]
#
# A command notifier that sleeps keeps its queue waiting (group_interval = 0, one
# attempt at a time). Each round pushes N services of a new server OK, then FAIL (N
# state-change alerts, N pending deliveries), then silences that server. The same
# round times `skypunchctl status` as the baseline of a round trip. Needs: sqlite3,
# python3, curl. Prints a Markdown section for BENCHMARKS.md.
set -euo pipefail
N=${1:-1000}
ROUNDS=${2:-5}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup
port=$(free_port)
daemon_config
cat >> "$dir/c.toml" <<TOML

[push]
listen = "127.0.0.1:$port"
max_alerts_per_minute = 0
max_body_bytes = 10485760

[[notifier]]
name = "slow"
type = "command"
command = "sleep 600"
timeout = 600
group_interval = 0
TOML
ctl start >/dev/null
body() {
  python3 - "$1" "$2" "$N" <<'PY'
import json, sys
server, state, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(json.dumps({"server": {"name": server, "key": "k"}, "period": 3600,
                  "services": [{"name": f"s{i}", "state": state} for i in range(n)]}))
PY
}
ms() { echo $(( ($2 - $1) / 1000000 )); }
pending() { sqlite3 -cmd '.timeout 5000' "$dir/s.db" "SELECT count(*) FROM deliveries WHERE state = 'pending'"; }
adds=()
statuses=()
left=()
for r in $(seq 1 "$ROUNDS"); do
  for state in OK FAIL; do
    body "db$r" "$state" | curl -sf -o /dev/null -H 'Content-Type: application/json' \
      --data-binary @- "http://127.0.0.1:$port/api/set/service/status"
  done
  for _ in $(seq 1 200); do
    [ "$(pending)" -ge "$N" ] && break
    sleep 0.05
  done
  owed=$(pending)
  t0=$(date +%s%N); ctl status >/dev/null; t1=$(date +%s%N)
  statuses+=("$(ms "$t0" "$t1")")
  t0=$(date +%s%N); ctl silence add --server "db$r" --for 1h >/dev/null; t1=$(date +%s%N)
  adds+=("$(ms "$t0" "$t1")")
  left+=("$(pending)")
  echo "round $r: $owed pending before, silence add $(ms "$t0" "$t1") ms, ${left[-1]} pending after" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cat <<MD
### Silence over pending alerts ($(date -u +%Y-%m-%d), $(nproc) vCPU, bench/silence.sh $N $ROUNDS)

| measure | median of $ROUNDS | all |
|---|---|---|
| \`skypunchctl silence add\` with $N deliveries pending (ms, end to end) | $(median "${adds[@]}") | ${adds[*]} |
| \`skypunchctl status\`, same rounds (ms, baseline round trip) | $(median "${statuses[@]}") | ${statuses[*]} |
| deliveries still pending once it answered | $(median "${left[@]}") | ${left[*]} |
MD
