# Sourced by scripts/cross.sh and scripts/release.sh: installs what the cross builds need
# when it is missing, then points cargo at Debian's toolchain.
#   Debian's rustc-web, cargo-web, rust-web-src and rust-web-clippy: Rust with its standard
#   library's source, for -Zbuild-std (the targets' standard libraries are built from it,
#   RUSTC_BOOTSTRAP=1); qemu-user-static and binfmt-support to run arm64 binaries; zig and
#   cargo-zigbuild from PyPI (a linker that knows FreeBSD's libc and musl); EXTRA_PACKAGES
#   as "command:package" pairs. Root.
# shellcheck shell=bash

need=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q '^rustc 1\.9' || need+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
[ -x /usr/bin/cargo-clippy ] || need+=(rust-web-clippy)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
for pair in ${EXTRA_PACKAGES:-}; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo-zigbuild >/dev/null || pip install -q ziglang cargo-zigbuild
hash -r

# The kernel runs arm64 binaries through qemu-user, as it would an arm64 container's.
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

# Debian's toolchain, not rustup's, for these builds only; native() runs a command with
# the machine's own toolchain (the tests).
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target/cross"
# shellcheck disable=SC2034 # used by the scripts that source this one
# std rebuilt without its `backtrace` feature: the symbolizer (gimli, addr2line, miniz;
# ~190 KB of the musl binary) could not name a frame of a stripped binary anyway; a panic
# still prints its message.
build_std=("-Zbuild-std=std,panic_abort" "-Zbuild-std-features=panic-unwind")
native() { env -u RUSTC -u CARGO -u CARGO_TARGET_DIR -u RUSTC_BOOTSTRAP PATH="$HOME/.cargo/bin:$PATH" "$@"; }
took() { echo "${0##*/}: $1 in $((SECONDS - $2)) s"; }
