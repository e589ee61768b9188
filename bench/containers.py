"""podman stop and run-to-exit times, upkeep vs tini vs a bare command as PID 1.

stop: `podman run -d IMAGE INIT sleep 1000`, then the wall time of `podman stop -t 10`
      (-t 2 for the bare sleep, which ignores SIGTERM as PID 1) and the exit code;
run:  wall time of `podman run --rm IMAGE INIT true`: start-up to exit, init overhead
      included.
Usage: python3 bench/containers.py IMAGE (CONTAINERS_CONF set, root).
"""
import statistics
import subprocess
import sys
import time

IMAGE = sys.argv[1]
RUNS = 10
INITS = {
    "upkeep": ["/sbin/upkeep", "--"],
    "tini": ["/sbin/tini", "--"],
    "bare": [],
}
P = ["podman", "--runtime", "runc"]


def sh(args):
    return subprocess.run(P + args, capture_output=True, text=True)


def bench_stop(init):
    times, codes = [], set()
    for i in range(RUNS if init != "bare" else 3):
        name = f"upkeep-bench-{init}-{i}"
        sh(["rm", "-f", name])
        sh(["run", "-d", "--name", name, "--entrypoint", (INITS[init] or ["/bin/sleep"])[0],
            IMAGE, *(INITS[init][1:] + ["sleep", "1000"] if INITS[init] else ["1000"])])
        time.sleep(0.3)
        t0 = time.perf_counter()
        sh(["stop", "-t", "10" if init != "bare" else "2", name])
        times.append(time.perf_counter() - t0)
        codes.add(sh(["inspect", name, "--format", "{{.State.ExitCode}}"]).stdout.strip())
        sh(["rm", "-f", name])
    return statistics.median(times), ",".join(sorted(codes))


def bench_run(init):
    times = []
    for _ in range(RUNS):
        argv = INITS[init] + ["true"] if INITS[init] else ["/bin/true"]
        t0 = time.perf_counter()
        sh(["run", "--rm", "--entrypoint", argv[0], IMAGE, *argv[1:]])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


print(f"# containers benchmark, {time.strftime('%Y-%m-%d')}; podman + runc, medians of "
      f"{RUNS} runs (3 for the bare stop)\n")
print("| PID 1 | podman stop (s) | exit code | podman run --rm ... true (ms) |")
print("|---|---|---|---|")
runs = {}
for init in INITS:
    stop, codes = bench_stop(init)
    runs[init] = bench_run(init)
    print(f"| {init} | {stop:.2f} | {codes} | {runs[init] * 1000:.0f} |", flush=True)
print(f"\nupkeep - tini, run to exit: {(runs['upkeep'] - runs['tini']) * 1000:+.0f} ms")
