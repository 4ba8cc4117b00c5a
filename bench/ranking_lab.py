"""Ranking experiments, kept runnable: nDCG@10 of each variant.

Each variant indexes a BEIR set with kb's own code (`kb.index.write_passages`), runs every
query through `kb.search.ranked` (the `kb eval` path) and scores with `kb.evaluation`.

    .venv/bin/python bench/ranking_lab.py [--sets legal-ru-dev,xquad-ru] [--misses]
        [--navec .venv/share/kb/navec_news_v1_1B_250K_300d_100q.tar]

Variants (all but `kb` with kb's own word-vector rerank off, KB_VECTORS=off):
  kb            kb as committed (equals `kb eval`)
  base          BM25 alone
  deriv-adj     + a second term for -ский adjectives: their base (`колумбийский` -> `колумб`,
                as `Колумбия`), in documents and queries
  deriv-verb    + a second term for verbal nouns: the verb's stem (`выселение` -> `высел`)
  navec-max     the prototype of kb's rerank, over `base`: rerank the top 20: score / top score + λ x mean over the query's content
                words of the best cosine with a passage word, static word vectors (navec
                news 250K, the file shipped inside the `natasha` wheel); λ 1 and 3.
                Needs `pip install navec` and `--navec PATH_TO_TAR`; skipped otherwise.
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


class Vectors:
    """navec vectors, normalised, per lowercase word form."""

    def __init__(self, path: Path):
        import numpy as np
        from navec import Navec

        self.np = np
        self.nv = Navec.load(str(path))
        self.cache: dict[str, object] = {}

    def __call__(self, w: str):
        v = self.cache.get(w, False)
        if v is False:
            v = self.nv[w] if w in self.nv else None
            if v is not None:
                v = v / (self.np.linalg.norm(v) + 1e-9)
            self.cache[w] = v
        return v


_WORD = re.compile(r"[а-яёa-z0-9]+(?:-[а-яёa-z0-9]+)*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


def run_set(beir: Path, variant: str, vectors=None, lams=(1.0, 3.0), k: int = 20, misses: bool = False):
    from kb.analysis import _terms as T
    from kb.analysis._stopwords import STOPWORDS
    from kb.evaluation import _jsonl, corpus_records, load_qrels, ndcg_at
    from kb.index import forget_readers, reader, write_passages
    from kb.search import ranked

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
            passage_vectors: dict[int, object] = {}
            for q in queries:
                rel = qrels.get(str(q["_id"]))
                if not rel:
                    continue
                hits = ranked(rd, q["text"], None, 100)[1].hits
                ids = [h.doc_id for h in hits]
                if variant != "navec-max":
                    s = ndcg_at(ids, rel)
                    scores.setdefault(variant, []).append(s)
                    if misses and s < 1:
                        best = max(rel, key=rel.get)
                        rank = ids.index(best) + 1 if best in ids else None
                        print(f"  rank {rank}: {q['text']}  (answer {best}, first {ids[:1]})")
                    continue
                np = vectors.np
                qv = [vectors(w) for w in dict.fromkeys(_words(q["text"])) if w not in STOPWORDS]
                qv = [v for v in qv if v is not None]
                top = hits[:k]
                sem = []
                if qv and top:
                    Q = np.stack(qv)
                    for h in top:
                        P = passage_vectors.get(h.docnum)
                        if P is None:
                            vs = [vectors(w) for w in set(_words(h.fields["body"] + " " + (h.fields.get("title") or "")))]
                            vs = [v for v in vs if v is not None]
                            P = passage_vectors[h.docnum] = np.stack(vs) if vs else np.zeros((1, Q.shape[1]))
                        sem.append(float((Q @ P.T).max(axis=1).mean()))
                for lam in lams:
                    order = ids
                    if sem:
                        s0 = top[0].score or 1.0
                        ranked_top = sorted(range(len(top)), key=lambda i: -(top[i].score / s0 + lam * sem[i]))
                        order = [top[i].doc_id for i in ranked_top] + ids[k:]
                    scores.setdefault(f"navec-max λ{lam:g}", []).append(ndcg_at(order, rel))
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
    ap.add_argument("--navec", type=Path, help="navec_news_v1_1B_250K_300d_100q.tar")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    vectors = None
    if "navec-max" in args.variants:
        if args.navec and args.navec.exists():
            try:
                vectors = Vectors(args.navec)
            except ImportError:
                print("navec-max skipped: `pip install navec` first", file=sys.stderr)
        else:
            print("navec-max skipped: no --navec file", file=sys.stderr)
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
