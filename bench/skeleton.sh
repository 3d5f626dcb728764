#!/usr/bin/env bash
# Measures the daemon skeleton's bars on this machine, with the release build:
#   - `skypunchctl start`: fork, open the database, bind, report ready (30 runs)
#   - `skypunchctl status`: process start + connect + hello + request + print (500 runs),
#     beside `skypunchctl --version` (process start alone) for scale
#   - resident memory of the idle daemon after 5 s
# Needs hyperfine (apt-get install hyperfine). Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin skypunchd --bin skypunchctl
bin=$PWD/target/release
dir=$(mktemp -d)
trap '"$bin/skypunchctl" --config "$dir/c.toml" stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
cat > "$dir/c.toml" <<TOML
[daemon]
socket = "run/s.sock"
pid_file = "run/s.pid"
database = "lib/s.db"
log_file = "log/s.log"
[push]
listen = ""
TOML
ctl="$bin/skypunchctl --config $dir/c.toml"

hyperfine -N --runs 30 --prepare "sh -c '$ctl stop; true'" \
  --export-json "$dir/start.json" "$ctl start" >/dev/null 2>&1
$ctl stop >/dev/null 2>&1 || true
$ctl start >/dev/null
hyperfine -N --warmup 20 --runs 500 --export-json "$dir/status.json" \
  "$ctl status" "$bin/skypunchctl --version" >/dev/null 2>&1
sleep 5
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$(cat "$dir/run/s.pid")/status")

python3 - "$dir" "$rss_kb" <<'PY'
import json, sys
d, rss = sys.argv[1], int(sys.argv[2]) / 1024
def row(name, r, bar):
    t = sorted(x * 1000 for x in r["times"])
    p99 = t[min(len(t) - 1, int(0.99 * len(t)))]
    print(f"| {name} ({len(t)} runs) | {r['median']*1000:.2f} ms | {p99:.2f} ms | {t[-1]:.2f} ms | {bar} |")
start = json.load(open(f"{d}/start.json"))["results"][0]
status, version = json.load(open(f"{d}/status.json"))["results"]
print("| measure | median | p99 | max | bar |")
print("|---|---|---|---|---|")
row("`skypunchctl start`", start, "< 1000 ms")
row("`skypunchctl status`", status, "< 10 ms")
row("`skypunchctl --version` (process start alone)", version, "")
print(f"| idle daemon RSS (VmRSS after 5 s) | {rss:.1f} MB | | | < 15 MB |")
PY
