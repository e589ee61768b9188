#!/usr/bin/env bash
# Fuzzes the config parser and the control protocol with cargo-fuzz (libFuzzer): each target
# for FUZZ_SECONDS (default 600), from the seeds in fuzz/seeds/ plus what earlier runs found
# (fuzz/corpus/, not committed). Installs cargo-fuzz when missing. The machine's stable Rust
# is enough: RUSTC_BOOTSTRAP=1 lets it take the sanitizer flags cargo-fuzz passes.
# A crash leaves its input in fuzz/artifacts/TARGET/; make it a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
seconds="${FUZZ_SECONDS:-600}"
for target in "${@:-config protocol}"; do
  for t in $target; do
    mkdir -p "corpus/$t"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1 2>&1 | tail -n 25
  done
done
