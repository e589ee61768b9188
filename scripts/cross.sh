#!/usr/bin/env bash
# Cross builds and checks, run by CI:
#   x86_64-unknown-freebsd:     cargo check of every target, clippy, and a linked release binary
#   x86_64-unknown-linux-musl:  a static release binary about half the size of the glibc one,
#                               the single-command tests run against it
#   aarch64-unknown-linux-musl: a static release binary, whose single-command tests then run
#                               here under qemu-user (the kernel runs it through binfmt_misc)
# Installs what it needs when missing: Debian's rustc-web, cargo-web, rust-web-src and
# rust-web-clippy (Rust with its standard library's source, for -Zbuild-std: the targets'
# standard libraries are built from it, RUSTC_BOOTSTRAP=1), qemu-user-static and
# binfmt-support; zig and cargo-zigbuild from PyPI (a linker that knows FreeBSD's libc and
# musl). Outputs: target/cross/TARGET/release/upkeep. Root.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q '^rustc 1\.9' || need+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
[ -x /usr/bin/cargo-clippy ] || need+=(rust-web-clippy)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo-zigbuild >/dev/null || pip install -q ziglang cargo-zigbuild
hash -r

# Debian's toolchain, not rustup's, for these builds only.
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target/cross"
build_std=(-Zbuild-std=std,panic_abort)
took() { echo "cross: $1 in $((SECONDS - $2)) s"; }

t=$SECONDS
cargo check --quiet --target x86_64-unknown-freebsd "${build_std[@]}" --all-targets
took "FreeBSD: check of every target" $t
t=$SECONDS
cargo clippy --quiet --target x86_64-unknown-freebsd "${build_std[@]}" --all-targets -- -D warnings
took "FreeBSD: clippy" $t
t=$SECONDS
cargo-zigbuild build --quiet --release --target x86_64-unknown-freebsd "${build_std[@]}"
took "FreeBSD: release binary ($(stat -c %s target/cross/x86_64-unknown-freebsd/release/upkeep) bytes)" $t
t=$SECONDS
RUSTFLAGS="-C link-self-contained=no" cargo-zigbuild build --quiet --release \
  --target aarch64-unknown-linux-musl "${build_std[@]}"
arm=target/cross/aarch64-unknown-linux-musl/release/upkeep
took "arm64: static release binary ($(stat -c %s $arm) bytes)" $t
t=$SECONDS
RUSTFLAGS="-C link-self-contained=no" cargo-zigbuild build --quiet --release \
  --target x86_64-unknown-linux-musl "${build_std[@]}"
musl=target/cross/x86_64-unknown-linux-musl/release/upkeep
took "x86_64 musl: static release binary ($(stat -c %s $musl) bytes)" $t

# The kernel runs arm64 binaries through qemu-user, as it would an arm64 container's.
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
t=$SECONDS
env -u RUSTC -u CARGO -u CARGO_TARGET_DIR -u RUSTC_BOOTSTRAP PATH="$HOME/.cargo/bin:$PATH" \
  UPKEEP_TEST_BIN="$PWD/$arm" cargo test --quiet --test single_command
took "arm64: single-command tests under qemu-user" $t

# The small x86_64 build runs natively: every single-command and service test against it.
t=$SECONDS
env -u RUSTC -u CARGO -u CARGO_TARGET_DIR -u RUSTC_BOOTSTRAP PATH="$HOME/.cargo/bin:$PATH" \
  UPKEEP_TEST_BIN="$PWD/$musl" cargo test --quiet --test single_command
took "x86_64 musl: single-command tests" $t

# A multi-arch image: containers/multiarch/Containerfile, built and run for both platforms.
t=$SECONDS
native() { env -u RUSTC -u CARGO -u CARGO_TARGET_DIR -u RUSTC_BOOTSTRAP PATH="$HOME/.cargo/bin:$PATH" "$@"; }
native cargo build --release --quiet
ctx=$(mktemp -d)
conf=$(mktemp)
cp containers/multiarch/Containerfile "$ctx/"
cp "$arm" "$ctx/upkeep-arm64"
cp target/release/upkeep "$ctx/upkeep-amd64"
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' > "$conf"
pod() { CONTAINERS_CONF="$conf" podman --runtime runc "$@"; }
version="upkeep $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
for arch in arm64 amd64; do
  pod build --quiet --platform "linux/$arch" -t "localhost/upkeep-multiarch:$arch" "$ctx" >/dev/null
  got=$(pod run --rm --platform "linux/$arch" "localhost/upkeep-multiarch:$arch")
  [ "${got%% (*}" = "$version" ] || { echo "cross: the $arch image said: $got" >&2; exit 1; }
  set +e
  pod run --rm --platform "linux/$arch" "localhost/upkeep-multiarch:$arch" /nonexistent 2>/dev/null
  code=$?
  set -e
  [ "$code" -eq 127 ] || { echo "cross: $arch: a missing command gave $code, not 127" >&2; exit 1; }
done
rm -rf "$ctx" "$conf"
took "multi-arch image: built and run for arm64 and amd64" $t
