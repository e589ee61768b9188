"""Service output benchmark: upkeep beside s6-log, svlogd and multilog.

(a) One generator (bench/lines.c) writes N lines of 100 bytes as fast as it can; each
    logger writes them, timestamped, to a file (rotated at 10 MB, 5 kept): lines per
    second until the logger is done, the logger's CPU per million lines, and how long the
    generator was held up by the pipe. upkeep runs the generator as a service with
    `output = FILE`, and again with `output = "log"` into a pipe read by cat.
(b) upkeep's restart latency (SIGKILL of a service to its replacement's first
    instruction, bench/stamp.c) idle, and while ten services log flat out (`yes`).
(c) upkeep's PSS with 1,000 quiet services (every one with its two output pipes).

Usage: python3 bench/output.py UPKEEP LINES STAMP. Root; s6, runit and daemontools installed.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

UPKEEP, LINES, STAMP = sys.argv[1], sys.argv[2], sys.argv[3]
ROOT = "/tmp/upkeep-bench-output"
N = int(os.environ.get("BENCH_LINES", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "20"))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.argv = [sys.argv[0], UPKEEP, STAMP]
import supervise  # noqa: E402  (its helpers: restart latency, PSS)


def fresh(name):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def cpu_of(ru):
    return ru.ru_utime + ru.ru_stime


def generator_cpu():
    """The generator's own CPU, writing to /dev/null: subtracted where it is upkeep's child."""
    held = os.path.join(ROOT, "held-null")
    with open(os.devnull, "w") as null:
        p = subprocess.Popen([LINES, str(N), held], stdout=null)
        _, _, ru = os.wait4(p.pid, 0)
    return cpu_of(ru)


def held_s(path):
    with open(path) as f:
        return int(f.read()) / 1e9


def peer(name, argv, setup=None):
    d = fresh(name)
    logdir = os.path.join(d, "log")
    os.makedirs(logdir)
    if setup:
        setup(logdir)
    held = os.path.join(d, "held")
    t0 = time.monotonic()
    gen = subprocess.Popen([LINES, str(N), held], stdout=subprocess.PIPE)
    logger = subprocess.Popen(argv + [logdir], stdin=gen.stdout, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    gen.stdout.close()
    gen.wait()
    _, _, ru = os.wait4(logger.pid, 0)
    wall = time.monotonic() - t0
    return {"wall": wall, "cpu": cpu_of(ru), "held": held_s(held)}


def svlogd_config(logdir):
    with open(os.path.join(logdir, "config"), "w") as f:
        f.write("s10000000\nn5\n")


def upkeep(name, output, gen_cpu, log_format="text"):
    d = fresh(name)
    held = os.path.join(d, "held")
    cfg = os.path.join(d, "upkeep.toml")
    with open(cfg, "w") as f:
        # Every line through upkeep's stderr, as the peers' one log; in `log_format`.
        f.write(f'[supervisor]\nlog_streams = "stderr"\nlog_format = "{log_format}"\n')
        f.write(f'[service.gen]\ncommand = ["{LINES}", "{N}", "{held}"]\n'
                'restart = "never"\ncritical = true\n')
        if output == "file":
            f.write(f'output = "{d}/gen.log"\noutput_max_size = "10MB"\noutput_keep = 5\n')
    t0 = time.monotonic()
    if output == "file":
        up = subprocess.Popen([UPKEEP, "-q", "-c", cfg], stderr=subprocess.DEVNULL)
        _, _, ru = os.wait4(up.pid, 0)
    else:
        # output = "log": upkeep's stderr is a pipe, read by cat into a file.
        up = subprocess.Popen([UPKEEP, "-q", "-c", cfg], stderr=subprocess.PIPE)
        with open(os.path.join(d, "log"), "w") as sink:
            cat = subprocess.Popen(["cat"], stdin=up.stderr, stdout=sink)
            up.stderr.close()
            _, _, ru = os.wait4(up.pid, 0)
            cat.wait()
    wall = time.monotonic() - t0
    return {"wall": wall, "cpu": cpu_of(ru) - gen_cpu, "held": held_s(held)}


def restart_latency(noisy):
    """bench/supervise.py's restart measure, with `noisy` services writing flat out beside."""
    base = supervise.fresh(supervise.Upkeep, f"noisy{noisy}")
    dirs = supervise.make_services(base, 1)

    class Noisy(supervise.Upkeep):
        def argv(self):
            argv = super().argv()
            with open(argv[-1], "a") as f:
                for k in range(noisy):
                    f.write(f'[service.noisy{k}]\ncommand = ["yes", "{"x" * 99}"]\n')
            return argv

    sup = Noisy(base, dirs)
    sup.start()  # upkeep's stderr (all the noisy lines) goes to /dev/null
    lat = []
    try:
        if not supervise.wait(lambda: supervise.all_up(dirs), 10):
            return None
        for _ in range(SAMPLES):
            time.sleep(1.2)
            n = len(supervise.stamps(dirs[0]))
            pid = supervise.stamps(dirs[0])[-1][1]
            t0 = supervise.now_ns()
            os.kill(pid, 9)
            if not supervise.wait(lambda: len(supervise.stamps(dirs[0])) > n, 10):
                break
            lat.append((supervise.stamps(dirs[0])[-1][0] - t0) / 1e6)
    finally:
        sup.kill()
    return lat


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    gen_cpu = generator_cpu()
    kinds = {
        "upkeep, output = FILE": lambda: upkeep("upkeep-file", "file", gen_cpu),
        "upkeep, output = \"log\" (stderr a pipe)": lambda: upkeep("upkeep-log", "log", gen_cpu),
        "upkeep, output = \"log\", log_format = \"json\"":
            lambda: upkeep("upkeep-json", "log", gen_cpu, "json"),
        "s6-log (T, s10000000 n5)": lambda: peer("s6-log", ["s6-log", "n5", "s10000000", "T"]),
        "svlogd -tt (s10000000 n5)": lambda: peer("svlogd", ["svlogd", "-tt"], svlogd_config),
        "multilog (t s10000000 n5)": lambda: peer("multilog", ["multilog", "t", "s10000000", "n5"]),
    }
    rows = {k: [] for k in kinds}
    for _ in range(ROUNDS):
        for name, run in kinds.items():
            rows[name].append(run())
    print(f"Output benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; {N:,} lines "
          f"of 100 bytes, median of {ROUNDS} rounds")
    print()
    print("| logger | lines/s | logger CPU per million lines (s) | generator held up (s) |")
    print("|---|---|---|---|")
    for name, runs in rows.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs) * 1e6 / N
        held = statistics.median(r["held"] for r in runs)
        print(f"| {name} | {N / wall:,.0f} | {cpu:.2f} | {held:.2f} |")
    print()
    idle = restart_latency(0)
    busy = restart_latency(10)

    def fmt(lat):
        return f"{statistics.median(lat):.2f} / {sorted(lat)[int(0.95 * (len(lat) - 1))]:.2f}"

    print("| upkeep restart latency, median / p95 (ms) | idle | ten services logging flat out |")
    print("|---|---|---|")
    print(f"| SIGKILL to the replacement's first instruction | {fmt(idle)} | {fmt(busy)} "
          f"({statistics.median(busy) / statistics.median(idle):.2f}x) |")
    print()
    big = supervise.bench_scale(supervise.Upkeep, 1000, idle=False)
    print(f"upkeep PSS with 1,000 quiet services (output = \"log\", 2,000 pipes): "
          f"{big['pss']} KiB ({big['pss'] / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
