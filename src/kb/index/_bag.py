"""Queries scored straight from the postings: the common shapes, made fast.

Whoosh's matcher tree spends ~15 µs of pure Python per posting it scores, and a natural
question touches thousands (bench/search.py: 90 % of query time). Most queries are an OR
of words, each word an OR of a few terms in `body` and `title`, common words under an
AndMaybe, phrases from the lexicon, sometimes AND / NOT. Such a tree is evaluated here by
reading each term's postings a block at a time and adding BM25 into a dict, with the same
formula, statistics and boosts as whoosh, so the scores are the same (tests/test_index_bag.py
compares both paths). Other parts (fields, prefixes, exact forms, compound words) are
matched by whoosh and their scores added in. One difference, on purpose: whoosh's AndNot
sometimes keeps a passage it should exclude (seen: `жилье -аренда` kept an article with
`аренды`, depending on the segment layout); the exclusion here is exact.

A query's deadline (querymodel.Deadline) is checked at every postings block: past it, the
scoring stops and `run` ranks what has been scored so far (`deadline.hit` says so).
"""

from __future__ import annotations

import heapq

from whoosh import query as wq


class Unsupported(Exception):
    """A part `supported()` let through that cannot be scored here: whoosh runs the query."""


class _TimeUp(Exception):
    """The query's deadline passed while scoring."""


class Stats:
    """Per-searcher data the evaluator needs: built once per opened index version."""

    def __init__(self, searcher, fields=("body", "title")):
        self.searcher = searcher
        self.weighting = w = searcher.weighting
        self.k1 = w.K1
        self.leaves = []    # (leaf searcher, offset, deleted set)
        # The deadline of the query being scored, set by run(): the reader's lock lets one
        # query at a time use these statistics.
        self.deadline = None
        n = searcher.doc_count_all()
        # K1 * ((1 - B) + B * length / avg length), per field and global docnum: whoosh's
        # BM25 denominator less tf, computed in the same order so scores match exactly.
        self.norms: dict[str, list[float]] = {f: [0.0] * n for f in fields}
        shape = {f: (w._field_B.get(f, w.B), searcher.avg_field_length(f) or 1) for f in fields}
        self.doc_of: list[str | None] = [None] * n       # doc_id of every passage, for grouping
        for sub, offset in searcher.leaf_searchers():
            r = sub.reader()
            if not r.doc_count_all():
                continue        # an empty index is one EmptyReader: no columns, no deletions
            self.leaves.append((sub, offset, r.deleted_docs_set))
            col = r.column_reader("doc_id")
            for local in range(r.doc_count_all()):
                self.doc_of[offset + local] = col[local]
                for f, (b, avg) in shape.items():
                    # None for an empty field (a PDF page without text): no term to score there.
                    length = r.doc_field_length(local, f, 1) or 0
                    self.norms[f][offset + local] = self.k1 * ((1 - b) + b * length / avg)


def _blocks(st: Stats, field: str, text: str):
    """(leaf offset, its deleted passages, matcher on a block with ids read) per postings block.

    The raw codec matcher (whoosh 2.7's W3LeafMatcher), read a block at a time: whoosh's
    public matcher API costs several Python calls per posting."""
    s = st.searcher
    btext = s.schema[field].to_bytes(text)
    fmt = s.schema[field].format
    deadline = st.deadline
    for sub, offset, deleted in st.leaves:
        r = sub.reader()
        if (field, btext) not in r:
            continue
        m = r._terms.matcher(field, btext, fmt)
        while m.is_active():
            if deadline is not None and deadline.passed():
                raise _TimeUp
            m._read_ids()
            yield offset, deleted, m
            m._next_block()


def _term_scores(st: Stats, field: str, text: str, factor: float, out: dict, only=None) -> None:
    """Add factor x BM25 of one term to `out` for every live passage holding it."""
    s = st.searcher
    if (field, text) not in s.reader():
        return
    idf = s.idf(field, text)
    k1p = st.k1 + 1
    norm = st.norms[field]
    for offset, deleted, m in _blocks(st, field, text):
        m._read_weights()
        for local, tf in zip(m._ids, m._weights):
            if deleted and local in deleted:
                continue
            d = local + offset
            if only is not None and d not in only:
                continue
            out[d] = out.get(d, 0.0) + idf * ((tf * k1p) / (tf + norm[d])) * factor


def _positions(st: Stats, field: str, text: str, wanted: set) -> dict:
    """Positions of one term in the passages of `wanted` (global docnums)."""
    decode = st.searcher.schema[field].format.decoder("positions")
    out = {}
    for offset, _, m in _blocks(st, field, text):
        hit = [i for i, local in enumerate(m._ids) if local + offset in wanted]
        if hit:
            m._read_values()
            for i in hit:
                out[m._ids[i] + offset] = decode(m._values[i])
    return out


def _chained(per_word: list[list[int]], slop: int) -> bool:
    """Each word 1..slop positions after the previous one (whoosh's SpanNear2, ordered)."""
    ends = set(per_word[0])
    for positions in per_word[1:]:
        if slop == 1:
            ends = {p for p in positions if p - 1 in ends}
        else:
            ends = {p for p in positions if any(p - k in ends for k in range(1, slop + 1))}
        if not ends:
            return False
    return True


