#!/usr/bin/env bash
# Checks the artifacts of scripts/release.sh as a user would use them, run by CI:
#   scripts/check-release.sh [OUTDIR]   (default dist/; root; run scripts/release.sh first)
# sha256sum -c; each tarball's members, its binary static and run (arm64 through qemu-user
# and binfmt_misc), the single-command tests against the musl binaries; each .deb
# unpacked with dpkg -x and run, and lintian; each image loaded into a fresh podman store,
# run, and copied from by a build (COPY --from=); containers/multiarch built from the
# tarballs' binaries; then, unless RELEASE_REPRO=0, the x86_64 artifacts rebuilt from a
# clean clone at another path and compared byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
dist=$(cd "${1:-dist}" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
EXTRA_PACKAGES="podman:podman runc:runc lintian:lintian readelf:binutils" . scripts/toolchain.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' > "$work/containers.conf"
pod() { CONTAINERS_CONF="$work/containers.conf" podman --runtime runc --root "$work/store" --runroot "$work/run" "$@"; }

passed=0 failed=0
# check WHAT COMMAND...: runs COMMAND quietly and counts it; its output is shown on failure.
check() {
  local what=$1 log=$work/log
  shift
  if "$@" > "$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok: $what"
  else
    failed=$((failed + 1))
    echo "FAILED: $what" >&2
    sed 's/^/  /' "$log" >&2
  fi
}

# says BINARY TARGET: --version names the version and TARGET.
says() { "$1" --version | tee /dev/stderr | grep -q "^upkeep $version ($2, commit [0-9a-f]\{12\})\$"; }
static() { ! readelf -l "$1" | grep -q INTERP; }
members() {
  diff <(tar tzf "$1") <(printf '%s/\n' "$2"; printf "$2/%s\n" LICENSE README.md upkeep upkeep.8 upkeep.toml)
}
small() { [ "$(stat -c %s "$1")" -lt 1000000 ]; }

check "sha256sum -c SHA256SUMS ($(wc -l < "$dist/SHA256SUMS") files)" sh -c "cd '$dist' && sha256sum -c SHA256SUMS"

declare -A bins
for tarball in "$dist"/upkeep-"$version"-*.tar.gz; do
  name=$(basename "$tarball" .tar.gz)
  target=${name#"upkeep-$version-"}
  bin=$work/$name/upkeep
  check "$name.tar.gz: members" members "$tarball" "$name"
  tar -C "$work" -xzf "$tarball"
  bins[$target]=$bin
  case $target in
    *-linux-*)
      check "$target: static" static "$bin"
      check "$target: --version" says "$bin" "$target"
      ;;
    *-freebsd)
      # FreeBSD's kernel knows its binaries by the FreeBSD note and its ld-elf.so.1.
      check "$target: a FreeBSD executable" sh -c "readelf -n '$bin' | grep -q '^ *FreeBSD ' \
        && readelf -l '$bin' | grep -q 'interpreter: /libexec/ld-elf.so.1'"
      ;;
  esac
done
musl=${bins[x86_64-unknown-linux-musl]:-}
arm=${bins[aarch64-unknown-linux-musl]:-}
[ -z "$musl" ] || check "x86_64 musl: under 1.0 MB ($(stat -c %s "$musl") bytes)" small "$musl"

# The single-command tests against the binaries users get; the arm64 one under qemu-user.
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  [ -n "${bins[$target]:-}" ] || continue
  t=$SECONDS
  check "$target: single-command tests" native env UPKEEP_TEST_BIN="${bins[$target]}" \
    UPKEEP_TEST_TARGET="$target" cargo test --quiet --test single_command
  took "$target: single-command tests" $t
done

for deb in "$dist"/upkeep_"$version"-1_*.deb; do
  [ -e "$deb" ] || continue
  arch=$(dpkg-deb -f "$deb" Architecture)
  case $arch in amd64) target=x86_64-unknown-linux-musl ;; *) target=aarch64-unknown-linux-musl ;; esac
  root=$work/deb-$arch
  dpkg -x "$deb" "$root"
  check "$(basename "$deb"): dpkg -x, then usr/sbin/upkeep --version" says "$root/usr/sbin/upkeep" "$target"
  check "$(basename "$deb"): man page, example, copyright, changelog, unit" test -s "$root/usr/share/man/man8/upkeep.8.gz" \
    -a -s "$root/usr/share/doc/upkeep/examples/upkeep.toml" -a -s "$root/usr/share/doc/upkeep/copyright" \
    -a -s "$root/usr/share/doc/upkeep/changelog.Debian.gz" -a -s "$root/lib/systemd/system/upkeep.service"
  # lintian prints warnings too; an error (E:) fails.
  check "$(basename "$deb"): lintian, no error" sh -c "lintian '$deb' 2>&1 | tee /dev/stderr | { ! grep -q '^E:'; }"
done

