#!/usr/bin/env bash
# Builds target/debian/skypunch_<version>_<arch>.deb and lists and checks its contents.
#   packaging/build-deb.sh            (installs cargo-deb with cargo if it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
# The dist profile: thin LTO, no debug information, stripped binaries.
cargo build --profile dist --locked
bin=target/dist
mkdir -p target/package/completions
# The packaged configuration is the documented example with the checkout-relative
# paths removed, so the system defaults (/run/skypunch, /var/lib/skypunch, ...) apply.
grep -vE '^(socket|pid_file|database|log_file) *=' etc/skypunchd.toml > target/package/skypunchd.toml
$bin/skypunchd --check-config --config target/package/skypunchd.toml
$bin/skypunchctl completions bash > target/package/completions/skypunchctl
$bin/skypunchctl completions zsh > target/package/completions/_skypunchctl
$bin/skypunchctl completions fish > target/package/completions/skypunchctl.fish
deb=$(cargo deb --no-build --profile dist | tail -n 1)
echo "built $deb"
dpkg-deb --info "$deb"
contents=$(dpkg-deb --contents "$deb")
echo "$contents"
# Every file the package promises is in it.
for f in usr/bin/skypunchd usr/bin/skypunchctl usr/bin/skypunch-agent etc/skypunch/skypunchd.toml \
         etc/skypunch/agent.ini \
         usr/lib/systemd/system/skypunchd.service usr/lib/systemd/system/skypunch-agent.service \
         usr/share/man/man8/skypunchd.8.gz usr/share/man/man5/skypunchd.toml.5.gz \
         usr/share/man/man1/skypunchctl.1.gz etc/logrotate.d/skypunch \
         usr/share/bash-completion/completions/skypunchctl; do
  grep -q " \./$f\$" <<<"$contents" || { echo "missing from the package: $f" >&2; exit 1; }
done
if command -v lintian >/dev/null; then lintian --no-tag-display-limit "$deb" || true; fi
