"""Serving bench: `kb serve --workers N` at 1, 8 and 32 concurrent clients (issue 15, item 4).

Starts the real `kb serve` (a child process, `--rescan 0`, the semantic layer off) over an index
of ../shared/data for each worker count, and asks the rendered results page (/search?q=...) the
same 200 questions as bench/web.py (legal-ru-dev and xquad-ru questions, words, operators).
Each concurrent client has its own loopback address (127.0.0.N): the per-client limit of
kb serve counts addresses. Prints p50/p95 latency, requests/s and errors per (workers,
clients), and for each worker count the throughput at 32 clients over that of one client.
Targets of the issue: 8 clients p95 <= 150 ms; 32 clients >= 1.6x one client on 2 cores.
Also printed: which worker gave the answers (X-KB-Worker), the CPU time the server's
processes spent per request (what an answer costs, whatever else the machine runs), the
load average, and each process's resident memory.

    .venv/bin/kb index --corpus ../shared/data --index /tmp/serve-bench-idx --no-vectors
    .venv/bin/python bench/serve.py --index /tmp/serve-bench-idx [--workers 1,2] [--rounds 1]

The machine may be shared: compare the rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import queries            # noqa: E402  bench/search.py: the 200 questions
from web import fetch, pct              # noqa: E402  bench/web.py: one GET, percentiles

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = (1, 8, 32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data: Path, index: Path, workers: int | None, log: Path) -> tuple[subprocess.Popen, str]:
    kb = Path(sys.executable).with_name("kb")
    port = free_port()
    cmd = [str(kb), "serve", "--corpus", str(data), "--index", str(index), "--port", str(port), "--rescan", "0"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    out = log.open("w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "KB_EMBEDDER": "off", "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    return proc, answering(proc, base, "/", 600, log)


def answering(proc: subprocess.Popen, base: str, path: str, seconds: float, log: Path) -> str:
    """`base` once `path` answers 200; the server's log in the error if it exits or stays silent."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"kb serve exited: {log.read_text()}")
        if fetch(base + path)[1] == 200:
            return base
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"kb serve did not answer in {seconds:.0f} s: {log.read_text()}")


def ask(url: str, source: str) -> tuple[float, int, str]:
    """(milliseconds, status, worker) of one GET on a new connection from `source`."""
    u = urllib.parse.urlsplit(url)
    t0 = time.perf_counter()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60, source_address=(source, 0))
        c.request("GET", f"{u.path}?{u.query}")
        r = c.getresponse()
        r.read()
        status, worker = r.status, r.getheader("X-KB-Worker") or "-"
        c.close()
    except OSError:
        status, worker = 0, "?"
    return (time.perf_counter() - t0) * 1000, status, worker


def clients_run(us: list[str], clients: int) -> tuple[list[float], int, float, Counter]:
    """Every URL once, by `clients` concurrent clients (127.0.0.2, .3, ...): latencies, errors,
    wall seconds, answers per worker."""
    times: list[float] = []
    errors, by_worker, work, lock = 0, Counter(), list(reversed(us)), threading.Lock()

    def run(source: str) -> None:
        nonlocal errors
        while True:
            with lock:
                if not work:
                    return
                u = work.pop()
            ms, status, worker = ask(u, source)
            with lock:
                times.append(ms)
                errors += status != 200
                by_worker[worker] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(f"127.0.0.{i + 2}",)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors, time.perf_counter() - t0, by_worker


