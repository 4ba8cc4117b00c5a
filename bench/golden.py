"""The golden sets over ../shared/data: queries written as people type them, each with the
documents (and articles) that answer it, judged by reading them (tests/golden/README.md).

    .venv/bin/python bench/golden.py                 # indexes ../shared/data in a temp folder first
    .venv/bin/python bench/golden.py --index DIR     # an index of ../shared/data built already
    .venv/bin/python bench/golden.py --set legal     # the legal question set (tests/golden/legal.jsonl)
    .venv/bin/python bench/golden.py --mode both     # words alone, then hybrid (default: as configured)
    .venv/bin/python bench/golden.py --show          # every query with its first results

Runs each query through `kb.search.search` with default settings (the product path: lexicon,
glossary, spelling, requisites, known items, copies shown once) and prints success@1,
success@3, MRR and nDCG@10 (over the first 10 documents) and the number of queries with no
result, overall and by kind. A result answers when its document (or one of its copies) is an
answer and, when the answer names articles, one of the passages shown for it is one of those
articles. An answer may carry a grade (2: the article that answers, 1: also answers; 2 when
absent): success and MRR count the first result holding the query's best grade, nDCG@10 the
grades (linear gain, as kb.evaluation.ndcg_at). passage@3: the answer among the first three
passages in the order shown (three per document), i.e. the article itself near the top.

`--mode lexical` is words alone: the semantic side off (KB_EMBEDDER=off at search time, as
`kb eval --mode lexical`; the word-vector rerank stays, KB_VECTORS=off turns it off too).
`--mode hybrid` fuses the passage vectors when the index has them (the run says whether).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

GOLDEN = ROOT / "tests" / "golden" / "queries.jsonl"
SETS = {"golden": GOLDEN, "legal": ROOT / "tests" / "golden" / "legal.jsonl"}
DATA = ROOT.parent / "shared" / "data"
DEPTH = 10
MODES = ("lexical", "hybrid")


def load(path: Path = GOLDEN) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def grade(answer: dict) -> int:
    return int(answer.get("grade", 2))


def _answers(group, answers: list[dict]) -> int:
    """The best grade among the answers this result (a document and its shown passages) holds; 0 if none."""
    paths = {group.path} | {c["path"] for c in getattr(group, "also", [])}
    shown = {h.article for h in group.hits if h.article}
    return max((grade(a) for a in answers
                if a["path"] in paths and (not a.get("articles") or shown & set(a["articles"]))), default=0)


def _passage_grade(group, hit, answers: list[dict]) -> int:
    paths = {group.path} | {c["path"] for c in getattr(group, "also", [])}
    return max((grade(a) for a in answers
                if a["path"] in paths and (not a.get("articles") or hit.article in a["articles"])), default=0)


def ndcg(gains: list[int], answers: list[dict], k: int = DEPTH) -> float:
    """nDCG@k of the results' grades; the ideal holds each answering document once at its best grade."""
    best: dict[str, int] = {}
    for a in answers:
        best[a["path"]] = max(best.get(a["path"], 0), grade(a))
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = sorted(best.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def run_query(index_dir: Path, q: dict) -> dict:
    from kb.search import search

    res = search(index_dir, q["query"], per_page=DEPTH)
    gains = [_answers(g, q["answers"]) for g in res.groups]
    top = max(grade(a) for a in q["answers"])
    rank = next((i for i, g in enumerate(gains, 1) if g >= top), None)
    # The same, counted in passages as shown (three per document): is the article itself near the top?
    shown = [(g, h) for g in res.groups for h in g.hits]
    prank = next((i for i, (g, h) in enumerate(shown, 1) if _passage_grade(g, h, q["answers"]) >= top), None)
    return {"id": q["id"], "kind": q["kind"], "query": q["query"], "rank": rank, "prank": prank,
            "docs": res.total_docs,
            "ndcg": ndcg(gains, q["answers"]), "corrected": getattr(res, "corrected", None),
            "top": [(g.path, g.hits[0].article if g.hits else None) for g in res.groups[:3]]}


@contextmanager
def semantic(mode: str | None):
    """Search with the semantic side off (mode "lexical"), on as configured ("hybrid"), or as is (None)."""
    if mode not in (None, *MODES):
        raise SystemExit(f"--mode: {', '.join(MODES)} or both, not {mode!r}")
    saved = os.environ.get("KB_EMBEDDER")
    if mode == "lexical":
        os.environ["KB_EMBEDDER"] = "off"
    elif mode == "hybrid" and (saved or "").strip().lower() in ("off", "0", "no", "none"):
        os.environ.pop("KB_EMBEDDER")       # the bundled model, as `kb search` runs it
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("KB_EMBEDDER", None)
        else:
            os.environ["KB_EMBEDDER"] = saved


def fused(index_dir: Path) -> bool:
    """Whether a search now fuses passage vectors: the semantic side is on and the index has them."""
    from kb.analysis import embed
    from kb.index import reader

    key = embed.configured_key()
    return key is not None and reader(Path(index_dir)).has_vectors(key)


def evaluate(index_dir: Path, golden: Path = GOLDEN, mode: str | None = None) -> dict:
    """Per-query rows and the summary: success@1, success@3, MRR, nDCG@10, zero results, by kind.

    `mode` "lexical" (words alone) or "hybrid"; None searches as the environment is set."""
    with semantic(mode):
        rows = [run_query(Path(index_dir), q) for q in load(golden)]
        hybrid = fused(index_dir)

    def summary(rs: list[dict]) -> dict:
        n = len(rs) or 1
        return {"queries": len(rs),
                "success@1": sum(1 for r in rs if r["rank"] == 1) / n,
                "success@3": sum(1 for r in rs if r["rank"] and r["rank"] <= 3) / n,
                "mrr": sum(1 / r["rank"] for r in rs if r["rank"]) / n,
                "ndcg@10": sum(r["ndcg"] for r in rs) / n,
                "passage@3": sum(1 for r in rs if r["prank"] and r["prank"] <= 3) / n,
                "zero": sum(1 for r in rs if r["docs"] == 0)}

    kinds = defaultdict(list)
    for r in rows:
        kinds[r["kind"]].append(r)
    return {"all": summary(rows), "kinds": {k: summary(v) for k, v in kinds.items()}, "rows": rows,
            "fused": hybrid}


def build_index(data: Path, index_dir: Path) -> None:
    """An index of the real documents, as `kb index --corpus DATA` builds it."""
    from kb.index import update_index

    report = update_index(data, index_dir, show_progress=False)
    if report.failed:
        raise SystemExit(f"kb index failed on {report.failed}")


def report(res: dict, show: bool = False) -> None:
    """The table (and with `show` every query) of one evaluation."""
    if show:
        for r in res["rows"]:
            mark = "ok " if r["rank"] and r["rank"] <= 3 else "MISS"
            print(f"{mark} {r['id']} {r['kind']:<9} rank={r['rank']} passage={r['prank']} docs={r['docs']:<3} {r['query']!r}"
                  + (f" -> {r['corrected']!r}" if r["corrected"] else ""))
            if not (r["rank"] and r["rank"] <= 3):
                for path, art in r["top"]:
                    print(f"        {path}{' ст. ' + art if art else ''}")
        print()
    print(f"{'kind':<10} {'queries':>7} {'success@1':>10} {'success@3':>10} {'MRR':>7} {'nDCG@10':>8} "
          f"{'passage@3':>10} {'zero':>5}")
    for name, s in [("all", res["all"])] + sorted(res["kinds"].items()):
        print(f"{name:<10} {s['queries']:>7} {s['success@1']:>10.3f} {s['success@3']:>10.3f} {s['mrr']:>7.3f} "
              f"{s['ndcg@10']:>8.3f} {s['passage@3']:>10.3f} {s['zero']:>5}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="an index of ../shared/data (else one is built in a temp folder)")
    ap.add_argument("--data", type=Path, default=DATA, help="the real documents (default ../shared/data)")
    ap.add_argument("--set", choices=sorted(SETS), default="golden", help="which set (default golden)")
    ap.add_argument("--golden", type=Path, default=None, help="a set file of this format (overrides --set)")
    ap.add_argument("--mode", choices=(*MODES, "both"), default=None,
                    help="lexical = words alone, hybrid = with the passage vectors; default: as configured")
    ap.add_argument("--show", action="store_true", help="print every query with its rank and first results")
    args = ap.parse_args()
    queries = args.golden or SETS[args.set]
    modes = list(MODES) if args.mode == "both" else [args.mode]
    with tempfile.TemporaryDirectory(prefix="kb-golden-") as tmp:
        index = args.index
        if index is None:
            index = Path(tmp) / "index"
            print(f"indexing {args.data} ...", file=sys.stderr)
            build_index(args.data, index)
        for mode in modes:
            res = evaluate(index, queries, mode)
            print(f"{queries.name}: {mode or 'as configured'} "
                  f"({'words and passage vectors' if res['fused'] else 'words alone'})")
            report(res, args.show)
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
