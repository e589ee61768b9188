#!/usr/bin/env bash
# Control benchmark: status command round trips against runit, s6, daemontools and
# supervisorctl, and restart latency under a flooded control socket (see bench/control.py).
# Installs the peers from Debian's packages when missing. Root. About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peers.sh
python3 bench/control.py "$PWD/target/release/upkeep" "$PWD/target/bench/stamp"