def rss_mb(pid: int) -> dict[str, str]:
    """Memory of the server `pid` and of each of its children, by name: "RSS/PSS" in MB. PSS
    divides the pages processes share (what the workers inherited from the parent) among them."""
    def one(p: int) -> tuple[str, str]:
        status = Path(f"/proc/{p}/status").read_text()
        name = re.search(r"^Name:\s*(\S+)", status, re.M).group(1)
        rss = re.search(r"^VmRSS:\s*(\d+)", status, re.M)
        try:
            pss = re.search(r"^Pss:\s*(\d+)", Path(f"/proc/{p}/smaps_rollup").read_text(), re.M)
        except OSError:
            pss = None
        return name, (f"{int(rss.group(1)) / 1024:.0f}" if rss else "?") + "/" + \
            (f"{int(pss.group(1)) / 1024:.0f}" if pss else "?")

    out = dict([one(pid)])
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for k in (task / "children").read_text().split():
            try:
                name, mb = one(int(k))
            except OSError:
                continue
            out[name if name not in out else f"{name}-{k}"] = mb
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the server `pid` and its children alive now:
    per request, the cost of an answer whatever else the machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")

    def one(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    total = one(pid)
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for k in (task / "children").read_text().split():
            try:
                total += one(int(k))
            except OSError:
                pass
    return total


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                    help="the corpus the index was built from (its bench/ questions are asked)")
    ap.add_argument("--index", type=Path, default=Path("/tmp/serve-bench-idx"))
    ap.add_argument("--workers", default="1,2,default",
                    help="worker counts to compare, comma-separated; `default`: kb serve's own choice")
    ap.add_argument("--rounds", type=int, default=1, help="passes over the 200 questions per row")
    args = ap.parse_args()
    if not (args.data / "bench").is_dir():
        print(f"нет данных: {args.data} (needs ../shared/data)", file=sys.stderr)
        return 1
    from kb.web.workers import default_count

    counts: list[int | None] = []
    for w in args.workers.split(","):
        n = None if w.strip() == "default" else int(w)
        if (default_count() if n is None else n) not in [default_count() if c is None else c for c in counts]:
            counts.append(n)
    qs = queries(args.data)
    paths = [f"/search?q={urllib.parse.quote(q)}" for q in qs] * args.rounds
    rows = []
    print(f"cores: {default_count()}, load average: {os.getloadavg()[0]:.1f}", flush=True)
    for n in counts:
        label = f"{default_count() if n is None else n}" + (" (default)" if n in (None, default_count()) else "")
        proc, base = start(args.data, args.index, n, Path(f"/tmp/kb-bench-serve-{label.split()[0]}.log"))
        try:
            us = [base + p for p in paths]
            clients_run(us[:64], clients=8)        # every worker: reader, caches, templates warm
            for clients in CLIENTS:
                cpu0 = cpu_seconds(proc.pid)
                times, errors, wall, by_worker = clients_run(us, clients)
                cpu_ms = (cpu_seconds(proc.pid) - cpu0) * 1000 / len(us)
                rows.append((label, clients, len(us), statistics.median(times), pct(times, 95), len(us) / wall, errors,
                             cpu_ms))
                share = ", ".join(f"{w}: {k}" for w, k in sorted(by_worker.items()))
                print(f"  workers {label}, {clients} clients: p95 {pct(times, 95):.0f} ms, "
                      f"{len(us) / wall:.1f} req/s; answers by worker {share}; load {os.getloadavg()[0]:.1f}",
                      flush=True)
            mem = rss_mb(proc.pid)
            print("  memory RSS/PSS MB: " + ", ".join(f"{k} {v}" for k, v in mem.items()), flush=True)
        finally:
            stop(proc)

    # cores: the CPU the server got (req/s x CPU s per request). One process cannot pass 1.0
    # (one interpreter lock); more workers can, as far as the machine leaves cores free.
    print(f"\n{'workers':<12} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'errors':>6} "
          f"{'CPU ms/req':>10} {'cores':>6}")
    for label, clients, n, p50, p95, rps, errors, cpu_ms in rows:
        print(f"{label:<12} {clients:>7} {n:>8} {p50:>8.1f} {p95:>8.1f} {rps:>8.1f} {errors:>6} {cpu_ms:>10.0f} "
              f"{rps * cpu_ms / 1000:>6.2f}")
    print()
    one = {r[1]: r[5] for r in rows if r[0].split()[0] == "1"}
    for label in dict.fromkeys(r[0] for r in rows):
        if one and label.split()[0] != "1":
            mine = {r[1]: r[5] for r in rows if r[0] == label}
            print(f"workers {label} / workers 1 throughput: "
                  + ", ".join(f"{c} clients {mine[c] / one[c]:.2f}x" for c in CLIENTS))
    for label in dict.fromkeys(r[0] for r in rows):
        mine = {r[1]: r for r in rows if r[0] == label}
        ratio = mine[32][5] / mine[1][5]
        p95_8 = mine[8][4]
        print(f"workers {label}: 32 clients / 1 client throughput {ratio:.2f}x "
              f"(target >= 1.6x: {'met' if ratio >= 1.6 else 'NOT met'}); "
              f"8 clients p95 {p95_8:.0f} ms (target <= 150: {'met' if p95_8 <= 150 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
