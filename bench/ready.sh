#!/usr/bin/env bash
# Readiness benchmark: builds upkeep (release) and the helper programs, installs s6 (and the
# other peers) from Debian's packages when missing, and prints the table (see bench/ready.py).
# Root. Takes about two minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peers.sh
python3 bench/ready.py "$PWD/target/release/upkeep" "$PWD/target/bench/stamp" \
  "$PWD/target/bench/readyd" "$PWD/target/bench/ideal_ready"
