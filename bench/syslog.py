"""Syslog relay benchmark: upkeep's `[supervisor] syslog_listen` beside socklog, busybox
syslogd and rsyslogd, with a floor program first.

Every listener binds a unix datagram socket and writes each message as a line to a file on
tmpfs (its stdout and stderr, opened for appending; rsyslogd's omfile, busybox's `-O -`): the
same destination for all, one that never stalls, so nothing is measured but the listener.
One sender (bench/syslog_sender.c) sends N messages of about 100 bytes as glibc's syslog(3)
does (RFC 3164, a blocking send() on a connected socket: a full queue holds it up). Per
listener, median of the rounds:

- messages/s: N over the time from the first send until N lines are in the file;
- the listener's CPU per million messages (on-CPU time of all its threads, schedstat);
- how often it was woken (context switches of its threads) per 1,000 messages;
- its RSS and PSS at the end;
- how long the sender took to send them all (held up by a full queue);
- idle: the CPU ticks and wake-ups (context switches) of a fresh listener over 10 s with
  nothing sent, all listeners side by side.

Usage: python3 bench/syslog.py UPKEEP FLOOR SENDER. Root; socklog, rsyslog and busybox installed.
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

UPKEEP, FLOOR, SENDER = sys.argv[1], sys.argv[2], sys.argv[3]
ROOT = "/dev/shm/upkeep-bench-syslog"  # tmpfs: the file every listener writes, removed after
# A million: runs under a second on a shared 2-core machine were 20% apart from one another.
N = int(os.environ.get("BENCH_MESSAGES", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
IDLE_S = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))


class Listener:
    """One listener: its argv, where its socket is, how it is started in `d`."""

    def __init__(self, d):
        self.d = d
        self.sock = os.path.join(d, "log.sock")
        self.out = os.path.join(d, "out")
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def socket_path(self):
        return self.sock

    def start(self):
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket_path()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: no socket at {self.socket_path()}")
            time.sleep(0.01)
        time.sleep(0.3)  # its start-up lines, if any, are written before the count starts

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            self.proc.wait()


class Floor(Listener):
    name = "floor (bench/syslog_floor.c: recv, write)"

    def argv(self):
        return [FLOOR, self.sock]


class Upkeep(Listener):
    name = "upkeep, `syslog_listen` (no services)"

    def argv(self):
        cfg = os.path.join(self.d, "upkeep.toml")
        with open(cfg, "w") as f:
            f.write(f'[supervisor]\nsyslog_listen = "{self.sock}"\n'
                    f'control_socket = "{self.d}/control.sock"\n')
        return [UPKEEP, "-q", "-c", cfg]


class Socklog(Listener):
    name = "socklog unix"

    def argv(self):
        return ["socklog", "unix", self.sock]


class Busybox(Listener):
    name = "busybox syslogd -n -O -"

    def argv(self):
        # Debian's busybox syslogd listens on /dev/log only: a /dev of its own (tmpfs) in a
        # mount namespace of its own; the sender reaches it through /proc/PID/root. unshare
        # and sh exec: the pid is syslogd's.
        return ["unshare", "-m", "sh", "-c",
                "mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs /dev && "
                "exec busybox syslogd -n -O - -l 8"]

    def socket_path(self):
        return f"/proc/{self.proc.pid}/root/dev/log"


class Rsyslog(Listener):
    name = "rsyslogd (imuxsock, omfile)"

    def argv(self):
        conf = os.path.join(self.d, "rsyslog.conf")
        with open(conf, "w") as f:
            # No rate limit (its default drops past 200 messages in 5 s from one pid).
            f.write(f'global(workDirectory="{self.d}")\n'
                    'module(load="imuxsock" SysSock.Use="off")\n'
                    f'input(type="imuxsock" Socket="{self.sock}" RateLimit.Interval="0")\n'
                    f'*.* action(type="omfile" file="{self.out}")\n')
        return ["rsyslogd", "-n", "-f", conf, "-i", os.path.join(self.d, "rsyslogd.pid")]


KINDS = [Floor, Upkeep, Socklog, Busybox, Rsyslog]


def tasks(pid):
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def cpu_ns(pid):
    """On-CPU time of all the process's threads (ns), from schedstat: finer than ticks."""
    total = 0
    for t in tasks(pid):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def ticks_and_wakeups(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime, all threads
    switches = 0
    for t in tasks(pid):
        try:
            with open(f"/proc/{pid}/task/{t}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
        except OSError:
            pass
    return ticks, switches


def memory_kib(pid):
    got = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("Rss", "Pss"):
                got[key] = int(line.split()[1])
    return got["Rss"], got["Pss"]


class Counter:
    """Lines in the output file, read on from where it left off."""

    def __init__(self, path):
        self.path, self.offset, self.lines = path, 0, 0

    def update(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        self.lines += data.count(b"\n")
        return self.lines


def fresh(name):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def throughput(kind, r):
    lst = kind(fresh(f"{kind.__name__.lower()}-{r}"))
    lst.start()
    try:
        count = Counter(lst.out)
        base = count.update()
        pid = lst.proc.pid
        cpu0, (_, woke0) = cpu_ns(pid), ticks_and_wakeups(pid)
        t0 = time.monotonic()
        sent = subprocess.run([SENDER, lst.socket_path(), str(N)], check=True,
                              capture_output=True, text=True)
        # The sender is done: what is left is in the socket's queue or the listener.
        last, last_t = count.update(), time.monotonic()
        while last - base < N and time.monotonic() - last_t < 5:
            time.sleep(0.002)
            now = count.update()
            if now != last:
                last, last_t = now, time.monotonic()
        wall = last_t - t0
        cpu = cpu_ns(pid) - cpu0
        woke = ticks_and_wakeups(pid)[1] - woke0
        rss, pss = memory_kib(pid)
    finally:
        lst.stop()
        shutil.rmtree(lst.d)  # tmpfs is memory: each run's file goes once counted
    return {"wall": wall, "cpu": cpu / 1e9, "rss": rss, "pss": pss, "lines": last - base,
            "woke": woke,
            "send": int(sent.stdout) / 1e9}


def idle():
    """Every listener started, nothing sent, IDLE_S seconds: ticks and wake-ups of each."""
    started = []
    try:
        for kind in KINDS:
            lst = kind(fresh(f"{kind.__name__.lower()}-idle"))
            lst.start()
            started.append(lst)
        time.sleep(1)
        before = [ticks_and_wakeups(lst.proc.pid) for lst in started]
        time.sleep(IDLE_S)
        after = [ticks_and_wakeups(lst.proc.pid) for lst in started]
    finally:
        for lst in started:
            lst.stop()
        shutil.rmtree(ROOT)
    return {type(lst): (a[0] - b[0], a[1] - b[1]) for lst, b, a in zip(started, before, after)}


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    rows = {k: [] for k in KINDS}
    for r in range(ROUNDS):
        for kind in KINDS:
            rows[kind].append(throughput(kind, r))
    quiet = idle()
    print(f"Syslog relay benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
          f"{N:,} datagrams of ~100 bytes (RFC 3164, blocking send), each listener writing "
          f"lines to a file on tmpfs; median of {ROUNDS} rounds")
    print()
    print("| listener | messages/s | vs floor | CPU per million messages (s) | vs floor "
          f"| RSS / PSS at the end (KiB) | idle {IDLE_S:.0f} s: CPU ticks / wake-ups "
          "| wake-ups per 1,000 messages | lines written | sender's time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    floor_rate = floor_cpu = None
    for kind, runs in rows.items():
        rate = N / statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs) * 1e6 / N
        if floor_rate is None:
            floor_rate, floor_cpu = rate, cpu
        rss = statistics.median(r["rss"] for r in runs)
        pss = statistics.median(r["pss"] for r in runs)
        lines = min(r["lines"] for r in runs)
        send = statistics.median(r["send"] for r in runs)
        woke = statistics.median(r["woke"] for r in runs) * 1000 / N
        ticks, wakeups = quiet[kind]
        print(f"| {kind.name} | {rate:,.0f} | {rate / floor_rate:.2f} | {cpu:.2f} "
              f"| {cpu / floor_cpu:.2f} | {rss:,.0f} / {pss:,.0f} | {ticks} / {wakeups} "
              f"| {woke:.0f} | {lines:,}{'' if lines == N else ' (fewest of the rounds)'} | {send:.2f} |")


if __name__ == "__main__":
    main()
