"""Cluster bench (issue 30, item 5): one indexer and followers (`kb serve --follow URL`).

Copies ../shared/data (mtimes kept) and the published generation of an index of it (by default
/work/real-index-main, read-only: only its CURRENT and generation folder are copied) into a
temporary folder, starts the indexer (`kb serve --workers 1 --rescan 0`, the semantic layer off,
as bench/serve.py) and two followers (`--follow`, `--workers 1`: one process, so a node is at
most one core), and asks the rendered results page the 200 questions of bench/search.py with 8
and 32 concurrent clients, round-robin over 1, 2 and 3 nodes from the client side (each client
its own loopback address: the per-client limit counts addresses). Prints p50/p95, requests/s,
errors, and the CPU each node's process got during the run (seconds, and cores = CPU s / wall s).
Then it adds a file to the indexer's corpus, runs `kb index --no-vectors`, and measures the delay
from the end of that run to the new document answering on every node (`--repeat` times).

    .venv/bin/python bench/cluster.py [--index /work/real-index-main] [--repeat 3] > /tmp/cluster.txt

The copied manifest is made to name the copied corpus, and files whose content is the indexed
one get the times it recorded, so the indexer starts at once and `kb index` only updates.

The machine may be shared with other work: compare rows of one run. Nodes on one machine share
its cores, so past the cores the machine has, more nodes add no throughput here; on separate
machines each node brings its own.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import queries                      # noqa: E402  the 200 questions
from serve import answering, cpu_seconds, free_port, stop  # noqa: E402  start, CPU of a server and its children
from web import concurrent, pct                  # noqa: E402  many clients, percentiles

ROOT = Path(__file__).resolve().parents[1]
KB = Path(sys.executable).with_name("kb")


def kb(*args: str) -> list[str]:
    return [str(KB) if KB.exists() else sys.executable, *([] if KB.exists() else ["-m", "kb.cli"]), *args]


def start(name: str, work: Path, index: Path, corpus: Path, env: dict, *extra: str):
    port = free_port()
    log = (work / f"{name}.log").open("w")
    proc = subprocess.Popen(kb("serve", "--corpus", str(corpus), "--index", str(index), "--port", str(port),
                               "--rescan", "0", "--workers", "1", *extra),
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    return proc, answering(proc, f"http://127.0.0.1:{port}", "/health/ready", 900, work / f"{name}.log")


def run(bases: list[str], paths: list[str], clients: int) -> tuple[list[float], int, float]:
    """Every path once, by `clients` clients (bench/web.py); path i goes to node i % len(bases)."""
    return concurrent([bases[i % len(bases)] + p for i, p in enumerate(paths)], clients)


def found(base: str, word: str) -> bool:
    u = urllib.parse.urlsplit(f"{base}/api/search?q={urllib.parse.quote(word)}")
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", f"{u.path}?{u.query}")
        r = c.getresponse()
        body = r.read()
        c.close()
    except OSError:
        return False
    return r.status == 200 and json.loads(body).get("total_docs", 0) > 0


def _as_indexed(corpus: Path, index: Path) -> None:
    """Make the copied index the index of the copied corpus: its manifest names the copy, and
    each file whose content is the indexed one (same sha256) gets the time the manifest
    recorded, so neither the indexer's start nor the first `kb index` indexes everything again
    (`kb serve` compares sizes and times; `kb index` rebuilds for another corpus folder). A file
    that differs is left as it is and indexed at start."""
    import hashlib

    from kb.index.manifest import Manifest

    man = Manifest.load(index)
    for rel, e in man.files.items():
        path = corpus / rel
        try:
            if path.stat().st_size == e.size and hashlib.sha256(path.read_bytes()).hexdigest() == e.sha256:
                os.utime(path, (e.mtime, e.mtime))
        except OSError:
            continue
    man.corpus = str(corpus.resolve())
    man.save(index)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--index", type=Path, default=Path("/work/real-index-main"),
                    help="an index of --data whose published generation is copied (read only)")
    ap.add_argument("--repeat", type=int, default=3, help="new generations timed to every node")
    ap.add_argument("--follow-every", default="2", help="the followers' --follow-every (seconds)")
    args = ap.parse_args()
    if not (args.data / "bench").is_dir():
        print(f"нет данных: {args.data} (needs ../shared/data)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="kb-cluster-bench-"))
    corpus, index = work / "corpus", work / "index-indexer"
    shutil.copytree(args.data, corpus, copy_function=shutil.copy2)
    index.mkdir()
    cur = (args.index / "CURRENT").read_text().strip()
    shutil.copytree(args.index / cur, index / cur, ignore=shutil.ignore_patterns("*LOCK"))
    (index / "CURRENT").write_text(cur + "\n")
    _as_indexed(corpus, index)
    env = {**os.environ, "KB_EMBEDDER": "off", "PYTHONUNBUFFERED": "1", "KB_CLUSTER_SECRET": secrets.token_hex(24)}
    procs, bases = {}, {}
    try:
        t0 = time.monotonic()
        procs["indexer"], bases["indexer"] = start("indexer", work, index, corpus, env)
        print(f"indexer ready in {time.monotonic() - t0:.1f} s", flush=True)
        for name in ("follower-1", "follower-2"):
            t0 = time.monotonic()
            procs[name], bases[name] = start(name, work, work / f"index-{name}", work / "none", env,
                                             "--follow", bases["indexer"], "--follow-every", args.follow_every)
            print(f"{name} ready (first copy of the index) in {time.monotonic() - t0:.1f} s", flush=True)
        names = list(bases)
        qs = queries(args.data)
        paths = [f"/search?q={urllib.parse.quote(q)}" for q in qs]
        for name in names:                         # each node's reader, caches and templates warm
            run([bases[name]], paths[:40], 4)
        rows = []
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}", flush=True)
        for n in (1, 2, 3):
            for clients in (8, 32):
                cpu0 = {k: cpu_seconds(procs[k].pid) for k in names[:n]}
                times, errors, wall = run([bases[k] for k in names[:n]], paths, clients)
                cpu = {k: cpu_seconds(procs[k].pid) - cpu0[k] for k in names[:n]}
                rows.append((n, clients, len(paths), statistics.median(times), pct(times, 95), len(paths) / wall,
                             errors, wall, cpu))
                print(f"  {n} node(s), {clients} clients: {len(paths) / wall:.1f} req/s, p95 "
                      f"{pct(times, 95):.0f} ms, load {os.getloadavg()[0]:.1f}", flush=True)
        # cores: CPU seconds the nodes got over the wall time of the run; CPU ms/req: what one answer
        # costs, whatever else the machine runs (req/s = cores got / CPU s per request).
        print(f"\n{'nodes':>5} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7} {'errors':>6} "
              f"{'cores':>6} {'CPU ms/req':>10}  CPU s per node (cores)")
        for n, clients, k, p50, p95, rps, errors, wall, cpu in rows:
            per = ", ".join(f"{cpu[x]:.1f} ({cpu[x] / wall:.2f})" for x in names[:n])
            total = sum(cpu.values())
            print(f"{n:>5} {clients:>7} {k:>8} {p50:>8.1f} {p95:>8.1f} {rps:>7.1f} {errors:>6} {total / wall:>6.2f} "
                  f"{total * 1000 / k:>10.0f}  {per}")

        print("\nfrom the end of `kb index` to the new document answering on each node:")
        delays: dict[str, list[float]] = {k: [] for k in names}
        for r in range(args.repeat):
            word = f"кластерпроверка{secrets.token_hex(3)}"
            (corpus / f"cluster-bench-{r}.txt").write_text(f"Проверка кластера: {word}.\n", encoding="utf-8")
            t0 = time.monotonic()
            done = subprocess.run(kb("index", "--quiet", "--no-vectors", "--corpus", str(corpus), "--index",
                                     str(index)), capture_output=True, text=True, env=env)
            if done.returncode:
                raise SystemExit(done.stderr[-2000:])
            end = time.monotonic()
            left = set(names)
            while left and time.monotonic() - end < 120:
                for k in list(left):
                    if found(bases[k], word):
                        delays[k].append(time.monotonic() - end)
                        left.discard(k)
                time.sleep(0.05)
            print(f"  round {r + 1}: kb index took {end - t0:.1f} s; "
                  + ", ".join(f"{k} {delays[k][-1]:.2f} s" if len(delays[k]) > r else f"{k} NOT in 120 s"
                              for k in names), flush=True)
        for k in names:
            if delays[k]:
                print(f"  {k}: median {statistics.median(delays[k]):.2f} s, max {max(delays[k]):.2f} s")
    finally:
        for p in procs.values():
            stop(p)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
