"""Serving bench: `kb serve --workers N` at 1, 8 and 32 concurrent clients (issue 15, item 4).

Starts the real `kb serve` (a child process, `--rescan 0`, the semantic layer off) over an index
of ../shared/data for each worker count, and asks the rendered results page (/search?q=...) the
same 200 questions as bench/web.py (legal-ru-dev and xquad-ru questions, words, operators).
Each concurrent client has its own loopback address (127.0.0.N): the per-client limit of
kb serve counts addresses. Prints p50/p95 latency, requests/s and errors per (workers,
clients), and for each worker count the throughput at 32 clients over that of one client.
Targets of the issue: 8 clients p95 <= 150 ms; 32 clients >= 1.6x one client on 2 cores.

    .venv/bin/kb index --corpus ../shared/data --index /tmp/serve-bench-idx --no-vectors
    .venv/bin/python bench/serve.py --index /tmp/serve-bench-idx [--workers 1,2] [--rounds 1]

The machine may be shared: compare the rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import queries            # noqa: E402  bench/search.py: the 200 questions
from web import concurrent, fetch, pct  # noqa: E402  bench/web.py: one client, N clients

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
    end = time.monotonic() + 600
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"kb serve exited: {log.read_text()}")
        if fetch(base + "/")[1] == 200:
            return proc, base
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"kb serve did not answer in 600 s: {log.read_text()}")


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory (MB) of the server `pid` and of each of its children, by name."""
    def one(p: int) -> tuple[str, float]:
        status = Path(f"/proc/{p}/status").read_text()
        name = re.search(r"^Name:\s*(\S+)", status, re.M).group(1)
        kb = re.search(r"^VmRSS:\s*(\d+)", status, re.M)
        return name, int(kb.group(1)) / 1024 if kb else 0.0

    out = dict([one(pid)])
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for k in (task / "children").read_text().split():
            try:
                name, mb = one(int(k))
            except OSError:
                continue
            out[name if name not in out else f"{name}-{k}"] = mb
    return out


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
            concurrent(us[:64], clients=8)          # every worker: reader, caches, templates warm
            for clients in CLIENTS:
                times, errors, wall = concurrent(us, clients=clients)
                rows.append((label, clients, len(us), statistics.median(times), pct(times, 95), len(us) / wall, errors))
                print(f"  workers {label}, {clients} clients: p95 {pct(times, 95):.0f} ms, "
                      f"{len(us) / wall:.1f} req/s", flush=True)
            mem = rss_mb(proc.pid)
            print("  RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in mem.items()), flush=True)
        finally:
            stop(proc)

    print(f"\n{'workers':<12} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'errors':>6}")
    for label, clients, n, p50, p95, rps, errors in rows:
        print(f"{label:<12} {clients:>7} {n:>8} {p50:>8.1f} {p95:>8.1f} {rps:>8.1f} {errors:>6}")
    print()
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
