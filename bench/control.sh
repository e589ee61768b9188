#!/usr/bin/env bash
# Control benchmark: status command round trips against runit, s6, daemontools and
# supervisorctl, and restart latency under a flooded control socket (see bench/control.py).
# Installs the peers from Debian's packages when missing. Root. About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v runsvdir >/dev/null || need+=(runit)
command -v s6-svscan >/dev/null || need+=(s6)
command -v svscan >/dev/null || need+=(daemontools)
command -v supervisord >/dev/null || need+=(supervisor)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet
mkdir -p target/bench
gcc -O2 -o target/bench/stamp bench/stamp.c
python3 bench/control.py "$PWD/target/release/upkeep" "$PWD/target/bench/stamp"
