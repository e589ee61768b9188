#!/usr/bin/env bash
# Cross checks, run by CI: for x86_64-unknown-freebsd, cargo check of every target of the
# project (tests and benches included) and clippy, since the FreeBSD code paths are not
# compiled by a Linux build. The cross release binaries (FreeBSD, x86_64 and arm64 musl)
# are built by scripts/release.sh and checked by scripts/check-release.sh. Installs what
# it needs when missing (scripts/toolchain.sh). Root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh

t=$SECONDS
cargo check --quiet --target x86_64-unknown-freebsd "${build_std[@]}" --all-targets
took "FreeBSD: check of every target" $t
t=$SECONDS
cargo clippy --quiet --target x86_64-unknown-freebsd "${build_std[@]}" --all-targets -- -D warnings
took "FreeBSD: clippy" $t
