"""Supervision benchmark: upkeep side by side with runit, s6, daemontools and supervisord.

Every supervisor runs the same service, bench/stamp.c, exec'd directly (runit, s6 and
daemontools through a ./run symlink), which records CLOCK_MONOTONIC at its first instruction.

(a) restart latency: SIGKILL of a service that has run > 1 s, to the replacement's stamp;
(b) starts within 10 s of a service that exits at once (each one's defaults);
(c) supervisor-side CPU time and voluntary context switches over an idle window, 10 and 100
    services;
(d) supervisor-side PSS (every supervisor process, not the services) at 10, 100, 1,000;
(e) time from launch until 1,000 services have started;
(f) shutdown of 10 services, one ignoring SIGTERM: when the nine are gone, when the stubborn
    one is gone, when the supervisor has exited (capped).

BENCH_CHAIN_ONLY=1: upkeep alone (and the builds in BENCH_UPKEEP_OTHERS), 1,000 services
(BENCH_BIG) each `after` the one before, against 1,000 independent ones: time until all are up,
upkeep's CPU until then, its PSS 2 s later, time from SIGTERM to upkeep's exit; rounds
interleaved; and the floor of a stop in order (SIGTERM and wait, one after another).

BENCH_RESTART_ONLY=1 also runs upkeep with `limits`, `umask` and `nice` on the service (the
fork path instead of posix_spawn), as "upkeep + limits".

BENCH_MEMORY_ONLY=1: upkeep alone, 100 services idle for BENCH_IDLE_SECONDS, without and with
`memory_max` (sampled every 5 s, one pass over the process table): upkeep's CPU and wake-ups.

BENCH_SCHEDULE_ONLY=1: upkeep alone, 10 services plus a `@daily` scheduled job (and a oneshot
that is done), idle for BENCH_IDLE_SECONDS: a schedule must wake upkeep only at its ticks, so
the wake-ups (voluntary context switches) stay what the 10 services alone cost: 0.

Usage: python3 bench/supervise.py UPKEEP STAMP. Root; the peers must be installed.
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

UPKEEP, STAMP = sys.argv[1], sys.argv[2]
ROOT = "/tmp/upkeep-bench"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "20"))
IDLE_S = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))
LOOP_S = float(os.environ.get("BENCH_LOOP_SECONDS", "10"))
BIG = int(os.environ.get("BENCH_BIG", "1000"))
SHUTDOWN_CAP_S = 15.0


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def make_services(base, n, exit_at_once=False, stubborn=0):
    """n service directories under base/svc, each with ./run -> stamp; returns their paths."""
    svc = os.path.join(base, "svc")
    os.makedirs(svc)
    dirs = []
    for i in range(n):
        d = os.path.join(svc, f"s{i:04d}")
        os.makedirs(d)
        os.symlink(STAMP, os.path.join(d, "run"))
        if exit_at_once:
            open(os.path.join(d, "exit_at_once"), "w").close()
        if i < stubborn:
            open(os.path.join(d, "ignore_term"), "w").close()
        dirs.append(d)
    return dirs


class Supervisor:
    """Starts one supervisor over base/svc; `stop()` asks it to stop everything."""

    name = "?"

    def __init__(self, base, dirs, stop_timeout_ms=None):
        self.base, self.dirs = base, dirs
        self.stop_timeout_ms = stop_timeout_ms
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv(), cwd=self.base, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)

    def kill(self):
        # The whole tree: runsv and supervise put themselves in groups of their own.
        doomed = descendants(self.proc.pid)
        for d in self.dirs:
            doomed += service_pids(d)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()


class Upkeep(Supervisor):
    name = "upkeep"
    binary = None
    chain = False
    # Adds a done oneshot and a @daily job that will not tick during the run.
    jobs = False
    # More keys for every service.
    extra = ""

    def argv(self):
        cfg = os.path.join(self.base, "upkeep.toml")
        with open(cfg, "w") as f:
            prev = None
            for d in self.dirs:
                f.write(f'[service.{os.path.basename(d)}]\ncommand = ["{STAMP}"]\n'
                        f'directory = "{d}"\n'
                        # Kills > 1 s apart are not a crash loop here (default: 10 s).
                        'stable_after = "1s"\n' + self.extra)
                if self.chain and prev:
                    f.write(f'after = ["{prev}"]\n')
                prev = os.path.basename(d)
                if self.stop_timeout_ms:
                    f.write(f'stop_timeout = "{self.stop_timeout_ms}ms"\n')
            if self.jobs:
                f.write('[service.setup]\ncommand = ["true"]\ntype = "oneshot"\n'
                        '[service.nightly]\ncommand = ["true"]\nschedule = "@daily"\n')
        return [self.binary or UPKEEP, "-q", "-c", cfg]


class Runit(Supervisor):
    name = "runit"

    def argv(self):
        return ["runsvdir", "-P", os.path.join(self.base, "svc")]

    def stop(self):
        # runsvdir on HUP: TERM to every runsv, which takes its service down and exits.
        self.proc.send_signal(signal.SIGHUP)


class S6(Supervisor):
    name = "s6"

    def argv(self):
        if self.stop_timeout_ms:
            for d in self.dirs:
                with open(os.path.join(d, "timeout-kill"), "w") as f:
                    f.write(f"{self.stop_timeout_ms}\n")
        # s6-svscan supervises at most 500 service directories unless told more (-c).
        return ["s6-svscan", "-c", str(max(500, 2 * len(self.dirs))), os.path.join(self.base, "svc")]

    def stop(self):
        subprocess.run(["s6-svscanctl", "-t", os.path.join(self.base, "svc")])


class Daemontools(Supervisor):
    name = "daemontools"

    def argv(self):
        return ["svscan", os.path.join(self.base, "svc")]

    def stop(self):
        # svscan has no "stop all": take every service down and tell each supervise to exit.
        subprocess.run(["svc", "-dx", *self.dirs])
        self.proc.send_signal(signal.SIGTERM)


class Supervisord(Supervisor):
    name = "supervisord"

    def argv(self):
        cfg = os.path.join(self.base, "supervisord.conf")
        with open(cfg, "w") as f:
            f.write(f"[supervisord]\nnodaemon=true\nlogfile={self.base}/supervisord.log\n"
                    f"pidfile={self.base}/supervisord.pid\nminfds=64\n\n"
                    # For supervisorctl (bench/control.py); unused by the rest.
                    f"[unix_http_server]\nfile={self.base}/supervisor.sock\n\n"
                    "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
                    "supervisor.rpcinterface:make_main_rpcinterface\n\n"
                    f"[supervisorctl]\nserverurl=unix://{self.base}/supervisor.sock\n\n")
            for d in self.dirs:
                f.write(f"[program:{os.path.basename(d)}]\ncommand={STAMP}\ndirectory={d}\n"
                        "autorestart=true\nstdout_logfile=NONE\nstderr_logfile=NONE\n")
                if self.stop_timeout_ms:
                    f.write(f"stopwaitsecs={max(1, self.stop_timeout_ms // 1000)}\n")
        return ["supervisord", "-c", cfg]


class Ideal(Supervisor):
    """The floor, not a supervisor: bench/ideal.c, a blocking wait() and posix_spawn loop."""

    name = "ideal (wait + posix_spawn loop)"

    def argv(self):
        return [os.path.join(os.path.dirname(STAMP), "ideal"), STAMP] + self.dirs


KINDS = [Ideal, Upkeep, Runit, S6, Daemontools, Supervisord]


def stamps(d):
    try:
        with open(os.path.join(d, "stamps")) as f:
            return [tuple(int(x) for x in l.split()) for l in f if l.strip()]
    except OSError:
        return []


def service_pids(d):
    return [pid for _, pid in stamps(d)[-1:] if alive(pid)]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait(pred, limit, step=0.002):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def descendants(root):
    """root and every process below it, as pids."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def supervisor_side(sup):
    """The supervisor's own processes: its tree minus the services (the pids they stamped;
    their comm is "run" where they are exec'd through the ./run symlink)."""
    services = {pid for d in sup.dirs for _, pid in stamps(d)}
    return [p for p in descendants(sup.proc.pid) if p not in services]


