"""Meaning while the passage vectors are being built (kb.search.fill): what it gives, what it costs.

    .venv/bin/python bench/fill.py sim INDEX BEIR_DIR [--queries N] [--seeds 3]
    .venv/bin/python bench/fill.py time INDEX [--budget 1500] [--pause 8]

`sim`: on an index of a BEIR set whose vectors are all built (the one `kb eval BEIR_DIR --mode
hybrid --index DIR` leaves; a copy: nothing is written), nDCG@10 as if only a share p of the
passages had a vector (seeded at random) and the first k lexical candidates without one had
been embedded at query time, fused as kb.search.fill fuses them: the passages without a vector
counted as the last of the semantic list ("last") or as the median of the best 100 candidates
with one ("median"), each without and with the rule that the best 3 candidates must have a
vector (fill.FIRST_KNOWN; "+gate"). p 1.0 is the complete hybrid, p 0 k 0 words alone.

`time`: in one warm process (as a `kb serve` worker), for a few everyday questions on INDEX
(e.g. a copy of an index whose vectors are partly built): the search by words alone, then
with KB_QUERY_EMBED_MS=budget, then the same query again after `pause` seconds (the best
candidates finished in the background meanwhile): milliseconds, candidates scored at query
time, and how many of the first 10 documents moved. Vectors embedded go to KB_CACHE: point it
at a folder of its own to start from nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

QUESTIONS = ["права инвалидов на жильё", "как расторгнуть брак если муж против", "выселение из общежития",
             "задержка заработной платы", "алименты на ребёнка", "защита прав потребителей при покупке"]


def sim(index: Path, beir: Path, queries: int | None, seeds: int) -> None:
    from kb.analysis import embed
    from kb.evaluation import _jsonl, load_qrels, ndcg_at
    from kb.index import RawResults, reader
    from kb.search import fill, ranked, semantic

    qs = _jsonl(beir / "queries.jsonl")
    qrels = load_qrels(beir / "qrels" / "test.tsv")
    judged = [q for q in qs if qrels.get(str(q["_id"]))][:queries]
    rd = reader(index)
    model = embed.embedder()
    if model is None or not rd.has_vectors(model.key):
        sys.exit(f"{index}: its passage vectors of {embed.configured_key()} are not built")
    prepared = []
    for q in judged:
        parsed, raw = ranked(rd, q["text"], None, 100, mode="lexical")
        qv = model.query(q["text"])
        prepared.append((q, parsed, raw, rd.semantic(qv, model.key, None, limit=1000), qv,
                         rd.passage_vectors([h.docnum for h in raw.hits[:fill.FILL]], model.key)))
    ways = {"last": (False, 0), "median": (True, 0), "last+gate": (False, fill.FIRST_KNOWN),
            "median+gate": (True, fill.FIRST_KNOWN)}
    print(f"{len(prepared)} questions of {beir.name}, {seeds} seeds")
    print("p    k  " + " ".join(f"{w:>12}" for w in ways))
    for p in (0.0, 0.1, 0.3, 0.6, 1.0):
        for k in (0, 1, 2, 3, 10):
            if p == 1.0 and k:
                continue
            got = {w: [] for w in ways}
            for seed in range(1, seeds + 1):
                def has(n, seed=seed):
                    return int(hashlib.md5(f"{seed}:{n}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < p
                for q, parsed, raw, full, qv, vecs in prepared:
                    rel = qrels[str(q["_id"])]
                    if not semantic.applies(parsed.node, q["text"]):
                        for w in ways:
                            got[w].append(ndcg_at([h.doc_id for h in raw.hits], rel))
                        continue
                    lacking = [h for h in raw.hits[:fill.FILL] if not has(h.docnum)]
                    now = [replace(h, score=float(qv @ vecs[h.docnum])) for h in lacking[:k]]
                    seen = {h.docnum for h in now}
                    sem = sorted([h for h in full.hits if has(h.docnum)] + now, key=lambda h: -h.score)
                    sem = sem[:semantic.DEPTH]
                    unknown = {h.docnum for h in raw.hits if not has(h.docnum) and h.docnum not in seen}
                    known_top = all(h.docnum in seen or has(h.docnum) for h in raw.hits[:fill.FIRST_KNOWN])
                    for w, (median, gate) in ways.items():
                        out = raw
                        if sem and (not gate or known_top):
                            share = semantic.SHARES.get(semantic.kind_of(q["text"]), semantic.LEXICAL_SHARE)
                            out = semantic.fuse(raw, RawResults(hits=sem, doc_counts={}, total=len(sem)), 100,
                                                share, unknown=unknown if median else frozenset())
                        got[w].append(ndcg_at([h.doc_id for h in out.hits], rel))
            print(f"{p:<4} {k:2d}  " + " ".join(f"{statistics.fmean(v):12.4f}" for v in got.values()),
                  flush=True)


def timing(index: Path, budget: str, pause: float) -> None:
    from kb.search import search, warm_up

    warm_up(index)
    os.environ["KB_QUERY_EMBED_MS"] = "0"
    search(index, "суд")
    print(f"KB_QUERY_EMBED_MS={budget}; load average {os.getloadavg()[0]:.1f}")
    for q in QUESTIONS:
        os.environ["KB_QUERY_EMBED_MS"] = "0"
        t = time.perf_counter()
        words = search(index, q)
        t_words = time.perf_counter() - t
        rows = []
        os.environ["KB_QUERY_EMBED_MS"] = budget
        for wait in (0.0, pause):
            time.sleep(wait)
            t = time.perf_counter()
            res = search(index, q)
            rows.append((time.perf_counter() - t, res))
        moved = sum(1 for a, b in zip(words.groups, rows[-1][1].groups) if a.doc_id != b.doc_id)
        cover = rows[-1][1].meaning or {}
        print(f"{q[:38]:38}  words {t_words * 1000:5.0f} ms  |  with budget {rows[0][0] * 1000:5.0f} ms, "
              f"scored {rows[0][1].meaning['scored_now']:2d}  |  again after {pause:g} s "
              f"{rows[1][0] * 1000:5.0f} ms, scored {rows[1][1].meaning['scored_now']:2d}, "
              f"{moved}/10 of the first page moved  |  vectors {cover.get('passages_with_vectors')}"
              f"/{cover.get('passages')}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sim")
    s.add_argument("index", type=Path)
    s.add_argument("beir", type=Path)
    s.add_argument("--queries", type=int, default=None)
    s.add_argument("--seeds", type=int, default=3)
    t = sub.add_parser("time")
    t.add_argument("index", type=Path)
    t.add_argument("--budget", default="1500")
    t.add_argument("--pause", type=float, default=8.0)
    args = ap.parse_args()
    if args.cmd == "sim":
        sim(args.index, args.beir, args.queries, args.seeds)
    else:
        timing(args.index, args.budget, args.pause)


if __name__ == "__main__":
    main()
