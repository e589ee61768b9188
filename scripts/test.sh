#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need when it is missing
# (Debian packages; run as root), then runs the unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v unshare >/dev/null || need+=(util-linux)
command -v script >/dev/null || need+=(bsdutils)
command -v ps >/dev/null || need+=(procps)
command -v python3 >/dev/null || need+=(python3)
command -v prlimit >/dev/null || need+=(util-linux)
command -v mandoc >/dev/null || need+=(mandoc)
command -v setsid >/dev/null || need+=(util-linux)
# The container tests (tests/containers.rs): podman with runc, images from busybox-static.
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[ -x /bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test.sh: missing ${need[*]}; install them (as root) and run again" >&2
    exit 1
  fi
fi

cargo test --all-targets "$@"
