"""Watch benchmark: the cost of one `upkeep scan` pass against `pgrep -x NAME` and the
classic pipeline `ps -e -o comm | grep -Fx NAME`, with 100, 1,000 and 10,000 extra processes
alive, for one watch and for ten (upkeep: one pass; the others: ten runs). Medians of
whole-command wall time, in one run.

Usage: python3 bench/scan.py UPKEEP. Needs procps (ps, pgrep).
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

UPKEEP = sys.argv[1]
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
COUNTS = [int(x) for x in os.environ.get("BENCH_PROCS", "100,1000,10000").split(",")]
WORK = "/tmp/upkeep-bench-scan"
NAME = "benchd"


def spawn_idle(n):
    """n idle processes (forked, not exec'd: cheap), killed by the caller."""
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            while True:
                signal.pause()
        pids.append(pid)
    return pids


def timed(argv, times=1):
    """Wall time of running argv `times` times in a row (one figure)."""
    t = time.perf_counter()
    for _ in range(times):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def median_ms(argv, times=1):
    return statistics.median(timed(argv, times) for _ in range(RUNS)) * 1000


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    daemon = os.path.join(WORK, NAME)
    shutil.copy("/bin/sleep", daemon)
    d = subprocess.Popen([daemon, "3600"])
    one = os.path.join(WORK, "one.toml")
    ten = os.path.join(WORK, "ten.toml")
    with open(one, "w") as f:
        f.write(f'[watch.w0]\nprocess = "{NAME}"\nstart = "exit 1"\n')
    with open(ten, "w") as f:
        for i in range(10):
            f.write(f'[watch.w{i}]\nprocess = "{NAME}"\nstart = "exit 1"\n')
    # Sanity: every tool finds the daemon (upkeep scan silent with exit 0).
    assert subprocess.run([UPKEEP, "scan", "-c", one], capture_output=True).returncode == 0
    pipeline = ["sh", "-c", f"ps -e -o comm | grep -Fx {NAME}"]
    rows = []
    idle = []
    try:
        for n in COUNTS:
            idle += spawn_idle(n - len(idle))
            total = len(os.listdir("/proc"))
            r = {
                "n": n,
                "procs": total,
                "upkeep": median_ms([UPKEEP, "scan", "-c", one]),
                "pgrep": median_ms(["pgrep", "-x", NAME]),
                "pipe": median_ms(pipeline),
                "upkeep10": median_ms([UPKEEP, "scan", "-c", ten]),
                "pgrep10": median_ms(["pgrep", "-x", NAME], 10),
                "pipe10": median_ms(pipeline, 10),
            }
            rows.append(r)
    finally:
        for pid in idle:
            os.kill(pid, signal.SIGKILL)
        for pid in idle:
            os.waitpid(pid, 0)
        d.kill()
        d.wait()

    print(f"Watch benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
          f"median of {RUNS} runs, whole-command wall time (ms)")
    print()
    print("| extra processes | 1 watch: `upkeep scan` | `pgrep -x` | `ps -e -o comm \\| grep -Fx` "
          "| 10 watches: `upkeep scan` (one pass) | 10x `pgrep -x` | 10x pipeline |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']} | {r['upkeep']:.2f} ({r['upkeep'] / r['pgrep']:.2f}x pgrep, "
              f"{r['upkeep'] / r['pipe']:.2f}x pipeline) | {r['pgrep']:.2f} | {r['pipe']:.2f} "
              f"| {r['upkeep10']:.2f} ({r['upkeep10'] / r['upkeep']:.2f}x one watch) "
              f"| {r['pgrep10']:.2f} | {r['pipe10']:.2f} |")


main()
