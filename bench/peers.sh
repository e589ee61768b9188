# Sourced by bench/supervise.sh and bench/control.sh: installs runit, s6, daemontools and
# supervisor from Debian's packages when missing, builds upkeep (release) and the stamp service.
need=()
command -v runsvdir >/dev/null || need+=(runit)
command -v s6-svscan >/dev/null || need+=(s6)
command -v svscan >/dev/null || need+=(daemontools)
command -v supervisord >/dev/null || need+=(supervisor)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet
mkdir -p target/bench
gcc -O2 -o target/bench/stamp bench/stamp.c
gcc -O2 -o target/bench/ideal bench/ideal.c
gcc -O2 -o target/bench/ideal_ready bench/ideal_ready.c
gcc -O2 -o target/bench/readyd bench/readyd.c