# The image: only /upkeep in its one layer; loaded, run, and copied from in a build.
layers() {
  python3 - "$1" <<'PY'
import io, json, sys, tarfile
with tarfile.open(sys.argv[1]) as oci:
    blob = lambda d: oci.extractfile("./blobs/" + d.replace(":", "/")).read()
    index = json.loads(oci.extractfile("./index.json").read())
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as t:
            print("\n".join(t.getnames()))
PY
}
for image in "$dist"/upkeep-"$version"-image-*.tar; do
  [ -e "$image" ] || continue
  arch=${image%.tar}
  arch=${arch##*-}
  case $arch in amd64) target=x86_64-unknown-linux-musl ;; *) target=aarch64-unknown-linux-musl ;; esac
  check "image $arch: holds only upkeep" test "$(layers "$image")" = upkeep
  check "image $arch: podman load" pod load -q -i "$image"
  check "image $arch: podman run upkeep:$version --version" \
    sh -c "CONTAINERS_CONF='$work/containers.conf' podman --runtime runc --root '$work/store' --runroot '$work/run' \
      run --rm --platform linux/$arch upkeep:$version --version | grep -q '($target, '"
  ctx=$work/copy-$arch
  mkdir -p "$ctx"
  printf 'FROM scratch\nCOPY --from=upkeep:%s /upkeep /sbin/upkeep\nENTRYPOINT ["/sbin/upkeep", "--"]\nCMD ["/sbin/upkeep", "--version"]\n' \
    "$version" > "$ctx/Containerfile"
  check "image $arch: a build with COPY --from=upkeep:$version" \
    pod build -q --platform "linux/$arch" -t "localhost/copied:$arch" "$ctx"
  check "image $arch: upkeep -- upkeep --version in the built image" \
    sh -c "CONTAINERS_CONF='$work/containers.conf' podman --runtime runc --root '$work/store' --runroot '$work/run' \
      run --rm --platform linux/$arch localhost/copied:$arch | grep -q '($target, '"
  # The runtime's init from the host: podman bind-mounts it as PID 1, tini's way.
  [ "$arch" != amd64 ] || [ -z "$musl" ] || check "image $arch: podman run --init --init-path (the tarball's upkeep)" \
    sh -c "CONTAINERS_CONF='$work/containers.conf' podman --runtime runc --root '$work/store' --runroot '$work/run' \
      run --rm --init --init-path '$musl' localhost/copied:$arch /sbin/upkeep --version | grep -q '($target, '"
  pod rmi -a -f >/dev/null
done

# containers/multiarch/Containerfile with the tarballs' binaries: each arch prints the
# version, and a missing command exits 127.
if [ -n "$musl" ] && [ -n "$arm" ]; then
  t=$SECONDS
  ctx=$work/multiarch
  mkdir -p "$ctx"
  cp containers/multiarch/Containerfile "$ctx/"
  cp "$arm" "$ctx/upkeep-arm64"
  cp "$musl" "$ctx/upkeep-amd64"
  missing() {
    local code=0
    pod run --rm --platform "linux/$1" "localhost/upkeep-multiarch:$1" /nonexistent || code=$?
    [ "$code" -eq 127 ]
  }
  for arch in arm64 amd64; do
    check "containers/multiarch, $arch: build" pod build -q --platform "linux/$arch" -t "localhost/upkeep-multiarch:$arch" "$ctx"
    check "containers/multiarch, $arch: prints the version" \
      sh -c "CONTAINERS_CONF='$work/containers.conf' podman --runtime runc --root '$work/store' --runroot '$work/run' \
        run --rm --platform linux/$arch localhost/upkeep-multiarch:$arch | grep -q '^upkeep $version '"
    check "containers/multiarch, $arch: a missing command exits 127" missing "$arch"
  done
  took "multi-arch image: built and run for arm64 and amd64" $t
fi

# Reproducible: the x86_64 artifacts again from a clean clone of this commit at another
# path (two clones when this tree has uncommitted changes, which dist/ then holds).
same() { cmp "$1" "$2"; }
if [ "${RELEASE_REPRO:-1}" != 0 ] && [ -n "$musl" ]; then
  t=$SECONDS
  commit=$(git rev-parse HEAD)
  ref=$dist
  clones=(a)
  [ -z "$(git status --porcelain --untracked-files=no)" ] || clones=(a b)
  for c in "${clones[@]}"; do
    git clone -q --no-checkout "$PWD" "$work/clone-$c/upkeep"
    git -C "$work/clone-$c/upkeep" checkout -q --detach "$commit"
    RELEASE_TARGETS=x86_64-unknown-linux-musl "$work/clone-$c/upkeep/scripts/release.sh" "$work/out-$c" >/dev/null
    [ "$c" = a ] || ref=$work/out-a
  done
  other=$work/out-${clones[-1]}
  for f in "upkeep-$version-x86_64-unknown-linux-musl.tar.gz" "upkeep_$version-1_amd64.deb" "upkeep-$version-image-amd64.tar"; do
    check "reproducible: $f" same "$ref/$f" "$other/$f"
  done
  took "reproducibility: ${#clones[@]} clean clone(s) built" $t
fi

echo "release checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
