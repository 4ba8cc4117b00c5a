"""The golden set (tests/golden/queries.jsonl): queries over ../shared/data written as people
type them, each with the documents (and articles) that answer it, judged by reading them.

    .venv/bin/python bench/golden.py                 # indexes ../shared/data in a temp folder first
    .venv/bin/python bench/golden.py --index DIR     # an index of ../shared/data built already
    .venv/bin/python bench/golden.py --show          # every query with its first results

Runs each query through `kb.search.search` with default settings (the product path: lexicon,
glossary, spelling, requisites, known items, copies shown once) and prints success@1,
success@3, MRR (over the first 10 documents) and the number of queries with no result, overall
and by kind. A result answers when its document (or one of its copies) is an answer and, when
the answer names articles, one of the passages shown for it is one of those articles.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

GOLDEN = ROOT / "tests" / "golden" / "queries.jsonl"
DATA = ROOT.parent / "shared" / "data"
DEPTH = 10


def load(path: Path = GOLDEN) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _answers(group, answers: list[dict]) -> bool:
    paths = {group.path} | {c["path"] for c in getattr(group, "also", [])}
    shown = {h.article for h in group.hits if h.article}
    for a in answers:
        if a["path"] in paths and (not a.get("articles") or shown & set(a["articles"])):
            return True
    return False


def run_query(index_dir: Path, q: dict) -> dict:
    from kb.search import search

    res = search(index_dir, q["query"], per_page=DEPTH)
    rank = next((i for i, g in enumerate(res.groups, 1) if _answers(g, q["answers"])), None)
    return {"id": q["id"], "kind": q["kind"], "query": q["query"], "rank": rank, "docs": res.total_docs,
            "corrected": getattr(res, "corrected", None), "top": [(g.path, g.hits[0].article if g.hits else None) for g in res.groups[:3]]}


def evaluate(index_dir: Path, golden: Path = GOLDEN) -> dict:
    """Per-query rows and the summary: success@1, success@3, MRR, zero results, by kind."""
    rows = [run_query(Path(index_dir), q) for q in load(golden)]

    def summary(rs: list[dict]) -> dict:
        n = len(rs) or 1
        return {"queries": len(rs),
                "success@1": sum(1 for r in rs if r["rank"] == 1) / n,
                "success@3": sum(1 for r in rs if r["rank"] and r["rank"] <= 3) / n,
                "mrr": sum(1 / r["rank"] for r in rs if r["rank"]) / n,
                "zero": sum(1 for r in rs if r["docs"] == 0)}

    kinds = defaultdict(list)
    for r in rows:
        kinds[r["kind"]].append(r)
    return {"all": summary(rows), "kinds": {k: summary(v) for k, v in kinds.items()}, "rows": rows}


def build_index(data: Path, index_dir: Path) -> None:
    """An index of the real documents, as `kb index --corpus DATA` builds it."""
    from kb.index import update_index

    report = update_index(data, index_dir, show_progress=False)
    if report.failed:
        raise SystemExit(f"kb index failed on {report.failed}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="an index of ../shared/data (else one is built in a temp folder)")
    ap.add_argument("--data", type=Path, default=DATA, help="the real documents (default ../shared/data)")
    ap.add_argument("--golden", type=Path, default=GOLDEN)
    ap.add_argument("--show", action="store_true", help="print every query with its rank and first results")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-golden-") as tmp:
        index = args.index
        if index is None:
            index = Path(tmp) / "index"
            print(f"indexing {args.data} ...", file=sys.stderr)
            build_index(args.data, index)
        res = evaluate(index, args.golden)
    if args.show:
        for r in res["rows"]:
            mark = "ok " if r["rank"] and r["rank"] <= 3 else "MISS"
            print(f"{mark} {r['id']} {r['kind']:<9} rank={r['rank']} docs={r['docs']:<3} {r['query']!r}"
                  + (f" -> {r['corrected']!r}" if r["corrected"] else ""))
            if not (r["rank"] and r["rank"] <= 3):
                for path, art in r["top"]:
                    print(f"        {path}{' ст. ' + art if art else ''}")
        print()
    print(f"{'kind':<10} {'queries':>7} {'success@1':>10} {'success@3':>10} {'MRR':>7} {'zero':>5}")
    for name, s in [("all", res["all"])] + sorted(res["kinds"].items()):
        print(f"{name:<10} {s['queries']:>7} {s['success@1']:>10.3f} {s['success@3']:>10.3f} {s['mrr']:>7.3f} {s['zero']:>5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
