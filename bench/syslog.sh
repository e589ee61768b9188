#!/usr/bin/env bash
# Syslog relay benchmark: builds upkeep (release), the floor listener and the sender; installs
# socklog, rsyslog and busybox from Debian's packages when missing; prints the table (see
# bench/syslog.py). Root (busybox syslogd only listens on /dev/log: it runs in a mount
# namespace of its own, with a /dev of its own). About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v socklog >/dev/null || need+=(socklog)
command -v rsyslogd >/dev/null || need+=(rsyslog)
command -v busybox >/dev/null || need+=(busybox)
command -v unshare >/dev/null || need+=(util-linux)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet
mkdir -p target/bench
gcc -O2 -Wall -o target/bench/syslog_floor bench/syslog_floor.c
gcc -O2 -Wall -o target/bench/syslog_sender bench/syslog_sender.c
python3 bench/syslog.py "$PWD/target/release/upkeep" "$PWD/target/bench/syslog_floor" \
  "$PWD/target/bench/syslog_sender"
