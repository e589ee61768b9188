#!/usr/bin/env bash
# Service output benchmark: builds upkeep (release), the stamp service and the line
# generator; installs s6 (s6-log), runit (svlogd) and daemontools (multilog) from Debian's
# packages when missing; prints the tables (see bench/output.py). Root. About 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peers.sh
gcc -O2 -o target/bench/lines bench/lines.c
python3 bench/output.py "$PWD/target/release/upkeep" "$PWD/target/bench/lines" "$PWD/target/bench/stamp"
