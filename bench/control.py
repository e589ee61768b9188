"""Control benchmark: `upkeep status` against each peer's status command, and restart latency
while the control socket is flooded.

(a) wall time of one status command over every service (a new process each time, as an
    operator or a health probe runs it), at 10 and BENCH_BIG services, median and p95:
    upkeep status, runit's sv status, s6-svstat (one process per service: s6 has no
    "status of all"), daemontools' svstat, supervisorctl status;
(b) upkeep's protocol round trip alone (connect, request, reply; no process start);
(c) upkeep's restart latency (SIGKILL to the replacement's first instruction) on a quiet
    socket and while another process floods it with status requests.

Usage: python3 bench/control.py UPKEEP STAMP. Root; the peers must be installed.
"""
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import supervise as sv  # noqa: E402  (shares the service and supervisor set-up)

RUNS = int(os.environ.get("BENCH_STATUS_RUNS", "30"))
FLOOD_CLIENTS = int(os.environ.get("BENCH_FLOOD_CLIENTS", "2"))


class Upkeep(sv.Upkeep):
    def argv(self):
        return super().argv() + ["--socket", self.sock()]

    def sock(self):
        return os.path.join(self.base, "upkeep.sock")


def status_argv(kind, sup):
    svc = os.path.join(sup.base, "svc")
    if kind is Upkeep:
        return [sv.UPKEEP, "status", "--socket", sup.sock()]
    if kind is sv.Runit:
        return ["sv", "status", *sup.dirs]
    if kind is sv.S6:
        return ["sh", "-c", f'for d in {svc}/*; do s6-svstat "$d"; done']
    if kind is sv.Daemontools:
        return ["svstat", *sup.dirs]
    return ["supervisorctl", "-c", os.path.join(sup.base, "supervisord.conf"), "status"]


def timed_runs(argv, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - t0) * 1000)
        if done.returncode not in (0, 3):
            return None
    return times


def round_trip(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b'{"v":1,"cmd":"status"}\n')
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def flood(path, stop):
    while not stop.is_set():
        try:
            round_trip(path)
        except OSError:
            pass


def stats(ms):
    if not ms:
        return "-"
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{statistics.median(ms):.2f} / {p95:.2f}"


def bench_status(kind, n):
    base = sv.fresh(kind, f"status{n}")
    dirs = sv.make_services(base, n)
    sup = kind(base, dirs)
    sup.start()
    try:
        if not sv.wait(lambda: sv.all_up(dirs), 60):
            return None, None
        time.sleep(1)
        cmd = timed_runs(status_argv(kind, sup), RUNS if n <= 100 else max(5, RUNS // 3))
        rtt = None
        if kind is Upkeep:
            rtt = []
            for _ in range(RUNS * 3):
                t0 = time.perf_counter()
                round_trip(sup.sock())
                rtt.append((time.perf_counter() - t0) * 1000)
        return cmd, rtt
    finally:
        sup.kill()


def restart_latency(sup, dirs, samples):
    lat = []
    for _ in range(samples):
        time.sleep(1.2)
        n = len(sv.stamps(dirs[0]))
        pid = sv.stamps(dirs[0])[-1][1]
        t0 = sv.now_ns()
        os.kill(pid, signal.SIGKILL)
        if not sv.wait(lambda: len(sv.stamps(dirs[0])) > n, 10):
            break
        lat.append((sv.stamps(dirs[0])[-1][0] - t0) / 1e6)
    return lat


def bench_flood():
    base = sv.fresh(Upkeep, "flood")
    dirs = sv.make_services(base, 10)
    sup = Upkeep(base, dirs)
    sup.start()
    try:
        if not sv.wait(lambda: sv.all_up(dirs), 10):
            return None, None, 0
        quiet = restart_latency(sup, dirs, sv.SAMPLES)
        stop = multiprocessing.Event()
        workers = [multiprocessing.Process(target=flood, args=(sup.sock(), stop))
                   for _ in range(FLOOD_CLIENTS)]
        for w in workers:
            w.start()
        # How many requests the flood makes: count with a separate short probe.
        t0, k = time.perf_counter(), 0
        while time.perf_counter() - t0 < 1:
            round_trip(sup.sock())
            k += 1
        flooded = restart_latency(sup, dirs, sv.SAMPLES)
        stop.set()
        for w in workers:
            w.join()
        return quiet, flooded, k
    finally:
        sup.kill()


def main():
    kinds = [Upkeep, sv.Runit, sv.S6, sv.Daemontools, sv.Supervisord]
    print(f"# control benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
          f"median / p95 in ms over {RUNS} runs ({max(5, RUNS // 3)} at {sv.BIG})\n")
    print(f"| status command | 10 services | {sv.BIG} services |")
    print("|---|---|---|")
    upkeep_rtt = {}
    for kind in kinds:
        cells = []
        for n in (10, sv.BIG):
            cmd, rtt = bench_status(kind, n)
            cells.append(stats(cmd) if cmd else "-")
            if rtt:
                upkeep_rtt[n] = rtt
        print(f"| {kind.name} | {cells[0]} | {cells[1]} |", flush=True)
    print(f"| upkeep, protocol round trip only | {stats(upkeep_rtt.get(10))} | "
          f"{stats(upkeep_rtt.get(sv.BIG))} |\n")
    quiet, flooded, probe = bench_flood()
    print("| upkeep restart latency | median / p95 (ms) |")
    print("|---|---|")
    print(f"| quiet socket | {stats(quiet)} |")
    print(f"| socket flooded by {FLOOD_CLIENTS} clients | {stats(flooded)} |")
    if quiet and flooded:
        ratio = statistics.median(flooded) / statistics.median(quiet)
        print(f"| ratio flooded / quiet | {ratio:.2f}x |")
    print(f"\n(a third client still got {probe} status answers in 1 s during the flood)")


if __name__ == "__main__":
    main()
