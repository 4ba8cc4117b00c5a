"""Ranking experiments, kept runnable: nDCG@10 of each variant.

Each variant indexes a BEIR set with kb's own code (`kb.index.write_passages`), runs every
query through `kb.search.ranked` (the `kb eval` path) and scores with `kb.evaluation`.

    .venv/bin/python bench/ranking_lab.py [--sets legal-ru-dev,xquad-ru] [--misses] [--navec FILE]

Variants (all but `kb` with kb's own word-vector rerank off, KB_VECTORS=off):
  kb            kb as committed (equals `kb eval`)
  base          BM25 alone
  deriv-adj     + a second term for -ский adjectives: their base (`колумбийский` -> `колумб`,
                as `Колумбия`), in documents and queries
  deriv-verb    + a second term for verbal nouns: the verb's stem (`выселение` -> `высел`)
  navec-max     kb's word-vector rerank (kb.search.rerank) over `base`, at λ 1 and 3: the
                top 20 passages gain λ x top score x mean best cosine of the query's content
                words with a passage word. Vectors: --navec FILE, by default the file
                scripts/setup installs; skipped when it is missing.
--misses lists, for the `kb` variant, the questions whose answer is not first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_ADJ = re.compile(r"(?:ий|ый|)ск(?:ий|ая|ое|ие|ого|ой|ому|им|их|ую|ими|ом)$")


def derived_policy(adj: bool, verbal: bool):
    """lemma_stem_known plus one derivational term (the experiment, not kb's policy)."""
    from kb.analysis import _terms as T

    def policy(norm: str) -> tuple[str, ...]:
        p, known = T._first_parse(norm)
        s = T._ru_stem(T._clean(p.normal_form)) if known else T._unknown(norm)
        out = [s]
        if adj and _ADJ.search(norm):
            for suf in ("ийск", "ск"):
                if s.endswith(suf) and len(s) - len(suf) >= 4:
                    out.append(s[: -len(suf)])
                    break
        if verbal and known and p.tag.POS == "NOUN":
            lemma = T._clean(p.normal_form)
            if lemma.endswith(("ание", "яние")) and s.endswith(("ан", "ян")):
                out.append(s[:-1])
            elif lemma.endswith("ение") and s.endswith("ен") and len(s) >= 6:
                out.append(s[:-2])
        return tuple(out)

    return policy


def run_set(beir: Path, variant: str, vectors=None, lams=(1.0, 3.0), k: int = 20, misses: bool = False):
    from kb.analysis import _terms as T
    from kb.evaluation import _jsonl, corpus_records, load_qrels, ndcg_at
    from kb.index import forget_readers, reader, write_passages
    from kb.search import ranked
    from kb.search.rerank import with_vectors

    saved, saved_env = T._cyrillic, os.environ.get("KB_VECTORS")
    if variant != "kb":
        os.environ["KB_VECTORS"] = "off"
    if variant.startswith("deriv-"):
        T._cyrillic = derived_policy(adj=variant == "deriv-adj", verbal=variant == "deriv-verb")
    T.terms.cache_clear()
    try:
        corpus = _jsonl(beir / "corpus.jsonl")
        queries = _jsonl(beir / "queries.jsonl")
        qrels = load_qrels(beir / "qrels" / "test.tsv")
        with tempfile.TemporaryDirectory(prefix="kb-lab-") as tmp:
            write_passages(Path(tmp), corpus_records(corpus))
            rd = reader(Path(tmp))
            scores: dict[str, list[float]] = {}
            for q in queries:
                rel = qrels.get(str(q["_id"]))
                if not rel:
                    continue
                parsed, raw = ranked(rd, q["text"], None, 100)
                ids = [h.doc_id for h in raw.hits]
                if variant != "navec-max":
                    s = ndcg_at(ids, rel)
                    scores.setdefault(variant, []).append(s)
                    if misses and s < 1:
                        best = max(rel, key=rel.get)
                        rank = ids.index(best) + 1 if best in ids else None
                        print(f"  rank {rank}: {q['text']}  (answer {best}, first {ids[:1]})")
                    continue
                for lam in lams:
                    again = with_vectors(parsed.node, parsed.plain_words, raw, depth=k, weight=lam, vectors=vectors)
                    scores.setdefault(f"navec-max λ{lam:g}", []).append(ndcg_at([h.doc_id for h in again.hits], rel))
            forget_readers()
    finally:
        T._cyrillic = saved
        T.terms.cache_clear()
        if saved_env is None:
            os.environ.pop("KB_VECTORS", None)
        else:
            os.environ["KB_VECTORS"] = saved_env
    return {name: statistics.fmean(v) for name, v in scores.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "bench")
    ap.add_argument("--sets", default="legal-ru-dev,xquad-ru")
    ap.add_argument("--variants", default="kb,base,deriv-adj,deriv-verb,navec-max")
    ap.add_argument("--navec", type=Path, help="the vectors file (default: the one scripts/setup installs)")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    vectors = None
    if "navec-max" in args.variants:
        from kb.analysis.vectors import WordVectors, default_path

        path = args.navec or default_path()
        if path.is_file():
            vectors = WordVectors(path)
        else:
            print(f"navec-max skipped: no vectors file at {path}", file=sys.stderr)
    print(f"{'set':<14} {'variant':<18} {'nDCG@10':>8}")
    for name in args.sets.split(","):
        beir = args.data / name
        for variant in args.variants.split(","):
            if variant == "navec-max" and vectors is None:
                continue
            res = run_set(beir, variant, vectors, misses=args.misses and variant == "kb")
            for label, value in res.items():
                print(f"{name:<14} {label:<18} {value:>8.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
