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
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v setsid >/dev/null || need+=(util-linux)
# `upkeep import` is tested on the sample config supervisord itself prints.
command -v echo_supervisord_conf >/dev/null || need+=(supervisor)
# The container tests (tests/containers.rs): podman with runc, images from busybox-static.
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[ -x /bin/busybox ] || need+=(busybox-static)
# The webstack example's test builds its Debian base image with debootstrap when podman
# has none (no image registry is reachable from these machines; Debian's mirror is).
command -v debootstrap >/dev/null || need+=(debootstrap)
# The HTTP endpoint's test (tests/http.rs): a real Prometheus server and promtool.
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
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

# The release binary (LTO, static) is what users run and the tests above do not: a service
# with a `directory` (posix_spawn's chdir action) must start and say where it is.
cargo build --release --quiet
smoke=$(mktemp -d)
printf '[service.smoke]\ncommand = ["sh", "-c", "pwd"]\ndirectory = "%s"\nrestart = "never"\ncritical = true\n' \
  "$smoke" > "$smoke/upkeep.toml"
if out=$(UPKEEP_SOCKET="$smoke/sock" timeout 20 target/release/upkeep -c "$smoke/upkeep.toml" 2>&1) \
  && grep -q "smoke: $smoke\$" <<<"$out"; then
  echo "release smoke test: 1 passed, 0 failed"
else
  echo "release smoke test failed:" >&2
  echo "$out" >&2
  exit 1
fi
rm -rf "$smoke"
