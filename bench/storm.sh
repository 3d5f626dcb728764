#!/usr/bin/env bash
# Storm control: N targets (default 500) fail at once; how many messages each notifier
# gets in the first 35 s, and whether every FAILURE is in them.
#
#   bench/storm.sh [N]
#
# The targets point at a closed port, checked every 2 s, so every first check FAILs
# within 2 s. Two notifiers with the default group_interval (30 s): a command that
# keeps each message (stdin) in a file of its own, and a webhook received by a small
# Python server that keeps each body. Needs: python3. Prints a Markdown section for
# BENCHMARKS.md.
set -euo pipefail
N=${1:-500}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup
closed=$(free_port)
hook=$(free_port)
mkdir -p "$dir/command" "$dir/webhook"
python3 - "$dir/webhook" "$hook" <<'PY' &
import http.server, sys, time
out, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(f"{out}/{time.time_ns()}", "wb") as f:
            f.write(body)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
bench_pids+=" $!"
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$hook") 2>/dev/null && break
  sleep 0.1
done
cat > "$dir/keep.sh" <<'SH'
#!/bin/sh
cat > "command/$(date +%s%N)"
SH
chmod +x "$dir/keep.sh"
daemon_config
{
  cat <<TOML

[push]
listen = ""

[[notifier]]
name = "command"
type = "command"
command = "./keep.sh"

[[notifier]]
name = "webhook"
type = "webhook"
url = "http://127.0.0.1:$hook/storm"
TOML
  for i in $(seq 1 "$N"); do
    printf '\n[[target]]\nname = "t%s"\nurl = "http://127.0.0.1:%s/"\nfrequency = 2\n' "$i" "$closed"
  done
} >> "$dir/c.toml"
ctl start >/dev/null
# The first message, then 35 s.
for _ in $(seq 1 100); do
  [ -n "$(ls "$dir/command")" ] && break
  sleep 0.1
done
sleep 35

python3 - "$dir" "$N" <<'PY'
import json, os, sqlite3, sys
d, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(f"file:{d}/s.db?mode=ro", uri=True)
raised = db.execute("SELECT count(*), min(time) FROM alerts WHERE event = 'FAILURE'").fetchone()
first_alert_ms = raised[1]
rows = []
for kind in ("command", "webhook"):
    files = sorted(os.listdir(f"{d}/{kind}"), key=int)
    times = [int(f) / 1e6 for f in files]
    names = []
    for f in files:
        text = open(f"{d}/{kind}/{f}", encoding="utf-8").read()
        if kind == "webhook":
            body = json.loads(text)
            alerts = body["alerts"] if body.get("kind") == "group" else [body]
            names += [a["name"] for a in alerts]
        else:
            names += [l.rsplit(" ", 1)[-1] for l in text.splitlines()
                      if l.startswith("Skypunch FAILURE detected for ")]
    in_35 = sum(1 for t in times if t - times[0] <= 35_000)
    gap = f"{(times[1] - times[0]) / 1000:.1f} s" if len(times) > 1 else "-"
    first = f"{times[0] - first_alert_ms:.0f} ms" if times else "-"
    listed = f"{len(set(names))} of {raised[0]}" + ("" if len(names) == len(set(names)) else " (repeats!)")
    rows.append(f"| {kind} | {in_35} | {first} | {gap} | {listed} | <= 2 messages, none lost |")
print(f"### {n} targets failing at once, default group_interval ({os.popen('date -u +%Y-%m-%d').read().strip()}, {os.cpu_count()} vCPU)")
print()
print("| notifier | messages in the first 35 s | first message after the first FAILURE | second after first | FAILUREs listed | bar |")
print("|---|---|---|---|---|---|")
print("\n".join(rows))
PY
# Failed attempts would hide behind the counts above: say so.
grep "not delivered" "$dir/s.log" | head -5 >&2 || true
