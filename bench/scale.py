"""Scale benchmark: the legal corpus repeated 1, 5 and 11 times (issue 15).

For each size: passages, characters, index seconds and passages/s (kb's analysis and whoosh,
every core, as `kb eval` indexes a BEIR set), peak RSS of the build, then p50/p95/p99 of
`kb.search.search` (the product path: grouping, snippets, facets, the rerank) and of the
results page (Flask test client) for 300 real questions (the 20 of legal-ru-dev and 280 of
xquad-ru), the growth of p95 from the first size to the last, and whether the fast scorer
ranked every query exactly as whoosh's own matchers, which score every posting.
With the `tantivy` package installed (a benchmark-only dependency: `.venv/bin/pip install
-e '.[bench]'`), the same queries through tantivy's BM25 over kb's own index terms, as a reference.

    .venv/bin/python bench/scale.py [--copies 1,5,11] [--work /tmp/kb-scale] [--queries 300]

Each build runs in a child process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bench"


def corpus(data: Path) -> list[dict]:
    with open(data / "legal-ru-dev" / "corpus.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def questions(data: Path, n: int) -> list[str]:
    qs = []
    for name in ("legal-ru-dev", "xquad-ru"):
        with open(data / name / "queries.jsonl", encoding="utf-8") as f:
            qs.append([json.loads(line)["text"] for line in f if line.strip()])
    legal, other = qs
    return legal + random.Random(15).sample(other, max(0, n - len(legal)))


def records(docs: list[dict], copies: int):
    for c in range(copies):
        for rec in docs:
            doc_id = f"{rec['_id']}~{c}" if c else str(rec["_id"])
            yield {"doc_id": doc_id, "ordinal": 0, "pid": doc_id, "path": doc_id + ".txt",
                   "title": rec.get("title", "") or "", "body": rec.get("text", "") or "",
                   "doc_type": "закон"}


def write_manifest(index_dir: Path, docs: list[dict], copies: int) -> None:
    """The manifest `search()` reads (titles, types): one entry per passage-document. Each copy
    has its own hash, so copies are separate documents as in a real archive, not joined."""
    from kb.index import store
    from kb.index.manifest import Entry, Manifest

    m = Manifest(version="bench-scale", corpus="bench")
    for rec in records(docs, copies):
        m.files[rec["path"]] = Entry(doc_id=rec["doc_id"], size=len(rec["body"]), mtime=0.0,
                                     sha256=rec["doc_id"], title=rec["title"], format="txt",
                                     doc_type=rec["doc_type"], year=None, pages=0, passages=1)
    m.write(store.current(index_dir) / "manifest.json")


def own_peak_mb() -> float:
    """This process's peak resident memory since it started its program (VmHWM).

    Not ru_maxrss: Linux carries a process's high-water mark across fork and exec, so a build
    child started by the bench after the 5x searches reported their ~1 GB as its own."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(data: Path, copies: int, index_dir: Path) -> dict:
    """In the child: index `copies` copies of the corpus, report time and memory as JSON."""
    from kb.index import write_passages

    docs = corpus(data)
    shutil.rmtree(index_dir, ignore_errors=True)
    t0 = time.perf_counter()
    n = write_passages(index_dir, records(docs, copies))
    secs = time.perf_counter() - t0
    write_manifest(index_dir, docs, copies)
    chars = copies * sum(len(d.get("title", "") or "") + len(d.get("text", "") or "") for d in docs)
    return {"passages": n, "chars": chars, "index_s": secs,
            "rss_self_mb": own_peak_mb(),
            "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def time_search(index_dir: Path, qs: list[str]) -> list[float]:
    """Milliseconds of `search()` per question (a refused question is left out)."""
    from kb.search import search

    search(index_dir, qs[0])            # open the index, load the word vectors
    times = []
    for q in qs:
        t0 = time.perf_counter()
        try:
            search(index_dir, q)
        except Exception:
            continue
        times.append((time.perf_counter() - t0) * 1000)
    return times


def time_pages(index_dir: Path, qs: list[str]) -> list[float]:
    from kb.web.app import create_app

    app = create_app(ROOT / "corpus", index_dir, max_per_client=0)
    client = app.test_client()
    client.get("/search", query_string={"q": qs[0]})
    times = []
    for q in qs:
        t0 = time.perf_counter()
        resp = client.get("/search", query_string={"q": q})
        if resp.status_code == 200:
            times.append((time.perf_counter() - t0) * 1000)
    return times


def ranking_diff(index_dir: Path, qs: list[str]) -> list[str]:
    """Queries whose ranking by the fast scorer (kb.index._bag) differs from whoosh's own
    matchers, which score every posting: the best 50 passages in order with their scores
    (to 1e-9), the passages and documents matched.

    Passages with equal scores are compared in docnum order: the copies of one article score
    the same, but whoosh's sums differ in the last bit from one segment to another (seen:
    13.745836445449134 and ...132 for copies of `uk-kr-150`), which orders the tie by segment
    rather than by docnum."""
    from kb.index import _engine, reader
    from kb.search.query import parse

    rd = reader(index_dir)
    differ = []
    for q in qs:
        try:
            node = parse(q).node
        except Exception:
            continue
        got = []
        for fast in (True, False):
            _engine.FAST_BAG = fast
            try:
                got.append(rd.search(node, limit=200))
            finally:
                _engine.FAST_BAG = True
        a, b = (_tie_order(r.hits)[:50] for r in got)
        same = (got[0].total == got[1].total and got[0].doc_counts == got[1].doc_counts
                and [h.docnum for h in a] == [h.docnum for h in b]
                and all(_same_score(x.score, y.score) for x, y in zip(a, b)))
        if not same:
            differ.append(q)
    return differ


def _same_score(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-9 * max(1.0, abs(y))


def _tie_order(hits: list) -> list:
    """Hits best first, passages whose scores agree to 1e-9 in docnum order."""
    out, group = [], []
    for h in hits:
        if group and not _same_score(h.score, group[0].score):
            out.extend(sorted(group, key=lambda g: g.docnum))
            group = []
        group.append(h)
    return out + sorted(group, key=lambda g: g.docnum)


def tantivy_times(index_dir: Path, qs: list[str], docs: list[dict], copies: int) -> dict | None:
    """BM25 top 10 by tantivy over kb's index terms (whitespace-joined), for the same queries."""
    try:
        import tantivy
    except ImportError:
        return None
    from kb.analysis import index_terms, is_kyrgyz, terms, tokenize

    def analysed_text(text: str) -> str:
        ky = is_kyrgyz(text)
        return " ".join(t for tok in tokenize(text) for t in index_terms(tok.norm, ky))

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("body", stored=False, tokenizer_name="whitespace")
    sb.add_text_field("title", stored=False, tokenizer_name="whitespace")
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    schema = sb.build()
    path = index_dir.parent / (index_dir.name + "-tantivy")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    ix = tantivy.Index(schema, path=str(path))
    w = ix.writer()
    t0 = time.perf_counter()
    analysed = [(analysed_text(d.get("title", "") or ""), analysed_text(d.get("text", "") or "")) for d in docs]
    for c in range(copies):
        for d, (title, body) in zip(docs, analysed):
            w.add_document(tantivy.Document(id=f"{d['_id']}~{c}", title=title, body=body))
    w.commit()
    w.wait_merging_threads()
    build_s = time.perf_counter() - t0
    ix.reload()
    s = ix.searcher()
    times = []
    for q in qs:
        words = sorted({t for tok in tokenize(q) for t in terms(tok.norm)})
        if not words:
            continue
        query = ix.parse_query(" ".join(words), ["body", "title"], field_boosts={"title": 3.0})
        t0 = time.perf_counter()
        s.search(query, 10)
        times.append((time.perf_counter() - t0) * 1000)
    return {"build_s": build_s, "times": times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", default="1,5,11")
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-scale"))
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--pages", type=int, default=100, help="results pages timed through the web app")
    ap.add_argument("--reuse", action="store_true", help="keep indexes already built in --work")
    ap.add_argument("--repeat", action="store_true",
                    help="ask the questions a second time: postings then come from the decoded cache")
    ap.add_argument("--compare", type=int, default=300,
                    help="queries whose ranking is checked against whoosh's own scorer (slow at 11x)")
    ap.add_argument("--no-compare", action="store_true", help="skip the reference-scorer comparison")
    ap.add_argument("--build", type=int, help=argparse.SUPPRESS)    # the child's job
    a = ap.parse_args()
    os.environ.setdefault("KB_EMBEDDER", "off")      # lexical scale: no passage vectors
    sys.path.insert(0, str(ROOT / "src"))
    if a.build:
        print(json.dumps(build(a.data, a.build, a.work / f"x{a.build}")))
        return

    docs = corpus(a.data)
    qs = questions(a.data, a.queries)
    rows = []
    for copies in [int(c) for c in a.copies.split(",")]:
        idx = a.work / f"x{copies}"
        info_file = a.work / f"x{copies}.json"
        if a.reuse and info_file.exists() and idx.exists():
            info = json.loads(info_file.read_text())
            from kb.index import store
            if not (store.current(idx) / "manifest.json").exists():
                write_manifest(idx, docs, copies)
        else:
            a.work.mkdir(parents=True, exist_ok=True)
            out = subprocess.run([sys.executable, __file__, "--build", str(copies), "--work", str(a.work),
                                  "--data", str(a.data)], capture_output=True, text=True, check=True)
            info = json.loads(out.stdout.strip().splitlines()[-1])
            info_file.write_text(json.dumps(info))
        times = time_search(idx, qs)
        again = time_search(idx, qs) if a.repeat else None
        web = time_pages(idx, qs[:a.pages])
        diff = None if a.no_compare else ranking_diff(idx, qs[:a.compare])
        tv = tantivy_times(idx, qs, docs, copies)
        rows.append((copies, info, times, web, diff, tv))
        print(f"{copies:>3}x  passages {info['passages']:>7,}  chars {info['chars'] / 1e6:6.1f}M  "
              f"index {info['index_s']:7.1f} s  {info['passages'] / info['index_s']:6.0f} passages/s  "
              f"peak RSS {info['rss_self_mb']:.0f} MB (+ writers {info['rss_children_mb']:.0f} MB)",
              flush=True)
        print(f"      search()  p50 {pct(times, 50):6.1f}  p95 {pct(times, 95):6.1f}  p99 {pct(times, 99):6.1f} ms"
              f"  ({len(times)} queries)   page p50 {pct(web, 50):6.1f}  p95 {pct(web, 95):6.1f} ms", flush=True)
        if again:
            print(f"      again     p50 {pct(again, 50):6.1f}  p95 {pct(again, 95):6.1f}  p99 {pct(again, 99):6.1f} ms"
                  "  (the same questions, terms already decoded)", flush=True)
        if diff is not None:
            n = min(len(qs), a.compare)
            print(f"      ranking vs whoosh's full scorer: {n - len(diff)}/{n} queries identical (top 50, totals)"
                  + (f"; differ: {diff[:3]}" if diff else ""), flush=True)
        if tv:
            print(f"      tantivy   p50 {pct(tv['times'], 50):6.2f}  p95 {pct(tv['times'], 95):6.2f} ms"
                  f"  (build {tv['build_s']:.1f} s)", flush=True)
        else:
            print("      tantivy   not installed (.venv/bin/pip install -e '.[bench]')", flush=True)
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(f"p95 growth {first[0]}x -> {last[0]}x: search() {pct(last[2], 95) / pct(first[2], 95):.2f}x, "
              f"page {pct(last[3], 95) / pct(first[3], 95):.2f}x")


if __name__ == "__main__":
    main()
