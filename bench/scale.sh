#!/usr/bin/env bash
# 100,000 targets from the configuration file, checked every 10 s against nginx on
# loopback (a new connection per check, the default): the daemon's memory, and how fast
# skypunchctl answers beside it.
#
#   [FREQ=10] bench/scale.sh [TARGETS] [SECONDS]   (defaults: 100000 60)
#
# FREQ sets the targets' frequency: the default 10 s saturates two cores; a long one
# (FREQ=3600) measures skypunchctl beside a daemon that is not busy.
#
# Measured after the targets have run for SECONDS:
#   - skypunchd's RSS (VmRSS) and peak (VmHWM), and its CPU over the window
#   - `skypunchctl targets 1` and `skypunchctl targets` (the whole table) with hyperfine
#
# Needs: nginx (nginx-light), hyperfine, python3. Prints a Markdown section.
set -euo pipefail
N=${1:-100000}
SECS=${2:-60}
FREQ=${FREQ:-10}
cd "$(dirname "$0")/.."
. bench/nginx.sh
. bench/lib.sh
bench_setup
hz=$(getconf CLK_TCK)

nginx_ok "$dir" 18181 18182

daemon_config
cat >> "$dir/c.toml" <<TOML
log_level = "warn"

[push]
listen = ""

TOML
python3 - "$dir/c.toml" "$N" "$FREQ" <<'PY'
import sys
path, n, freq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "a") as f:
    for i in range(n):
        f.write(f'[[target]]\nname = "t{i}"\nurl = "http://127.0.0.1:{18181 + i % 2}/t/{i}"\n'
                f'frequency = {freq}\ntimeout = 5\n\n')
PY
size=$(stat -c %s "$dir/c.toml")
ctl start >/dev/null
pid=$(cat "$dir/run/s.pid")
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep 10
c0=$(cpu "$pid"); t0=$(date +%s%3N)
sleep "$SECS"
c1=$(cpu "$pid"); t1=$(date +%s%3N)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
checks=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT sum(pass_count + fail_count) FROM targets').fetchone()[0])" "$dir/s.db")
hyperfine -N --warmup 3 --runs 30 --export-json "$dir/one.json" "$bin/skypunchctl --config $dir/c.toml targets 1" > "$dir/hf1.txt" 2>&1 || { cat "$dir/hf1.txt" >&2; exit 1; }
hyperfine -N --warmup 1 --runs 10 --export-json "$dir/all.json" "$bin/skypunchctl --config $dir/c.toml targets" > "$dir/hf2.txt" 2>&1 || { cat "$dir/hf2.txt" >&2; exit 1; }
python3 - "$dir" "$N" "$SECS" "$size" "$rss" "$hwm" "$c0" "$c1" "$t0" "$t1" "$hz" "$checks" "$FREQ" <<'PY'
import json, sys
d, n, secs, size, rss, hwm, c0, c1, t0, t1, hz, checks = sys.argv[1:13]
n, hz = int(n), int(hz)
window = (int(t1) - int(t0)) / 1000
cores = (int(c1) - int(c0)) / hz / window
one = json.load(open(f"{d}/one.json"))["results"][0]
every = json.load(open(f"{d}/all.json"))["results"][0]
print("| measure | value | bar |")
print("|---|---|---|")
print(f"| configuration file | {n} targets at {sys.argv[13]} s, {int(size) / 2**20:.1f} MB | |")
print(f"| checks done (since start) | {checks} | |")
print(f"| skypunchd CPU over {window:.0f} s | {cores:.2f} cores | |")
print(f"| skypunchd RSS / peak RSS | {int(rss) / 1024:.0f} / {int(hwm) / 1024:.0f} MB | <= 250 MB |")
print(f"| `skypunchctl targets 1` median / max | {one['median'] * 1000:.1f} / {max(one['times']) * 1000:.1f} ms | <= 20 ms |")
print(f"| `skypunchctl targets` ({n} rows) median / max | {every['median'] * 1000:.0f} / {max(every['times']) * 1000:.0f} ms | <= 500 ms |")
PY