def cpu_and_switches(pids):
    ticks = os.sysconf("SC_CLK_TCK")
    cpu, sw = 0.0, 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks
            with open(f"/proc/{p}/status") as f:
                sw += next(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches"))
        except (OSError, StopIteration):
            pass
    return cpu, sw


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except (OSError, StopIteration):
            pass
    return total


def fresh(kind, tag):
    base = os.path.join(ROOT, f"{kind.name}-{tag}")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    return base


def all_up(dirs):
    # A stat per service, not a read: the poll must not compete with the supervisor.
    return all(os.path.exists(os.path.join(d, "stamps")) for d in dirs)


def bench_restart(kind, samples=SAMPLES):
    base = fresh(kind, "restart")
    dirs = make_services(base, 1)
    sup = kind(base, dirs)
    sup.start()
    lat = []
    try:
        if not wait(lambda: all_up(dirs), 10):
            return None
        for _ in range(samples):
            time.sleep(1.2)  # more than the 1 s minimum spacing of runit, s6, daemontools
            n = len(stamps(dirs[0]))
            pid = stamps(dirs[0])[-1][1]
            t0 = now_ns()
            os.kill(pid, signal.SIGKILL)
            if not wait(lambda: len(stamps(dirs[0])) > n, 10):
                break
            lat.append((stamps(dirs[0])[-1][0] - t0) / 1e6)
    finally:
        sup.kill()
    return lat


def bench_loop(kind):
    base = fresh(kind, "loop")
    dirs = make_services(base, 1, exit_at_once=True)
    sup = kind(base, dirs)
    sup.start()
    time.sleep(LOOP_S)
    n = len(stamps(dirs[0]))
    sup.kill()
    return n


def bench_scale(kind, n, idle):
    base = fresh(kind, f"scale{n}")
    dirs = make_services(base, n)
    sup = kind(base, dirs)
    t0 = time.monotonic()
    sup.start()
    try:
        up = wait(lambda: all_up(dirs), 120, step=0.01)
        up_s = time.monotonic() - t0 if up else None
        time.sleep(2)  # let start-up settle (daemontools' svscan rescans every 5 s: counted)
        pids = supervisor_side(sup)
        pss = pss_kib(pids)
        cpu = sw = None
        if idle:
            c0, s0 = cpu_and_switches(pids)
            time.sleep(IDLE_S)
            c1, s1 = cpu_and_switches(supervisor_side(sup))
            cpu, sw = c1 - c0, s1 - s0
        return {"up_s": up_s, "pss": pss, "nprocs": len(pids), "cpu": cpu, "sw": sw}
    finally:
        sup.kill()


def bench_shutdown(kind):
    base = fresh(kind, "shutdown")
    dirs = make_services(base, 10, stubborn=1)
    sup = kind(base, dirs, stop_timeout_ms=1000)
    sup.start()
    try:
        if not wait(lambda: all_up(dirs), 10):
            return None
        time.sleep(1.5)
        pids = [stamps(d)[-1][1] for d in dirs]
        stubborn, others = pids[0], pids[1:]
        t0 = time.monotonic()
        sup.stop()
        res = {}
        end = t0 + SHUTDOWN_CAP_S
        while time.monotonic() < end and len(res) < 3:
            t = time.monotonic() - t0
            if "nine" not in res and not any(alive(p) for p in others):
                res["nine"] = t
            if "stubborn" not in res and not alive(stubborn):
                res["stubborn"] = t
            if "exit" not in res and sup.proc.poll() is not None:
                res["exit"] = t
            time.sleep(0.001)
        return res
    finally:
        sup.kill()


def fmt_ms(v):
    return "-" if v is None else f"{v:.1f}"


def others():
    """Other upkeep binaries to compare, from BENCH_UPKEEP_OTHERS="label=path;label=path"."""
    kinds = []
    for other in filter(None, os.environ.get("BENCH_UPKEEP_OTHERS", "").split(";")):
        label, path = other.split("=", 1)
        kinds.append(type("Other", (Upkeep,), {"name": label, "binary": path}))
    return kinds


class UpkeepLimits(Upkeep):
    name = "upkeep + limits"
    extra = 'limits = { nofile = 4096, core = 0 }\numask = "022"\nnice = 0\n'


class UpkeepMemory(Upkeep):
    name = "upkeep + memory_max"
    extra = 'memory_max = "1GiB"\n'


def memory_only():
    print(f"idle window {IDLE_S:.0f} s, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
    print("| upkeep, 100 services | idle CPU (ms) | % of a core | wake-ups |")
    print("|---|---|---|---|")
    for kind in (Upkeep, UpkeepMemory):
        r = bench_scale(kind, 100, idle=True)
        pct = r["cpu"] / IDLE_S * 100
        print(f"| {kind.name} | {r['cpu'] * 1000:.0f} | {pct:.3f} | {r['sw']} |")


def restart_only():
    """BENCH_RESTART_ONLY=1: restart latency of the floor and the upkeeps, rounds interleaved."""
    kinds = [Ideal, Upkeep, UpkeepLimits, *others()]
    lat = {k.name: [] for k in kinds}
    rounds = max(1, SAMPLES // 10)
    for r in range(rounds):
        for kind in kinds:
            lat[kind.name] += bench_restart(kind, 10) or []
    print(f"Restart latency, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
          f"{rounds} rounds of 10 kills each, interleaved")
    print()
    print("| supervisor | samples | median (ms) | p95 (ms) | vs ideal |")
    print("|---|---|---|---|---|")
    floor = statistics.median(lat[Ideal.name]) if lat[Ideal.name] else float("nan")
    for name, xs in lat.items():
        if xs:
            med = statistics.median(xs)
            p95 = sorted(xs)[int(0.95 * (len(xs) - 1))]
            print(f"| {name} | {len(xs)} | {med:.3f} | {p95:.3f} | {med / floor:.2f}x |")


def bench_chain(kind, chain):
    """BIG services, flat or each after the one before: up (s), CPU until up (s), stop (s)."""
    base = fresh(kind, "chain" if chain else "flat")
    dirs = make_services(base, BIG)
    sup = type("Chained", (kind,), {"chain": chain})(base, dirs)
    t0 = time.monotonic()
    sup.start()
    try:
        if not wait(lambda: all_up(dirs), 120, step=0.01):
            return None
        up_s = time.monotonic() - t0
        cpu, _ = cpu_and_switches([sup.proc.pid])
        time.sleep(2)  # the start-up burst's memory handed back
        pss = pss_kib([sup.proc.pid])
        t1 = time.monotonic()
        sup.stop()
        sup.proc.wait(timeout=120)
        return {"up": up_s, "cpu": cpu, "down": time.monotonic() - t1, "pss": pss}
    finally:
        if sup.proc.poll() is None:
            sup.kill()


def sequential_stop_floor():
    """The floor of a stop in `after` order: BIG stamps, each sent SIGTERM and waited for
    before the next, by this script (no supervisor)."""
    base = fresh(Ideal, "chainfloor")
    dirs = make_services(base, BIG)
    procs = [subprocess.Popen([STAMP], cwd=d) for d in dirs]
    if not wait(lambda: all_up(dirs), 120, step=0.01):
        return None
    t0 = time.monotonic()
    for p in reversed(procs):
        p.send_signal(signal.SIGTERM)
        p.wait()
    return time.monotonic() - t0


def chain_only():
    kinds = [Upkeep, *others()]
    rounds = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
    res = {(k.name, c): [] for k in kinds for c in (False, True)}
    floor = []
    for _ in range(rounds):
        for kind in kinds:
            for chain in (False, True):
                r = bench_chain(kind, chain)
                if r:
                    res[(kind.name, chain)].append(r)
        floor.append(sequential_stop_floor())
    print(f"Dependency chain, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; {BIG} services, "
          f"{rounds} rounds interleaved, medians")
    print()
    print("| upkeep | shape | all up (s) | CPU until up (s) | PSS (KiB) | stop (s) "
          "| chain / flat: up, stop |")
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        med = {}
        for chain in (False, True):
            xs = res[(kind.name, chain)]
            if not xs:
                continue
            keys = ("up", "cpu", "down", "pss")
            med[chain] = {k: statistics.median(x[k] for x in xs) for k in keys}
        for chain, m in med.items():
            ratio = "-"
            if chain and False in med:
                ratio = f"{m['up'] / med[False]['up']:.2f}x, {m['down'] / med[False]['down']:.2f}x"
            shape = "chain (each after the previous)" if chain else "independent"
            print(f"| {kind.name} | {shape} | {m['up']:.2f} | {m['cpu']:.2f} | {m['pss']:.0f} "
                  f"| {m['down']:.2f} | {ratio} |")
    floor = [f for f in floor if f is not None]
    if floor:
        print(f"| floor: SIGTERM + wait, one service after another | chain | - | - | - | "
              f"{statistics.median(floor):.2f} | - |")


def schedule_only():
    plain = bench_scale(Upkeep, 10, idle=True)

    class WithJobs(Upkeep):
        jobs = True

    jobs = bench_scale(WithJobs, 10, idle=True)
    print(f"idle window {IDLE_S:.0f} s")
    print("| upkeep, 10 services | idle CPU (ms) | wake-ups |")
    print("|---|---|---|")
    for name, r in (("alone", plain), ("+ a done oneshot and a @daily job", jobs)):
        print(f"| {name} | {r['cpu'] * 1000:.0f} | {r['sw']} |")


def main():
    if os.environ.get("BENCH_SCHEDULE_ONLY"):
        schedule_only()
        return
    if os.environ.get("BENCH_MEMORY_ONLY"):
        memory_only()
        return
    if os.environ.get("BENCH_RESTART_ONLY"):
        restart_only()
        return
    if os.environ.get("BENCH_CHAIN_ONLY"):
        chain_only()
        return
    shutil.rmtree(ROOT, ignore_errors=True)
    rows = {}
    for kind in KINDS:
        r = {}
        lat = bench_restart(kind)
        r["lat"] = (statistics.median(lat), sorted(lat)[int(0.95 * (len(lat) - 1))]) if lat else None
        r["loop"] = bench_loop(kind)
        for n in (10, 100):
            r[n] = bench_scale(kind, n, idle=True)
        r[BIG] = bench_scale(kind, BIG, idle=False)
        r["down"] = bench_shutdown(kind)
        rows[kind.name] = r
        print(f"# {kind.name} done", file=sys.stderr, flush=True)

    print(f"Supervision benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
          f"{SAMPLES} restart samples, idle window {IDLE_S:.0f} s, loop window {LOOP_S:.0f} s")
    print()
    print("| supervisor | restart latency median / p95 (ms) | starts in "
          f"{LOOP_S:.0f} s of an exit-at-once service | idle CPU (ms) / wake-ups, 10 svcs | "
          "idle CPU (ms) / wake-ups, 100 svcs | PSS (KiB) 10 / 100 / "
          f"{BIG} svcs (processes at {BIG}) | {BIG} services up (s) | "
          "shutdown, 1 of 10 ignores TERM: nine / stubborn / exit (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        lat = f"{r['lat'][0]:.2f} / {r['lat'][1]:.2f}" if r["lat"] else "-"
        idle = [f"{r[n]['cpu'] * 1000:.0f} / {r[n]['sw']}" for n in (10, 100)]
        pss = f"{r[10]['pss']} / {r[100]['pss']} / {r[BIG]['pss']} ({r[BIG]['nprocs']})"
        up = "-" if r[BIG]["up_s"] is None else f"{r[BIG]['up_s']:.2f}"
        d = r["down"] or {}
        cap = f">{SHUTDOWN_CAP_S:.0f}"
        down = " / ".join(f"{d[k]:.3f}" if k in d else cap for k in ("nine", "stubborn", "exit"))
        print(f"| {name} | {lat} | {r['loop']} | {idle[0]} | {idle[1]} | {pss} | {up} | {down} |")
    print()
    print("Stop timeout 1 s where the supervisor has one (upkeep stop_timeout, s6 timeout-kill, "
          "supervisord stopwaitsecs); runit and daemontools have none and wait for ever. "
          "upkeep runs with stable_after = 1s so that kills 1.2 s apart are not a crash loop.")


if __name__ == "__main__":
    main()
