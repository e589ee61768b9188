"""Readiness benchmark.

(a) From a dependency's "I am ready" to its dependent's first instruction. The dependency,
    bench/readyd.c, sleeps 300 ms (so the supervisor is idle when the moment comes), records
    CLOCK_MONOTONIC, then announces readiness; the dependent, bench/stamp.c, records
    CLOCK_MONOTONIC as its first act. Rows, interleaved sample by sample:
      ideal           bench/ideal_ready.c: blocking read() on the notification pipe, then
                      posix_spawn: the floor
      upkeep fd:3     ready.notify = "fd:3" (s6's notification-fd protocol)
      upkeep systemd  ready.notify = "systemd" (READY=1 to $NOTIFY_SOCKET)
      upkeep tcp      ready.tcp with ready.interval = 10ms (the port opening; a polled check)
      s6              s6-svscan; the dependency with notification-fd 3, the dependent's run
                      script `s6-svwait -U ../db` then exec (s6's way without s6-rc)
    systemd itself (Type=notify, After=) needs systemd as PID 1, which this machine lacks.
(b) upkeep's CPU with 100 services, each with a TCP health check every second, against the
    same 100 services without checks, over an idle window; % of one core.

Usage: python3 bench/ready.py UPKEEP STAMP READYD IDEAL_READY. Root; s6 must be installed.
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

UPKEEP, STAMP, READYD, IDEAL = sys.argv[1:5]
ROOT = "/tmp/upkeep-bench-ready"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "20"))
IDLE_S = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))
CHECKED = int(os.environ.get("BENCH_CHECKED", "100"))


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return kids


def tree(pid):
    out = [pid]
    for k in children_of(pid):
        out += tree(k)
    return out


def kill_tree(proc):
    for pid in reversed(tree(proc.pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def first_stamp(path, limit=5.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                line = f.readline().split()
            if line:
                return int(line[0])
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def setup(kind):
    """A fresh base with db/ and web/; returns (argv, db_dir, web_dir)."""
    shutil.rmtree(ROOT, ignore_errors=True)
    db, web = f"{ROOT}/svc/db", f"{ROOT}/svc/web"
    os.makedirs(db)
    os.makedirs(web)
    if kind == "ideal":
        return [IDEAL, db, READYD, web, STAMP], db, web
    if kind == "s6":
        write(f"{db}/run", f"#!/bin/sh\nexec {READYD} fd 3\n", 0o755)
        write(f"{db}/notification-fd", "3\n")
        write(f"{web}/run", f"#!/bin/sh\nuntil s6-svwait -U {db} 2>/dev/null; do sleep 0.01; done\n"
              f"exec {STAMP}\n", 0o755)
        return ["s6-svscan", f"{ROOT}/svc"], db, web
    if kind == "upkeep tcp":
        port = free_port()
        command = f'["{READYD}", "tcp", "{port}"]'
        check = f'ready.tcp = "127.0.0.1:{port}"\nready.interval = "10ms"'
    elif kind == "upkeep fd:3":
        command, check = f'["{READYD}", "fd", "3"]', 'ready.notify = "fd:3"'
    else:
        command, check = f'["{READYD}", "systemd"]', 'ready.notify = "systemd"'
    config = f"""[supervisor]
control_socket = "{ROOT}/sock"
log_level = "warn"

[service.db]
command = {command}
directory = "{db}"
{check}

[service.web]
command = ["{STAMP}"]
directory = "{web}"
after = ["db"]
"""
    write(f"{ROOT}/upkeep.toml", config)
    return [UPKEEP, "-c", f"{ROOT}/upkeep.toml"], db, web


KINDS = ["ideal", "upkeep fd:3", "upkeep systemd", "upkeep tcp", "s6"]


def latency_round(kind):
    argv, db, web = setup(kind)
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        ready = first_stamp(f"{db}/ready_stamps")
        started = first_stamp(f"{web}/stamps")
    finally:
        kill_tree(proc)
    if ready is None or started is None:
        return None
    return (started - ready) / 1e6


def cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


ACCEPTED = [0]


def accept_forever(server):
    while True:
        try:
            conn, _ = server.accept()
            conn.close()
            ACCEPTED[0] += 1
        except OSError:
            return


def health_cpu(with_checks):
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(f"{ROOT}/w")
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    port = server.getsockname()[1]
    threading.Thread(target=accept_forever, args=(server,), daemon=True).start()
    lines = [f'[supervisor]\ncontrol_socket = "{ROOT}/sock"\nlog_level = "warn"\n']
    for i in range(CHECKED):
        lines.append(f'[service.s{i}]\ncommand = ["{STAMP}"]\ndirectory = "{ROOT}/w"\n')
        if with_checks:
            lines.append(f'health.tcp = "127.0.0.1:{port}"\nhealth.interval = "1s"\n')
    write(f"{ROOT}/upkeep.toml", "".join(lines))
    proc = subprocess.Popen([UPKEEP, "-c", f"{ROOT}/upkeep.toml"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        time.sleep(3)  # the start-up burst is over, the checks under way
        c0, t0, a0 = cpu_ns(proc.pid), time.monotonic(), ACCEPTED[0]
        time.sleep(IDLE_S)
        c1, t1, a1 = cpu_ns(proc.pid), time.monotonic(), ACCEPTED[0]
        restarts = open(f"{ROOT}/w/stamps").read().count("\n") - CHECKED
    finally:
        kill_tree(proc)
        server.close()
    return 100.0 * (c1 - c0) / 1e9 / (t1 - t0), restarts, (a1 - a0) / (t1 - t0)


def main():
    print(f"readiness benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"{SAMPLES} samples per row, interleaved")
    results = {k: [] for k in KINDS}
    failed = {k: 0 for k in KINDS}
    for _ in range(SAMPLES):
        for kind in KINDS:
            ms = latency_round(kind)
            if ms is None:
                failed[kind] += 1
            else:
                results[kind].append(ms)
    floor = statistics.median(results["ideal"]) if results["ideal"] else float("nan")
    print("\n(a) dependency ready -> dependent's first instruction (ms)")
    print(f"{'':16} {'median':>8} {'p90':>8} {'min':>8} {'max':>8} {'vs ideal':>9}  failed")
    for kind in KINDS:
        xs = sorted(results[kind])
        if not xs:
            print(f"{kind:16} {'-':>8}  (no sample)")
            continue
        med = statistics.median(xs)
        p90 = xs[min(len(xs) - 1, int(0.9 * len(xs)))]
        print(f"{kind:16} {med:8.3f} {p90:8.3f} {xs[0]:8.3f} {xs[-1]:8.3f} {med - floor:+8.3f}  "
              f"{failed[kind]}")
    print(f"\n(b) upkeep CPU, {CHECKED} services, over {IDLE_S:.0f} s (% of one core)")
    for label, with_checks in [("no checks", False), ("TCP health check every 1 s each", True)]:
        pct, restarts, rate = health_cpu(with_checks)
        print(f"{label:34} {pct:6.3f} %   ({rate:.0f} checks/s answered, {restarts} restarts)")
    shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()
