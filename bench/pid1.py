"""PID-1 benchmark: upkeep side by side with tini, dumb-init and catatonit, in one run.

(a) wall and CPU time to reap 10,000 orphans as PID 1 of a fresh PID namespace;
(b) overhead of `INIT -- true` over a bare `true` (200 runs, median);
(c) peak RSS (VmHWM) of the init while its command runs;
(d) binary size.
The first row is the floor, bench/ideal_init.c: posix_spawn and a blocking wait() loop.
Prints a Markdown table with medians and the ratio to tini.
"""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
UPKEEP = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "release", "upkeep")
IDEAL = os.path.join(HERE, "..", "target", "bench", "ideal_init")
INITS = {
    "ideal (wait loop)": [IDEAL, "--"],
    "upkeep": [UPKEEP, "--"],
    "tini": ["/usr/bin/tini-static", "--"],
    "dumb-init": ["/usr/bin/dumb-init", "--"],
    "catatonit": ["/usr/bin/catatonit", "--"],
}
# Other upkeep binaries side by side, for before/after comparisons in one run:
# BENCH_UPKEEP_OTHERS="upkeep (before)=/tmp/old/upkeep;upkeep (musl)=target/cross/.../upkeep"
for other in filter(None, os.environ.get("BENCH_UPKEEP_OTHERS", "").split(";")):
    label, path = other.split("=", 1)
    INITS = {**dict(list(INITS.items())[:2]), label: [path, "--"], **dict(list(INITS.items())[2:])}
ORPHANS = int(os.environ.get("BENCH_ORPHANS", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TRUE_RUNS = int(os.environ.get("BENCH_TRUE_RUNS", "200"))


def reap(init):
    cmd = ["unshare", "--pid", "--fork", "--mount-proc", *init,
           sys.executable, os.path.join(HERE, "orphan_maker.py"), str(ORPHANS)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_true(argv):
    t = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - t


def peak_rss_kib(init):
    p = subprocess.Popen([*init, "sleep", "0.3"])
    time.sleep(0.2)
    with open(f"/proc/{p.pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    p.wait()
    return hwm


def main():
    results = {name: {"drain": [], "cpu": [], "total": []} for name in INITS}
    # Interleave the inits round by round so that machine noise hits them alike.
    for _ in range(ROUNDS):
        for name, init in INITS.items():
            r = reap(init)
            results[name]["drain"].append(r["drain_s"])
            results[name]["total"].append(r["total_s"])
            results[name]["cpu"].append(r["init_cpu_s"])
    bare, wrapped = [], {name: [] for name in INITS}
    for _ in range(TRUE_RUNS):
        bare.append(run_true(["/bin/true"]))
        for name, init in INITS.items():
            wrapped[name].append(run_true([*init, "/bin/true"]))
    bare_ms = statistics.median(bare) * 1000
    rows = {}
    for name, init in INITS.items():
        rows[name] = {
            "drain_ms": statistics.median(results[name]["drain"]) * 1000,
            "total_ms": statistics.median(results[name]["total"]) * 1000,
            "cpu_ms": statistics.median(results[name]["cpu"]) * 1000,
            "overhead_ms": statistics.median(wrapped[name]) * 1000 - bare_ms,
            "rss_kib": peak_rss_kib(init),
            "size_kib": os.path.getsize(init[0]) / 1024,
        }
    t = rows["tini"]

    def ratio(name, key):
        return rows[name][key] / t[key] if t[key] > 0 else float("nan")

    print(f"PID-1 benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
          f"{ORPHANS} orphans x {ROUNDS} rounds, {TRUE_RUNS} runs of `INIT -- true` "
          f"(bare `true`: {bare_ms:.2f} ms)")
    print()
    print("| init | reap 10k orphans: wall after last fork (ms) | init CPU (ms) | whole run (ms) | `INIT -- true` overhead (ms) | peak RSS (KiB) | binary (KiB) |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['drain_ms']:.1f} ({ratio(name, 'drain_ms'):.2f}x) "
              f"| {r['cpu_ms']:.0f} ({ratio(name, 'cpu_ms'):.2f}x) "
              f"| {r['total_ms']:.0f} ({ratio(name, 'total_ms'):.2f}x) "
              f"| {r['overhead_ms']:.2f} ({ratio(name, 'overhead_ms'):.2f}x) "
              f"| {r['rss_kib']} ({r['rss_kib'] - t['rss_kib']:+d}) "
              f"| {r['size_kib']:.0f} |")
    print()
    print("Ratios are to tini (tini-static, the static build Debian ships) measured in the same run.")


main()
