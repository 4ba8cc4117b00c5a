"""Web benchmark: latency of /api/search and of the rendered results page, alone and under 8 clients.

On the index of ../shared/data (all folders but bench/), served by waitress in a thread on
loopback, with 200 queries (legal-ru-dev and xquad-ru questions plus single words and operators).
Prints p50/p95 for each endpoint with one client, then requests/s, p50/p95 and errors with 8
concurrent clients (threads, each from its own loopback address). Target: p95 <= 150 ms with one client.

    .venv/bin/python bench/web.py [--data ../shared/data] [--work /tmp/kb-bench-web]

The index is kept in --work and updated incrementally, so reruns skip the extraction (1-2 min).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from search import link_corpus, queries   # bench/search.py: the same corpus and the same 200 queries

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 8
def fetch(url: str, source: str = "127.0.0.1") -> tuple[float, int]:
    """(milliseconds, status) of one GET from the loopback address `source`, body read in full.

    Each concurrent client has its own address (127.0.0.N): kb serve limits the searches in
    flight per client address, and 8 real clients are 8 addresses."""
    u = urllib.parse.urlsplit(url)
    t0 = time.perf_counter()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30, source_address=(source, 0))
        c.request("GET", u.path + ("?" + u.query if u.query else ""))
        r = c.getresponse()
        r.read()
        status = r.status
        c.close()
    except OSError:
        status = 0
    return (time.perf_counter() - t0) * 1000, status


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def urls(base: str, qs: list[str], kind: str) -> list[str]:
    path = "/api/search" if kind == "api" else "/search"
    return [f"{base}{path}?q={urllib.parse.quote(q)}" for q in qs]


def single(us: list[str]) -> tuple[list[float], int]:
    times, errors = [], 0
    for u in us:
        ms, status = fetch(u)
        times.append(ms)
        errors += status != 200
    return times, errors


def concurrent(us: list[str], clients: int = CLIENTS) -> tuple[list[float], int, float]:
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    work = list(us)

    def run(source: str) -> None:
        nonlocal errors
        while True:
            with lock:
                if not work:
                    return
                u = work.pop()
            ms, status = fetch(u, source)
            with lock:
                times.append(ms)
                errors += status != 200

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(f"127.0.0.{i + 2}",)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-bench-web"))
    args = ap.parse_args()
    if not (args.data / "bench").is_dir():
        print(f"нет данных: {args.data} (needs ../shared/data)", file=sys.stderr)
        return 1

    from waitress.server import create_server

    from kb.index import update_index
    from kb.web import create_app

    corpus, index = args.work / "corpus", args.work / "index"
    link_corpus(args.data, corpus)
    t0 = time.perf_counter()
    report = update_index(corpus, index, show_progress=True)
    print(f"index: {report.lines()[-1]} ({time.perf_counter() - t0:.0f} s)")

    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)   # "Task queue depth" under 8 clients
    server = create_server(create_app(corpus, index), host="127.0.0.1", port=0, threads=CLIENTS)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}"
    qs = queries(args.data)
    single(urls(base, qs[:20], "api"))            # warm the reader, the analyzer caches, templates

    rows = []
    for kind, label in (("api", "/api/search"), ("page", "/search (HTML)")):
        us = urls(base, qs, kind)
        times, errors = single(us)
        rows.append((f"{label}, 1 client", len(us), statistics.median(times), pct(times, 95), None, errors))
    for kind, label in (("api", "/api/search"), ("page", "/search (HTML)")):
        us = urls(base, qs, kind)
        times, errors, wall = concurrent(us)
        rows.append((f"{label}, {CLIENTS} clients", len(us), statistics.median(times), pct(times, 95),
                     len(us) / wall, errors))
    server.task_dispatcher.shutdown()   # workers first: a closed trigger raised in a late one
    server.close()

    print(f"\n{'endpoint':<30} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'errors':>6}")
    for name, n, p50, p95, rps, errors in rows:
        print(f"{name:<30} {n:>8} {p50:>8.1f} {p95:>8.1f} {(f'{rps:.1f}' if rps else '-'):>8} {errors:>6}")
    worst = max(r[3] for r in rows[:2])
    print(f"\ntarget p95 <= 150 ms with 1 client: {'met' if worst <= 150 else 'NOT met'} ({worst:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
