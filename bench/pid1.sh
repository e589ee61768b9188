#!/usr/bin/env bash
# PID-1 benchmark: builds upkeep (release, static), installs the peers from Debian's packages
# when missing, and prints the table (see bench/pid1.py). Needs root (PID namespaces, apt).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/bin/tini-static ] || need+=(tini)
[ -x /usr/bin/dumb-init ] || need+=(dumb-init)
[ -x /usr/bin/catatonit ] || need+=(catatonit)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet
mkdir -p target/bench
gcc -O2 -static -o target/bench/ideal_init bench/ideal_init.c
python3 bench/pid1.py "$PWD/target/release/upkeep"
