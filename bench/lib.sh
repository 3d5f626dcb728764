# Sourced by the benchmarks: the release build, a scratch directory with a daemon's
# configuration and `ctl`, a free port, and the cleanup every benchmark needs (the
# daemon stopped, nginx and helper processes killed, the directory removed).
#
#   . bench/lib.sh; bench_setup        then: daemon_config >> ...; ctl start
#
# BIN=<directory> runs the skypunchd and skypunchctl found there instead of building,
# to compare two builds in the same period.
# Arguments are more cargo targets to build (`--example history_gen`).
bench_setup() {
  if [ -n "${BIN:-}" ]; then
    bin=$BIN
  else
    cargo build --release --quiet --bin skypunchd --bin skypunchctl "$@"
    bin=$PWD/target/release
  fi
  dir=$(mktemp -d)
  bench_pids=""
  trap bench_cleanup EXIT
}

ctl() { "$bin/skypunchctl" --config "$dir/c.toml" "$@"; }

bench_cleanup() {
  ctl stop >/dev/null 2>&1 || true
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  for pid in $bench_pids; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}

# A TCP port on 127.0.0.1 nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The [daemon] section every benchmark's daemon runs with, files in the scratch
# directory; the caller appends the rest.
daemon_config() {
  cat > "$dir/c.toml" <<TOML
[daemon]
socket = "run/s.sock"
pid_file = "run/s.pid"
database = "s.db"
log_file = "s.log"
TOML
}