def _phrase_scores(st: Stats, q, factor: float, out: dict, only=None) -> None:
    """A phrase scores the sum of its words' BM25 where they stand in order, close."""
    field = q.fieldname
    per_word = []
    for w in q.words:
        sc: dict = {}
        _term_scores(st, field, w, 1.0, sc, only)
        if not sc:
            return
        per_word.append(sc)
    cand = set(min(per_word, key=len))
    for sc in per_word:
        cand &= sc.keys()
    if not cand:
        return
    cache: dict = {}
    positions = []
    for w in q.words:
        if w not in cache:
            cache[w] = _positions(st, field, w, cand)
        positions.append(cache[w])
    f = factor * q.boost
    for d in cand:
        if _chained([p[d] for p in positions], q.slop):
            out[d] = out.get(d, 0.0) + sum(sc[d] for sc in per_word) * f


def _opaque_scores(st: Stats, q, factor: float, out: dict, only=None) -> None:
    """Whoosh matches the part (a phrase, a compound word); its scores are added in."""
    deadline, n = st.deadline, 0
    for sub, offset, _ in st.leaves:
        m = q.matcher(sub, sub.context(weighting=st.weighting))
        while m.is_active():
            n += 1
            if deadline is not None and not n & 255 and deadline.passed():
                raise _TimeUp
            d = m.id() + offset
            if only is None or d in only:
                out[d] = out.get(d, 0.0) + m.score() * factor
            m.next()


def _eval(st: Stats, q, factor: float, out: dict, only=None) -> None:
    """Add the scores of query `q` (times `factor`) into `out`; `only`: passages to consider.

    Boosts are applied the way whoosh's matchers apply them: a compound query with a
    single subquery and the binary queries (AndMaybe, AndNot) ignore their own boost.
    """
    if isinstance(q, wq.Term) and q.fieldname in st.norms:
        _term_scores(st, q.fieldname, q.text, factor * q.boost, out, only)
    elif type(q) in (wq.Or, wq.And):
        if type(q) is wq.Or and (q.scale or q.minmatch):
            raise Unsupported(q)
        subs = q.subqueries
        f = factor * q.boost if len(subs) > 1 else factor
        if type(q) is wq.Or:
            for sub in subs:
                _eval(st, sub, f, out, only)
            return
        acc: dict | None = None
        for sub in subs:
            part: dict = {}
            _eval(st, sub, f, part, only if acc is None else acc.keys())
            acc = part if acc is None else {d: acc[d] + sc for d, sc in part.items()}
            if not acc:
                return
        for d, sc in acc.items():
            out[d] = out.get(d, 0.0) + sc
    elif isinstance(q, (wq.AndMaybe, wq.AndNot)):
        first: dict = {}
        _eval(st, q.a, factor, first, only)
        second: dict = {}
        _eval(st, q.b, factor, second, first.keys())
        for d, sc in first.items():
            if isinstance(q, wq.AndMaybe):
                out[d] = out.get(d, 0.0) + sc + second.get(d, 0.0)
            elif d not in second:
                out[d] = out.get(d, 0.0) + sc
    elif isinstance(q, wq.Phrase) and q.fieldname in st.norms and q.words:
        _phrase_scores(st, q, factor, out, only)
    elif q is wq.NullQuery:
        return
    else:
        # Prefixes, exact forms, fields, NOT, compound words: whoosh matches these parts.
        _opaque_scores(st, q, factor, out, only)


def supported(q) -> bool:
    """True when `q` has a part this module scores itself (else whoosh alone is as fast)."""
    if isinstance(q, wq.Term):
        return q.fieldname in ("body", "title")
    if type(q) is wq.Or and (q.scale or q.minmatch):
        return False
    if isinstance(q, wq.Phrase):
        return q.fieldname in ("body", "title")
    if isinstance(q, (wq.Or, wq.And, wq.AndMaybe, wq.AndNot)):
        return any(supported(sub) for sub in q.children())
    return False


def run(st: Stats, q, allowed: set | None, masked: set | None, limit: int, deadline=None):
    """(hits, {doc_id: matching passages}, total matching passages).

    hits: (score, docnum) of the best `limit` passages, best first, then the best
    passage of each other matching document, so that every document can be shown.
    Past the `deadline`, the passages scored so far (`deadline.hit` is then true).
    """
    scores: dict = {}
    st.deadline = deadline
    try:
        _eval(st, q, 1.0, scores, allowed)      # filtered passages are never scored
    except _TimeUp:
        pass
    finally:
        st.deadline = None
    if masked:
        scores = {d: s for d, s in scores.items() if d not in masked}
    counts: dict[str, int] = {}
    best: dict[str, tuple] = {}
    doc_of = st.doc_of
    for d, sc in scores.items():
        key = doc_of[d]
        counts[key] = counts.get(key, 0) + 1
        b = best.get(key)
        if b is None or (-sc, d) < b:
            best[key] = (-sc, d)
    # Equal scores: the earlier passage first, as whoosh orders them.
    top = heapq.nsmallest(limit, ((-sc, d) for d, sc in scores.items()))
    shown = {doc_of[d] for _, d in top}
    top += sorted(b for key, b in best.items() if key not in shown)
    return [(-neg, d) for neg, d in top], counts, len(scores)
