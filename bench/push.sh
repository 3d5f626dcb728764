#!/usr/bin/env bash
# Push API throughput: wrk -t1 -c64 posting one service status per request (1,000
# services of one server, round robin), against skypunchd and, in the same run, against
# nginx answering a fixed 200 with the same requests.
#
#   bench/push.sh [SECONDS]   (default 15)
#
# Every 200 from skypunchd is an acknowledged report: committed to SQLite before the
# reply. Needs: wrk, nginx (nginx-light), python3. Prints a Markdown section.
set -euo pipefail
SECS=${1:-15}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin skypunchd --bin skypunchctl
bin=$PWD/target/release
dir=$(mktemp -d)
ctl() { "$bin/skypunchctl" --config "$dir/c.toml" "$@"; }
cleanup() {
  ctl stop >/dev/null 2>&1 || true
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free); nport=$(free)
cat > "$dir/c.toml" <<TOML
[daemon]
socket = "run/s.sock"
pid_file = "run/s.pid"
database = "s.db"
log_file = "s.log"

[push]
listen = "127.0.0.1:$port"
TOML
cat > "$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = '{"server": {"name": "bench", "key": "k"}, "period": 60, "services": [{"name": "svc' .. (counter % 1000) .. '", "state": "OK", "info": "fine"}]}'
  return wrk.format(nil, "/api/set/service/status", nil, body)
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
run() {  # URL -> "requests/s errors non-2xx"
  wrk -t1 -c64 -d"${SECS}s" -s "$dir/post.lua" "$1" > "$dir/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
  errs=$(awk '/Socket errors/ {print $0}' "$dir/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.txt")
  echo "$rps|${errs:-no socket errors}|${non2xx:-0}"
}
ctl start >/dev/null
ours=$(run "http://127.0.0.1:$port")
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM service_states').fetchone()[0])" "$dir/s.db")
ctl stop >/dev/null
nginx -c "$dir/nginx.conf"
sleep 0.3
theirs=$(run "http://127.0.0.1:$nport")
IFS='|' read -r o_rps o_err o_non <<<"$ours"
IFS='|' read -r n_rps n_err n_non <<<"$theirs"
ratio=$(python3 -c "print(f'{$o_rps / $n_rps:.2f}')")
echo "### Push API, wrk -t1 -c64 for ${SECS} s ($(date -u +%Y-%m-%d), $(nproc) vCPU, $(uname -r))"
echo
echo "| server | requests/s | errors | non-2xx | |"
echo "|---|---|---|---|---|"
echo "| skypunchd (one report per request, committed before the reply) | $o_rps | $o_err | $o_non | $stored reports stored |"
echo "| nginx 1 worker, fixed 200 | $n_rps | $n_err | $n_non | |"
echo
echo "skypunchd / nginx = $ratio (bar: >= 25,000 requests/s and >= 0.50)."
