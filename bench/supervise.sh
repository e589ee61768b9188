#!/usr/bin/env bash
# Supervision benchmark: builds upkeep (release) and the stamp service, installs runit, s6,
# daemontools and supervisor from Debian's packages when missing, and prints the table
# (see bench/supervise.py). Root. Takes about 10 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peers.sh
python3 bench/supervise.py "$PWD/target/release/upkeep" "$PWD/target/bench/stamp"
