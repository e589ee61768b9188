#!/usr/bin/env bash
# Release artifacts: scripts/release.sh [OUTDIR] (default dist/), as root on Debian.
#   upkeep-VERSION-TARGET.tar.gz    upkeep, upkeep.8, LICENSE, README.md, upkeep.toml
#   upkeep_VERSION-1_ARCH.deb       amd64 and arm64 (the musl binaries)
#   upkeep-VERSION-image-ARCH.tar   OCI archive of a FROM scratch image holding /upkeep
#   SHA256SUMS                      over every file above
# RELEASE_TARGETS (space-separated) limits the targets (default: x86_64-unknown-linux-musl
# aarch64-unknown-linux-musl x86_64-unknown-freebsd). Binaries stay in
# target/cross/TARGET/release/upkeep. Installs what it lacks (scripts/toolchain.sh).
#
# Reproducible: two clones of one commit at different paths give byte-identical tarballs
# and .debs. SOURCE_DATE_EPOCH is the commit's time; the checkout's path and cargo's home
# are remapped in the binary; archives have sorted members, owner root, fixed modes and
# times, and gzip -n keeps no name or time.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
out=${1:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
targets=${RELEASE_TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-unknown-freebsd}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

EXTRA_PACKAGES="podman:podman runc:runc" . scripts/toolchain.sh

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || stat -c %Y Cargo.toml)}
export SOURCE_DATE_EPOCH
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] ||
  echo "release.sh: warning: uncommitted changes; this build is not the commit's" >&2
remap="--remap-path-prefix=$PWD=/build/upkeep-$version --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"

stage=$(mktemp -d)
conf=$stage/containers.conf
storage=$stage/storage
trap 'rm -rf "$stage"' EXIT
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' > "$conf"
# A throwaway image store: the release neither reads nor leaves images on this machine.
pod() { CONTAINERS_CONF="$conf" podman --runtime runc --root "$storage/root" --runroot "$storage/run" "$@"; }

# tar.gz of DIR (under the staging dir) as FILE, byte-for-byte the same on every run.
pack() {
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    --format=ustar -C "$stage" -cf - "$1" | gzip -9n > "$2"
}

# The Debian package of BINARY for ARCH.
deb() {
  local bin=$1 arch=$2 root=$stage/deb-$2 doc
  doc=$root/usr/share/doc/upkeep
  install -D -m 755 "$bin" "$root/usr/sbin/upkeep"
  install -d "$root/usr/share/man/man8" "$doc/examples" "$root/DEBIAN"
  gzip -9n < man/upkeep.8 > "$root/usr/share/man/man8/upkeep.8.gz"
  install -m 644 etc/upkeep.toml "$doc/examples/upkeep.toml"
  install -m 644 packaging/debian/copyright "$doc/copyright"
  install -D -m 644 packaging/debian/upkeep.service "$root/lib/systemd/system/upkeep.service"
  install -D -m 644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/upkeep"
  # The changelog entry of this build: its version and the commit's date.
  {
    printf 'upkeep (%s-1) unstable; urgency=medium\n\n' "$version"
    printf '  * Release %s, built from commit %s.\n\n' "$version" "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
  } | gzip -9n > "$doc/changelog.Debian.gz"
  chmod 644 "$root/usr/share/man/man8/upkeep.8.gz" "$doc/changelog.Debian.gz"
  cat > "$root/DEBIAN/control" <<CONTROL
Package: upkeep
Version: $version-1
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -s -k --apparent-size --exclude=DEBIAN "$root" | cut -f1)
Section: admin
Priority: optional
Description: small static init, process supervisor and watchdog
 upkeep keeps services running. One static binary that is PID 1 of a
 container (a drop-in for tini: it reaps zombies, forwards signals and exits
 with the command's status), a supervisor of several daemons (restarts with
 backoff, readiness and health checks, labelled output, a control socket) and
 a watchdog that restarts daemons it did not start, found by name.
 .
 This package holds the binary, statically linked with musl, its manual page,
 an example configuration and a systemd unit for /etc/upkeep.toml.
CONTROL
  (cd "$root" && find usr lib -type f | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums)
  chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
  find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out/upkeep_${version}-1_$arch.deb" >/dev/null
}

# The OCI archive of a FROM scratch image holding only /upkeep, for ARCH.
image() {
  local bin=$1 arch=$2 ctx=$stage/image-$2
  mkdir -p "$ctx"
  install -m 755 "$bin" "$ctx/upkeep"
  printf 'FROM scratch\nCOPY upkeep /upkeep\nENTRYPOINT ["/upkeep"]\n' > "$ctx/Containerfile"
  pod build --quiet --platform "linux/$arch" --timestamp "$SOURCE_DATE_EPOCH" \
    -t "localhost/upkeep:$version" "$ctx" >/dev/null
  pod save --quiet --format oci-dir -o "$ctx/oci" "localhost/upkeep:$version"
  pod rmi --force "localhost/upkeep:$version" >/dev/null
  # podman names it localhost/upkeep:VERSION; Docker reads its name for an image from
  # io.containerd.image.name, where upkeep:VERSION is docker.io/library/upkeep:VERSION.
  python3 - "$ctx/oci/index.json" "docker.io/library/upkeep:$version" <<'PY'
import json, sys
path, name = sys.argv[1:]
with open(path) as f:
    index = json.load(f)
for m in index["manifests"]:
    m.setdefault("annotations", {})["io.containerd.image.name"] = name
with open(path, "w") as f:
    json.dump(index, f, separators=(",", ":"), sort_keys=True)
PY
  # An OCI archive is a tar of that layout; podman's own tar has the time of the save.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    --format=ustar -C "$ctx/oci" -cf "$out/upkeep-$version-image-$arch.tar" .
}

maintainer=${DEB_MAINTAINER:-the upkeep authors <upkeep@upkeep.invalid>}
for target in $targets; do
  t=$SECONDS
  flags=$remap
  case $target in
    *-linux-musl) flags="$flags -C link-self-contained=no" ;;
  esac
  RUSTFLAGS=$flags cargo-zigbuild build --quiet --release --target "$target" "${build_std[@]}"
  bin=$CARGO_TARGET_DIR/$target/release/upkeep
  name=upkeep-$version-$target
  mkdir "$stage/$name"
  install -m 755 "$bin" "$stage/$name/upkeep"
  install -m 644 man/upkeep.8 LICENSE README.md etc/upkeep.toml "$stage/$name/"
  pack "$name" "$out/$name.tar.gz"
  case $target in
    x86_64-unknown-linux-musl) arch=amd64 ;;
    aarch64-unknown-linux-musl) arch=arm64 ;;
    *) arch= ;;
  esac
  if [ -n "$arch" ]; then
    deb "$bin" "$arch"
    image "$bin" "$arch"
  fi
  took "$target ($(stat -c %s "$bin") bytes)${arch:+, .deb and image for $arch}" $t
done

# Every artifact in OUTDIR, whatever an earlier run with other targets left there.
(cd "$out" && find . -maxdepth 1 -type f \( -name '*.tar.gz' -o -name '*.deb' -o -name '*.tar' \) \
  -printf '%f\n' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "release.sh: $(wc -l < "$out/SHA256SUMS") artifacts in $out"
