#!/usr/bin/env bash
# Watch benchmark: `upkeep scan` vs pgrep vs `ps | grep` (see bench/scan.py).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pgrep >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq procps >/dev/null; }
cargo build --release --quiet
python3 bench/scan.py "$PWD/target/release/upkeep"
