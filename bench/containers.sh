#!/usr/bin/env bash
# Container benchmark: podman stop time and run-to-exit time with upkeep, tini and a bare
# command as PID 1, same image otherwise (FROM scratch: busybox-static, tini-static, upkeep).
# Installs podman, runc, busybox-static and tini from Debian's packages when missing. Root.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[ -x /bin/busybox ] || need+=(busybox-static)
[ -x /usr/bin/tini-static ] || need+=(tini)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet
conf=$(mktemp); ctx=$(mktemp -d)
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' > "$conf"
export CONTAINERS_CONF=$conf
cp target/release/upkeep /bin/busybox /usr/bin/tini-static "$ctx/"
cat > "$ctx/Containerfile" <<'CF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY upkeep /sbin/upkeep
COPY tini-static /sbin/tini
CF
podman --runtime runc build -q -t localhost/upkeep-bench "$ctx" >/dev/null
python3 bench/containers.py localhost/upkeep-bench
rm -rf "$ctx" "$conf"
