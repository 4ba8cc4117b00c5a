"""Index and search benchmark on the real documents of ../shared/data (all folders but bench/).

Prints: passages, index time and passages/s (analysis + whoosh, extraction cached),
index size, peak RSS, the time of a rerun with nothing changed, and p50/p95 latency
of 200 queries with snippets for the top 10.

    .venv/bin/python bench/search.py [--data ../shared/data] [--work /tmp/kb-bench-search]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(p: Path) -> float:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 1e6


def link_corpus(data: Path, dest: Path) -> None:
    """A corpus of copies of the real documents, bench/ left out (copies: kb skips links that
    lead out of the corpus folder)."""
    for sub in sorted(data.iterdir()):
        if sub.is_dir() and sub.name != "bench":
            (dest / sub.name).mkdir(parents=True, exist_ok=True)
            for f in sub.iterdir():
                copy = dest / sub.name / f.name
                if copy.is_symlink():
                    copy.unlink()           # a link left by an older version of this script
                if f.is_file() and not copy.exists():
                    shutil.copy2(f, copy)


def queries(data: Path, n: int = 200) -> list[str]:
    qs = []
    for name in ("legal-ru-dev", "xquad-ru"):
        with open(data / "bench" / name / "queries.jsonl", encoding="utf-8") as f:
            qs += [json.loads(line)["text"] for line in f if line.strip()]
    rnd = random.Random(7)
    words = ["жилье", "аренда", "выселение", "земельный участок", "наследство", "договор найма",
             "\"право собственности\"", "коммунальные услуги", "штраф", "развод", "жил*", "!жилья",
             "статья 84", "налог на имущество", "трудовой договор", "инвалидов"]
    legal = qs[:20]
    rest = rnd.sample(qs[20:], n - len(legal) - len(words))
    return legal + words + rest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-bench-search"))
    args = ap.parse_args()
    from kb.index import Manifest, update_index
    from kb.index import _engine, store
    from kb.search import search

    if not (args.data / "README.md").exists():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    corpus, index = args.work / "corpus", args.work / "index"
    link_corpus(args.data, corpus)

    t = time.perf_counter()
    r = update_index(corpus, index, show_progress=False)
    print(f"first run (extraction + index): {time.perf_counter() - t:.1f} s, {len(r.added)} docs, "
          f"{len(r.failed)} failed")

    # Full re-index from the extraction cache: what an analyzer change costs.
    rss0 = rss_mb()
    t = time.perf_counter()
    r = update_index(corpus, index, show_progress=False, rebuild=True)
    dt = time.perf_counter() - t
    passages = sum(e.passages for e in Manifest.load(index).files.values())
    print(f"passages            {passages}")
    print(f"index time          {dt:.1f} s  (extraction cached)")
    print(f"passages/s          {passages / dt:.0f}")
    print(f"index size          {dir_mb(store.current(index)):.1f} MB (+ extraction cache {dir_mb(index / 'cache'):.1f} MB; "
          f"the previous generation is kept until the next change)")
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS            {max(rss0, rss_mb()):.0f} MB (largest writer/extractor child {kids:.0f} MB)")

    t = time.perf_counter()
    r = update_index(corpus, index, show_progress=False)
    print(f"rerun, no change    {time.perf_counter() - t:.2f} s  (unchanged {r.unchanged})")

    qs = queries(args.data)
    search(index, "жилье")                      # open the searcher once
    times = []
    for q in qs:
        t = time.perf_counter()
        search(index, q, per_page=10)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"queries             {len(qs)} (top 10 documents with snippets)")
    print(f"latency p50         {statistics.median(times):.1f} ms")
    print(f"latency p95         {times[int(len(times) * 0.95) - 1]:.1f} ms")
    print(f"peak RSS (end)      {rss_mb():.0f} MB")
    _engine.forget_readers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
