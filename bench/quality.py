"""Retrieval quality of kb against two stock baselines, in one run, on BEIR-format sets.

Baselines (written here, not in kb): whoosh's stock BM25F (k1 1.2, b 0.75, its own
idf) over title and text fields, queries OR'ed over both fields (title x2), with
  - snowball:  lowercase + Snowball Russian stems (the paperless-ngx v3 / Elasticsearch
               `russian` analyzer chain, stop words kept),
  - plain:     lowercase words, no morphology.
kb: `kb.evaluation.evaluate`, the very code behind `kb eval` (same analyzer and ranking as
`kb search`), in each of its modes: `lexical` (words alone: kb with the vectors off),
`semantic` (the passage vectors alone) and `hybrid` (both fused: `kb search` once `kb index`
has built the vectors).

    .venv/bin/python bench/quality.py [BEIR_DIR ...] [--modes lexical,semantic,hybrid] [--keep DIR]
    .venv/bin/python bench/quality.py --real-index DIR [--modes lexical,hybrid]

(default sets: ../shared/data/bench/legal-ru-dev and xquad-ru). `--real-index DIR` scores the
sets over all of ../shared/data instead (bench/golden.py: the golden set and the legal question
set, tests/golden/), searched by `kb.search.search` in the index DIR, words alone and hybrid;
BEIR sets named as well are scored too. The semantic and hybrid rows
need the sets' passage vectors: embedding legal-ru-dev's 6,822 articles takes ~30-50 min on
this machine's two cores, xquad-ru's 240 paragraphs ~1-2 min. `--keep DIR` keeps each set's
index and vectors in DIR/<set> so that the next run embeds nothing; `--modes lexical` is the
quick run (~30 s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from whoosh import fields, index, scoring
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.query import Or, Term

from kb.evaluation import _jsonl, evaluate, load_qrels, mrr_at, ndcg_at, recall_at

ROOT = Path(__file__).resolve().parents[1]


def baseline(beir: Path, stem: bool) -> dict:
    chain = RegexTokenizer(r"\w+") | LowercaseFilter()
    if stem:
        chain = chain | StemFilter(lang="ru", cachesize=100_000)
    schema = fields.Schema(id=fields.ID(stored=True), title=fields.TEXT(analyzer=chain),
                           text=fields.TEXT(analyzer=chain))
    corpus = _jsonl(beir / "corpus.jsonl")
    queries = _jsonl(beir / "queries.jsonl")
    qrels = load_qrels(beir / "qrels" / "test.tsv")
    with tempfile.TemporaryDirectory() as tmp:
        ix = index.create_in(tmp, schema)
        w = ix.writer(limitmb=512, procs=2, multisegment=True)
        for d in corpus:
            w.add_document(id=str(d["_id"]), title=d.get("title") or "", text=d.get("text") or "")
        w.commit()
        scores = {"ndcg@10": [], "recall@10": [], "recall@100": [], "mrr@10": []}
        with ix.searcher(weighting=scoring.BM25F()) as s:
            for q in queries:
                rel = qrels.get(str(q["_id"]))
                if not rel:
                    continue
                toks = [t.text for t in chain(q["text"])]
                subs = [Term("text", t) for t in toks] + [Term("title", t, boost=2.0) for t in toks]
                ranked = [h["id"] for h in s.search(Or(subs), limit=100)] if subs else []
                scores["ndcg@10"].append(ndcg_at(ranked, rel))
                scores["recall@10"].append(recall_at(ranked, rel, 10))
                scores["recall@100"].append(recall_at(ranked, rel, 100))
                scores["mrr@10"].append(mrr_at(ranked, rel))
    return {k: sum(v) / len(v) for k, v in scores.items()}


MODES = ("lexical", "semantic", "hybrid")


def real_sets(index_dir: Path, modes: list[str]) -> None:
    """The golden sets over all of ../shared/data (bench/golden.py), in kb's modes; `semantic`
    alone has no place on the product path (kb.search.search), so lexical and hybrid only."""
    import golden

    print(f"{'set':<14} {'system':<22} {'queries':>7} {'S@1':>6} {'S@3':>6} {'MRR':>6} {'nDCG@10':>8} {'P@3':>6} {'zero':>5}")
    for name in ("golden", "legal"):
        for mode in modes:
            res = golden.evaluate(index_dir, golden.SETS[name], mode)
            a = res["all"]
            label = f"kb {mode}" + ("" if mode == "lexical" or res["fused"] else " (no vectors)")
            print(f"{name:<14} {label:<22} {a['queries']:>7} {a['success@1']:>6.3f} {a['success@3']:>6.3f} "
                  f"{a['mrr']:>6.3f} {a['ndcg@10']:>8.3f} {a['passage@3']:>6.3f} {a['zero']:>5}", flush=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", type=Path)
    ap.add_argument("--modes", default=",".join(MODES), help="kb's modes, comma-separated")
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="keep each set's index and passage vectors in DIR/<set> between runs")
    ap.add_argument("--real-index", type=Path, default=None, metavar="DIR",
                    help="an index of ../shared/data: score the golden and legal question sets over it")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: some of {', '.join(MODES)}")
    if args.real_index is not None:
        if not (args.real_index / "CURRENT").exists():
            ap.error(f"--real-index {args.real_index}: not a kb index (no CURRENT)")
        real_sets(args.real_index, [m for m in modes if m != "semantic"] or ["lexical"])
        if not args.sets:
            return 0
        print()
    sets = args.sets or [ROOT.parent / "shared" / "data" / "bench" / n for n in ("legal-ru-dev", "xquad-ru")]
    print(f"{'set':<14} {'system':<13} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'MRR@10':>7}")
    for beir in sets:
        rows = [("plain", baseline(beir, stem=False)), ("snowball", baseline(beir, stem=True))]
        with tempfile.TemporaryDirectory(prefix="kb-quality-") as tmp:
            where = (args.keep / beir.name) if args.keep else Path(tmp) / "index"
            # lexical first: it builds the index the other modes add vectors to
            for mode in sorted(modes, key=MODES.index):
                rows.append((f"kb {mode}", evaluate(beir, index_dir=where, mode=mode)))
        for name, r in rows:
            print(f"{beir.name:<14} {name:<13} {r['ndcg@10']:>8.4f} {r['recall@10']:>7.4f} "
                  f"{r['recall@100']:>7.4f} {r['mrr@10']:>7.4f}", flush=True)
        got = dict(rows)
        sb, pl = got["snowball"]["ndcg@10"], got["plain"]["ndcg@10"]
        for name, r in rows[2:]:
            print(f"{beir.name:<14} {name} - snowball {r['ndcg@10'] - sb:+.4f}   - plain {r['ndcg@10'] - pl:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
