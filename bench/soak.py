"""Chaos soak: upkeep under everything at once, for --seconds (default 600).

20 services (crash-loopers, some with diagnostics, two logging flat out to files, sleepers),
SIGKILLs to random running services 10-50 ms apart, a control client sending random
status/stop/start/restart/signal requests, a reload every few seconds alternating two
configs, and bursts of signals to upkeep. Every second: is upkeep alive, does `status`
answer (and how fast). At the end: kills sent and the deaths upkeep logged for them (each
must say "restarting in"), zombies among upkeep's children, upkeep's RSS and open fds in the
first and the last minute, and log lines that should never be ("bug:", panics).

Usage: python3 bench/soak.py UPKEEP [--seconds N] [--json]. Root (kills, /proc).
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

UPKEEP = sys.argv[1]
SECONDS = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 600
AS_JSON = "--json" in sys.argv
ROOT = f"/tmp/upkeep-soak-{os.getpid()}"
SOCK = f"{ROOT}/sock"


def config(variant):
    lines = [f'[supervisor]\ncontrol_socket = "{SOCK}"\n']
    for k in range(20):
        lines.append(f"[service.s{k:02}]\n")
        if k < 4:
            lines.append(f'command = "sleep 0.{k + 1}; echo crash {k} >&2; exit 1"\n'
                         'restart_delay = "10ms"\nrestart_delay_max = "200ms"\n')
        elif k < 6:
            lines.append(f'command = ["yes", "flat out {k} {"x" * 60}"]\n'
                         f'output = "{ROOT}/flat{k}.log"\noutput_max_size = "1MB"\noutput_keep = 1\n')
        else:
            lines.append(f'command = "echo up {k} v{variant}; exec sleep 100000"\n'
                         'restart_delay = "5ms"\nstable_after = "0.1s"\n')
        if k % 3 == 0:
            lines.append('diagnose = "echo diag $UPKEEP_SERVICE $UPKEEP_EXIT_SIGNAL$UPKEEP_EXIT_CODE"\n'
                         'diagnose_timeout = "2s"\n')
        if variant == 1 and k in (7, 8):
            lines.append('env = { CHANGED = "1" }\n')
        lines.append('stop_timeout = "1s"\n')
    return "".join(lines)


def status(timeout=5.0):
    t0 = time.monotonic()
    try:
        out = subprocess.run([UPKEEP, "status", "--json", "--socket", SOCK], capture_output=True,
                             timeout=timeout)
        rows = json.loads(out.stdout or b"{}").get("services", [])
        return rows, time.monotonic() - t0
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return None, time.monotonic() - t0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])  # state, ppid
    except (OSError, IndexError):
        return None, None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    cfgs = [f"{ROOT}/a.toml", f"{ROOT}/b.toml"]
    for k, path in enumerate(cfgs):
        with open(path, "w") as f:
            f.write(config(k))
    live = f"{ROOT}/upkeep.toml"
    shutil.copy(cfgs[0], live)
    log = open(f"{ROOT}/log", "wb")
    up = subprocess.Popen([UPKEEP, "-c", live], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    rng = random.Random(1)
    for _ in range(200):
        if os.path.exists(SOCK):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    kills = status_failures = 0
    slowest = 0.0
    samples = []  # (t, rss, fds)
    t0 = time.monotonic()
    next_second = next_reload = next_request = next_burst = t0
    variant = 0
    rows = []
    while time.monotonic() - t0 < SECONDS:
        now = time.monotonic()
        if up.poll() is not None:
            break
        if now >= next_second:
            got, took = status()
            if got is None:
                status_failures += 1
            else:
                rows = got
            slowest = max(slowest, took)
            samples.append((now - t0, rss_kib(up.pid), fds(up.pid)))
            next_second = now + 1
        if now >= next_reload:
            variant ^= 1
            shutil.copy(cfgs[variant], live)
            up.send_signal(signal.SIGHUP)
            next_reload = now + rng.uniform(2, 4)
        if now >= next_request:
            name = f"s{rng.randrange(20):02}"
            verb = rng.choice(["status", "stop", "start", "restart", "signal"])
            argv = [UPKEEP, verb] + (["USR1"] if verb == "signal" else []) + [name, "--socket", SOCK]
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if verb == "stop":  # bring it back soon
                subprocess.Popen([UPKEEP, "start", name, "--socket", SOCK],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            next_request = now + rng.uniform(0.05, 0.3)
        if now >= next_burst:
            for _ in range(rng.randrange(50, 200)):
                up.send_signal(rng.choice([signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH]))
            next_burst = now + rng.uniform(1, 3)
        # A SIGKILL to a running service's main process, verified to be upkeep's child.
        running = [r for r in rows if r.get("state") == "running" and r.get("pid")]
        if running:
            pid = rng.choice(running)["pid"]
            state, ppid = proc_stat(pid)
            if ppid == up.pid and state not in ("Z", None):
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass  # reaped in between
                rows = [r for r in rows if r.get("pid") != pid]
        time.sleep(rng.uniform(0.010, 0.050))
    alive = up.poll() is None
    time.sleep(1)
    # A crash-looper may have died this very instant: a zombie counts when it is still
    # there, unreaped, half a second later.
    def zombie_pids():
        return {c for c in children(up.pid) if proc_stat(c)[0] == "Z"}
    zombies = len(zombie_pids() & (time.sleep(0.5) or zombie_pids())) if alive else -1
    got, took = status()
    up.send_signal(signal.SIGTERM)
    try:
        code = up.wait(timeout=30)
    except subprocess.TimeoutExpired:
        up.kill()
        code = None
    log.close()
    text = open(f"{ROOT}/log", "rb").read().decode(errors="replace")
    deaths = re.findall(r"Z upkeep: (s\d\d) killed by signal KILL after [^;]*; ([^\n]*)", text)
    answered = sum(1 for _, rest in deaths if rest.startswith("restarting in")
                   or rest.startswith("not restarting: shutting down"))
    # A kill that landed while a stop request was being carried out.
    stopped = len(re.findall(r"Z upkeep: s\d\d stopped: killed by signal KILL", text))
    impossible = [l for l in text.splitlines() if "bug:" in l or "panicked" in l]
    first = [s for s in samples if s[0] < 60]
    last = [s for s in samples if s[0] >= samples[-1][0] - 60] if samples else []
    summary = {
        "seconds": round(time.monotonic() - t0, 1),
        "alive_throughout": alive,
        "exit_code_after_term": code,
        "kills": kills,
        "kill_deaths_logged": len(deaths),
        "kill_deaths_restarted": answered,
        "kills_during_a_stop": stopped,
        "restarts_total": text.count(" started, pid ") ,
        "status_failures": status_failures,
        "status_slowest_ms": round(max(slowest, took) * 1000, 1),
        "zombies_at_end": zombies,
        "rss_kib_first_minute": [min(s[1] for s in first), max(s[1] for s in first)] if first else None,
        "rss_kib_last_minute": [min(s[1] for s in last), max(s[1] for s in last)] if last else None,
        "fds_first_minute": [min(s[2] for s in first), max(s[2] for s in first)] if first else None,
        "fds_last_minute": [min(s[2] for s in last), max(s[2] for s in last)] if last else None,
        "impossible_lines": impossible[:5],
    }
    if AS_JSON:
        print(json.dumps(summary))
    else:
        for k, v in summary.items():
            print(f"{k}: {v}")
    shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()
