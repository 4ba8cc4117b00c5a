"""Incremental updates at scale: does `kb index` slow down as updates pile up? (issue 15, item 5)

Writes the legal corpus of ../shared/data/bench/legal-ru-dev as text files (`--copies` times:
1 is 6,822 files, 11 is 75,042), indexes them with `update_index` (the `kb index` path:
extraction, analysis, every core), then runs `--rounds` small updates, each adding, changing and
deleting a few files, as a working archive gets them. Each round prints its seconds, the
segments of the published index, and p95 of `search()` over a fixed set of questions. Whoosh
writes every update as a new small segment and merges small ones at commit; without merging,
segments and query time would grow round after round.

    .venv/bin/python bench/updates.py [--copies 1] [--rounds 30] [--work /tmp/kb-updates]

Prints the mean of the first and last five rounds and their ratio (flat is ~1.0). The vectors
are off (KB_EMBEDDER=off): this measures the lexical index. Compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bench"


def articles(data: Path) -> list[dict]:
    with open(data / "legal-ru-dev" / "corpus.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_file(folder: Path, name: str, rec: dict, note: str = "") -> None:
    text = f"{rec.get('title', '')}\n\n{rec.get('text', '')}\n"
    if note:
        text += f"\n{note}\n"
    (folder / name).write_text(text, encoding="utf-8")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def query_p95(index_dir: Path, qs: list[str]) -> float:
    from kb.search import search

    search(index_dir, qs[0])               # the new generation opened once, as a server would
    times = []
    for q in qs:
        t0 = time.perf_counter()
        search(index_dir, q)
        times.append((time.perf_counter() - t0) * 1000)
    return pct(times, 95)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--add", type=int, default=20, help="files added per round")
    ap.add_argument("--change", type=int, default=10, help="files changed per round")
    ap.add_argument("--delete", type=int, default=5, help="files deleted per round")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-updates"))
    ap.add_argument("--data", type=Path, default=DATA)
    a = ap.parse_args()
    os.environ["KB_EMBEDDER"] = "off"
    sys.path.insert(0, str(ROOT / "src"))
    from kb.index import segment_count, update_index

    recs = articles(a.data)
    rng = random.Random(15)
    with open(a.data / "legal-ru-dev" / "queries.jsonl", encoding="utf-8") as f:
        qs = [json.loads(line)["text"] for line in f if line.strip()]
    qs = (qs * (a.queries // len(qs) + 1))[:a.queries]

    corpus, index = a.work / "corpus", a.work / "index"
    shutil.rmtree(a.work, ignore_errors=True)
    corpus.mkdir(parents=True)
    names = []
    for c in range(a.copies):
        for i, rec in enumerate(recs):
            name = f"{c:02d}-{i:05d}.txt"
            write_file(corpus, name, rec, f"Копия {c}." if c else "")
            names.append(name)
    t0 = time.perf_counter()
    rep = update_index(corpus, index, show_progress=False)
    secs = time.perf_counter() - t0
    print(f"initial  files {len(names):,}  passages {rep.passages:,}  index {secs:.1f} s  "
          f"{rep.passages / secs:.0f} passages/s  segments {segment_count(index)}  "
          f"search p95 {query_p95(index, qs):.1f} ms", flush=True)

    rows = []
    fresh = 0
    for r in range(1, a.rounds + 1):
        for _ in range(a.add):
            fresh += 1
            name = f"new-{fresh:05d}.txt"
            write_file(corpus, name, rng.choice(recs), f"Поступило в раунде {r}.")
            names.append(name)
        for name in rng.sample(names, a.change):
            with open(corpus / name, "a", encoding="utf-8") as f:
                f.write(f"\nИзменено в раунде {r}.\n")
        for name in rng.sample(names, a.delete):
            (corpus / name).unlink()
            names.remove(name)
        t0 = time.perf_counter()
        update_index(corpus, index, show_progress=False)
        secs = time.perf_counter() - t0
        rows.append((secs, segment_count(index), query_p95(index, qs)))
        print(f"round {r:3d}  update {secs:6.2f} s  segments {rows[-1][1]:3d}  search p95 {rows[-1][2]:6.1f} ms",
              flush=True)

    if len(rows) >= 10:
        first, last = rows[:5], rows[-5:]
        for k, label in ((0, "update s"), (1, "segments"), (2, "search p95 ms")):
            f, l = statistics.fmean(x[k] for x in first), statistics.fmean(x[k] for x in last)
            print(f"{label:14s} first 5 rounds {f:8.2f}   last 5 {l:8.2f}   ratio {l / f if f else 0:.2f}")


if __name__ == "__main__":
    main()
