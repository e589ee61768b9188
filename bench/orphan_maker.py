"""Runs as COMMAND under an init that is PID 1 of a fresh PID namespace.

Makes N orphans that exit at once (double fork), then waits until no zombie is left in the
namespace, and prints one JSON line: how long the init took to reap them after the last one
was made, and the init's own CPU time (/proc/1/schedstat, else utime+stime of /proc/1/stat;
children excluded).
"""
import json
import os
import sys
import time


def zombies():
    n = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2] == "Z":
            n += 1
    return n


def init_cpu_seconds():
    # schedstat's run time is exact (ns); utime+stime are sampled at the clock tick.
    try:
        with open("/proc/1/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open("/proc/1/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def main():
    n = int(sys.argv[1])
    cpu0 = init_cpu_seconds()
    t0 = time.monotonic()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    made = time.monotonic()
    while zombies():
        time.sleep(0.001)
    done = time.monotonic()
    print(json.dumps({
        "total_s": done - t0,
        "drain_s": done - made,
        "init_cpu_s": init_cpu_seconds() - cpu0,
    }))


main()
