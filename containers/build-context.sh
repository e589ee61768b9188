#!/bin/sh
# Fills DIR with a build context for the Containerfiles here: the static upkeep binary
# (UPKEEP, default the x86_64 musl release build of scripts/release.sh; or the `upkeep` of
# the release tarball), Debian's static busybox, and this directory.
set -eu
dir=${1:?usage: build-context.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
upkeep=${UPKEEP:-$here/../target/cross/x86_64-unknown-linux-musl/release/upkeep}
busybox=${BUSYBOX:-/bin/busybox}
mkdir -p "$dir"
cp -R "$here/." "$dir/"
cp "$upkeep" "$dir/upkeep"
cp "$busybox" "$dir/busybox"
