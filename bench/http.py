#!/usr/bin/env python3
"""HTTP endpoint benchmark: the cost of one scrape of /metrics at 100 and 1,000 services
(upkeep's CPU per scrape, from /proc; latency, median / p95), and idle wake-ups (voluntary
context switches) with the endpoint enabled and unscraped: must be 0.

usage: bench/http.py UPKEEP [SCRAPES]   (only 127.0.0.1 is used)
"""
import os, socket, statistics, subprocess, sys, tempfile, time

BIN = sys.argv[1]
SCRAPES = int(sys.argv[2]) if len(sys.argv) > 2 else 200
IDLE_S = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def switches(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches"))


def get(port, path="/metrics"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(1 << 16):
        data += chunk
    s.close()
    return data


def start(n, tmp):
    port = free_port()
    conf = os.path.join(tmp, f"u{n}.toml")
    with open(conf, "w") as f:
        f.write(f'[supervisor]\ncontrol_socket = "{tmp}/sock{n}"\nhttp = "127.0.0.1:{port}"\n')
        for k in range(n):
            f.write(f'[service.s{k}]\ncommand = ["sleep", "100000"]\n')
    p = subprocess.Popen([BIN, "-c", conf], stderr=subprocess.DEVNULL, env={"PATH": os.environ["PATH"]})
    for _ in range(200):
        try:
            if b"200 OK" in get(port, "/readyz")[:20]:
                break
        except OSError:
            pass
        time.sleep(0.05)
    return p, port


def main():
    hz = os.sysconf("SC_CLK_TCK")
    tmp = tempfile.mkdtemp()
    print("| services | scrape latency median / p95 | upkeep CPU per scrape | body |")
    print("|---|---|---|---|")
    for n in (100, 1000):
        p, port = start(n, tmp)
        get(port)
        lat = []
        before = cpu_ticks(p.pid)
        for _ in range(SCRAPES):
            t = time.perf_counter()
            body = get(port)
            lat.append((time.perf_counter() - t) * 1000)
        cpu_ms = (cpu_ticks(p.pid) - before) * 1000 / hz / SCRAPES
        lat.sort()
        p95 = lat[int(len(lat) * 0.95) - 1]
        print(f"| {n:,} | {statistics.median(lat):.2f} / {p95:.2f} ms | {cpu_ms:.2f} ms "
              f"| {len(body) // 1024} KiB |")
        p.terminate()
        p.wait()
    p, port = start(10, tmp)
    get(port)
    time.sleep(1)
    sw = switches(p.pid)
    time.sleep(IDLE_S)
    print(f"\nidle, endpoint enabled and unscraped, 10 services, {IDLE_S:.0f} s: "
          f"{switches(p.pid) - sw} wake-ups")
    p.terminate()
    p.wait()


main()
