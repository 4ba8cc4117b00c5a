"""Compare analysis policies of kb.analysis with a small BM25 over pre-analysed terms.

Not the product's ranking (that is whoosh, behind kb.index); a harness for choosing
the analysis policy and for hinting ranking parameters.  nDCG@10 (linear gain, as
pytrec_eval/BEIR), OR queries.

    .venv/bin/python bench/analysis_eval.py                      # main table
    .venv/bin/python bench/analysis_eval.py --policies stem lemma_stem_known --k1 0.9 --b 0.4 --title 2
    .venv/bin/python bench/analysis_eval.py --grid               # k1/b/title/coordination grid
    .venv/bin/python bench/analysis_eval.py --speed              # analysis speed, cache speed-up
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from kb.analysis import _terms, is_compound, tokenize

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench"
SETS = ["legal-ru-dev", "xquad-ru"]

# function and question words, for the down-weighting experiment
from kb.analysis._stopwords import STOPWORDS as STOP  # noqa: E402


def load(name):
    d = BENCH / name
    docs = [json.loads(line) for line in open(d / "corpus.jsonl", encoding="utf-8")]
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(d / "queries.jsonl", encoding="utf-8"))}
    qrels = defaultdict(dict)
    with open(d / "qrels" / "test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, s = line.rstrip("\n").split("\t")
            if int(s) > 0:
                qrels[qid][did] = int(s)
    return docs, {q: t for q, t in queries.items() if q in qrels}, qrels


def norms(text):
    # the whole of a compound is marked with a leading "\0" so bigrams can skip it
    return [("\0" + t.norm) if is_compound(t) else t.norm for t in tokenize(text)]


def bigrams(terms_seq):
    return [a + "_" + b for a, b in zip(terms_seq, terms_seq[1:])]


class Analyzer:
    def __init__(self, policy):
        fn = _terms.POLICIES[policy]
        self.cache = {}
        self.fn = fn

    def __call__(self, norm):
        norm = norm.lstrip("\0")
        r = self.cache.get(norm)
        if r is None:
            r = self.cache[norm] = _terms.uncached_terms(norm, self.fn)
        return r


class BM25:
    def __init__(self, doc_terms_title, doc_terms_text, title_w=2.0, k1=0.9, b=0.4):
        self.n = len(doc_terms_text)
        self.k1, self.b = k1, b
        dl = []
        post = defaultdict(dict)
        for i in range(self.n):
            c = Counter(doc_terms_text[i])
            for t in doc_terms_title[i]:
                c[t] += title_w
            for t, v in c.items():
                post[t][i] = v
            dl.append(len(doc_terms_text[i]) + title_w * len(doc_terms_title[i]))
        avg = sum(dl) / len(dl)
        self.norm = [k1 * (1 - b + b * x / avg) for x in dl]
        self.post = post

    def idf(self, t):
        p = self.post.get(t)
        if not p:
            return 0.0
        df = len(p)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def term_scores(self, t):
        p = self.post.get(t)
        if not p:
            return {}
        idf, k1, norm = self.idf(t), self.k1, self.norm
        return {i: idf * tf * (k1 + 1) / (tf + norm[i]) for i, tf in p.items()}


def ndcg10(ranked, rel):
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


class Run:
    """One data set analysed with one policy; scored under several ranking settings."""

    def __init__(self, name, policy, cache_norms={}):
        docs, self.queries, self.qrels = load(name)
        self.ids = [d["_id"] for d in docs]
        key = name
        if key not in cache_norms:
            cache_norms[key] = (
                [norms(d.get("title", "")) for d in docs],
                [norms(d["text"]) for d in docs],
                {q: norms(text) for q, text in self.queries.items()},
            )
        tn, xn, qn = cache_norms[key]
        an = Analyzer(policy)
        self.title = [[t for n in ns for t in an(n)] for ns in tn]
        self.text = [[t for n in ns for t in an(n)] for ns in xn]
        # query: one group of terms per token norm
        self.q = {q: [(n.lstrip("\0"), an(n)) for n in toks] for q, toks in qn.items()}
        first = lambda ns: [an(n)[0] for n in ns if not n.startswith("\0")]
        self.btext = [bigrams(first(ns)) for ns in xn]
        self.btitle = [bigrams(first(ns)) for ns in tn]
        self.qb = {q: bigrams(first(toks)) for q, toks in qn.items()}
        self.bm = {}

    def score(self, k1=0.9, b=0.4, title=2.0, coord=0.0, stop_w=1.0, group="sum", bigram=0.0):
        key = (k1, b, title)
        if key not in self.bm:
            self.bm[key] = BM25(self.title, self.text, title, k1, b)
        bm = self.bm[key]
        total = 0.0
        for qid, groups in self.q.items():
            s = defaultdict(float)
            matched = defaultdict(int)
            seen = set()
            for n, ts in groups:
                ts = tuple(t for t in ts if t not in seen)
                if not ts:
                    continue
                seen.update(ts)
                g = defaultdict(float)
                for t in ts:
                    for i, v in bm.term_scores(t).items():
                        g[i] = max(g[i], v) if group == "max" else g[i] + v
                w = stop_w if n in STOP else 1.0
                for i, v in g.items():
                    s[i] += v * w
                    matched[i] += 1
            if bigram:
                bkey = ("bi", k1, b, title)
                if bkey not in self.bm:
                    self.bm[bkey] = BM25(self.btitle, self.btext, title, k1, b)
                for t in set(self.qb[qid]):
                    for i, v in self.bm[bkey].term_scores(t).items():
                        s[i] += bigram * v
            if coord:
                nq = max(1, len(groups))
                for i in s:
                    s[i] *= 1 + coord * matched[i] / nq
            top = sorted(s, key=lambda i: (-s[i], i))[:10]
            total += ndcg10([self.ids[i] for i in top], self.qrels[qid])
        return total / len(self.q)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--policies", nargs="*", default=list(_terms.POLICIES))
    ap.add_argument("--k1", type=float, default=0.9)
    ap.add_argument("--b", type=float, default=0.4)
    ap.add_argument("--title", type=float, default=2.0)
    ap.add_argument("--coord", type=float, default=0.0)
    ap.add_argument("--stop-w", type=float, default=1.0)
    ap.add_argument("--group", default="sum")
    ap.add_argument("--bigram", type=float, default=0.0)
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--speed", action="store_true")
    a = ap.parse_args(argv)
    if a.speed:
        return speed()
    for policy in a.policies:
        runs = [Run(s, policy) for s in SETS]
        if a.grid:
            for k1 in (0.6, 0.9, 1.2, 1.5):
                for b in (0.3, 0.4, 0.6, 0.75):
                    for title in (1.0, 2.0, 3.0):
                        for coord in (0.0, 0.5, 1.0):
                            r = [run.score(k1, b, title, coord, a.stop_w, a.group) for run in runs]
                            print(f"{policy}\tk1={k1}\tb={b}\ttitle={title}\tcoord={coord}\t"
                                  + "\t".join(f"{x:.3f}" for x in r), flush=True)
            continue
        r = [run.score(a.k1, a.b, a.title, a.coord, a.stop_w, a.group, a.bigram) for run in runs]
        print(f"{policy:24s}" + "  ".join(f"{x:.3f}" for x in r), flush=True)


def speed():
    docs, _, _ = load("legal-ru-dev")
    texts = [d["text"] for d in docs[:3000]]
    chars = sum(map(len, texts))
    words = [t.norm for x in texts for t in tokenize(x)]
    t0 = time.perf_counter()
    toks = [tokenize(x) for x in texts]
    t1 = time.perf_counter()
    print(f"tokenize: {len(texts)/(t1-t0):.0f} passages/s ({chars/len(texts):.0f} chars avg), "
          f"{len(words)/(t1-t0):.0f} tokens/s")
    _terms.terms.cache_clear()
    t0 = time.perf_counter()
    for ts in toks:
        for t in ts:
            _terms.terms(t.norm)
    t1 = time.perf_counter()
    for ts in toks:
        for t in ts:
            _terms.terms(t.norm)
    t2 = time.perf_counter()
    print(f"terms, cold cache: {len(words)/(t1-t0):.0f} words/s; warm cache: {len(words)/(t2-t1):.0f} words/s")
    sample = list(dict.fromkeys(words))[:20000]  # distinct forms: every uncached call parses
    n = len(sample)
    t0 = time.perf_counter()
    for w in sample:
        _terms.uncached_terms(w)
    t1 = time.perf_counter()
    for w in sample:
        _terms.terms(w)
    t2 = time.perf_counter()
    print(f"{n} distinct forms: uncached {n/(t1-t0):.0f} words/s; cached {n/(t2-t1):.0f} words/s; "
          f"speed-up x{(t1-t0)/(t2-t1):.0f}")
    t0 = time.perf_counter()
    for x in texts:
        for t in tokenize(x):
            _terms.terms(t.norm)
    t1 = time.perf_counter()
    print(f"tokenize+terms, warm: {len(texts)/(t1-t0):.0f} passages/s; "
          f"{chars/(t1-t0)/2000:.0f} 2000-char passages/s")


if __name__ == "__main__":
    sys.exit(main())
