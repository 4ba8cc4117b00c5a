"""Queries scored straight from the postings: the common shapes, made fast.

Whoosh's matcher tree spends ~15 µs of pure Python per posting it scores, and a natural
question touches thousands (bench/search.py: 90 % of query time). Most queries are an OR
of words, each word an OR of a few terms in `body` and `title`, common words under an
AndMaybe, phrases from the lexicon, sometimes AND / NOT. Such a tree is evaluated here by
reading each term's postings once into arrays (kept per opened index version, bounded) and
adding BM25 with numpy into a score array over all passages, with the same formula,
statistics, boosts and order of additions as whoosh, so the scores are the same to the last
bit (tests/test_index_bag.py compares both paths). Decoding whoosh's pickled posting blocks
in Python was most of a query's cost and grows with the collection: a decoded term is reused
by every later query, and the arithmetic runs in C. Other parts (fields, prefixes, exact
forms, compound words) are matched by whoosh and their scores added in. One difference, on purpose: whoosh's AndNot
sometimes keeps a passage it should exclude (seen: `жилье -аренда` kept an article with
`аренды`, depending on the segment layout); the exclusion here is exact.

A query's deadline (querymodel.Deadline) is checked at every postings block: past it, the
scoring stops and `run` ranks what has been scored so far (`deadline.hit` says so).
"""

from __future__ import annotations

import bisect

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length


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
        self.n = n = searcher.doc_count_all()
        # K1 * ((1 - B) + B * length / avg length), per field and global docnum: whoosh's
        # BM25 denominator less tf, computed in the same order so scores match exactly.
        self.norms: dict[str, np.ndarray] = {f: np.zeros(n) for f in fields}
        shape = {f: (w._field_B.get(f, w.B), searcher.avg_field_length(f) or 1) for f in fields}
        self.doc_of: list[str | None] = [None] * n       # doc_id of every passage, for grouping
        for sub, offset in searcher.leaf_searchers():
            r = sub.reader()
            if not r.doc_count_all():
                continue        # an empty index is one EmptyReader: no columns, no deletions
            self.leaves.append((sub, offset, r.deleted_docs_set))
            count = r.doc_count_all()
            self.doc_of[offset:offset + count] = list(r.column_reader("doc_id"))
            for f, (b, avg) in shape.items():
                lengths = _field_lengths(r, f, count)
                self.norms[f][offset:offset + count] = self.k1 * ((1 - b) + b * lengths / avg)
        # Each passage's document as a small number, for counting passages per document.
        keys: dict = {}
        self.doc_num = np.fromiter((keys.setdefault(d, len(keys)) for d in self.doc_of), dtype=np.int64, count=n)
        self.doc_keys = list(keys)
        self._postings: dict = {}
        self._cached = 0
        self.positions: dict = {}       # (field, term) -> position keys (_position_keys)
        self.positions_kept = 0

    def postings(self, field: str, text: str):
        """(global docnums, tf) of a term's live passages, ascending; decoded once and kept
        (at most POSTINGS_CACHE postings in all: then the cache starts again)."""
        key = (field, text)
        got = self._postings.get(key)
        if got is None:
            ids, tfs = [], []
            for offset, deleted, m in _blocks(self, field, text):
                m._read_weights()
                if deleted:
                    pairs = [(local, tf) for local, tf in zip(m._ids, m._weights) if local not in deleted]
                    ids.extend(local + offset for local, _ in pairs)
                    tfs.extend(tf for _, tf in pairs)
                else:
                    ids.extend(local + offset for local in m._ids)
                    tfs.extend(m._weights)
            got = (np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float64))
            if self._cached + len(ids) > POSTINGS_CACHE:
                self._postings.clear()
                self._cached = 0
            self._postings[key] = got
            self._cached += len(ids)
        return got


# Whoosh stores a field's length per passage as one byte (its length_to_byte scale).
_BYTE_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)


def _field_lengths(r, field: str, count: int) -> np.ndarray:
    """The length of `field` in each passage of a segment, as whoosh's BM25 reads it.

    The column is read whole (one call, not two per passage: a second of every cold start
    on the 75,000 passages of bench/scale.py). Anything unexpected in whoosh's private
    column object falls back to the public per-passage call."""
    try:
        col = r._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if col is None:
            return np.zeros(count)
        raw = np.frombuffer(col._dbfile.get(col._basepos, col._count * col._fixedlen),
                            dtype=np.dtype(">" + col._typecode))
        codes = np.full(count, col._default, dtype=np.int64)
        codes[:min(count, len(raw))] = raw[:count]
        return _BYTE_LENGTH[codes]
    except (AttributeError, TypeError, ValueError, IndexError):
        # None for an empty field (a PDF page without text): no term to score there.
        return np.array([r.doc_field_length(local, field, 1) or 0 for local in range(count)], dtype=np.float64)


# Postings kept decoded per opened index (16 bytes each: ~100 MB at most).
POSTINGS_CACHE = 6_000_000
# Positions of phrase words kept decoded (8 bytes each: ~32 MB at most).
POSITIONS_CACHE = 4_000_000


class _Acc:
    """Scores being summed over all passages: `s` the sums, `m` which passages matched."""

    __slots__ = ("s", "m")

    def __init__(self, n: int):
        self.s = np.zeros(n)
        self.m = np.zeros(n, dtype=bool)


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


def _term_scores(st: Stats, field: str, text: str, factor: float, out: _Acc, only=None) -> None:
    """Add factor x BM25 of one term to `out` for every live passage holding it
    (`only`: a boolean array of the passages to consider)."""
    s = st.searcher
    if (field, text) not in s.reader():
        return
    if st.deadline is not None and st.deadline.passed():
        raise _TimeUp
    ids, tf = st.postings(field, text)
    if only is not None:
        keep = only[ids]
        ids, tf = ids[keep], tf[keep]
    if not len(ids):
        return
    idf = s.idf(field, text)
    # The same operations in the same order as whoosh's BM25, element by element.
    out.s[ids] += idf * ((tf * (st.k1 + 1)) / (tf + st.norms[field][ids])) * factor
    out.m[ids] = True


def _positions(st: Stats, field: str, text: str, wanted: set) -> dict:
    """Positions of one term in the passages of `wanted` (global docnums).

    A block is decoded only when a wanted passage can be in it (its header gives its last
    id): a phrase's candidates are few, its words' postings long."""
    s = st.searcher
    btext = s.schema[field].to_bytes(text)
    fmt = s.schema[field].format
    decode = fmt.decoder("positions")
    want = sorted(wanted)
    out = {}
    for sub, offset, _ in st.leaves:
        r = sub.reader()
        lo = bisect.bisect_left(want, offset)
        hi = bisect.bisect_left(want, offset + r.doc_count_all())
        if lo == hi or (field, btext) not in r:
            continue
        mine = [d - offset for d in want[lo:hi]]
        j = 0
        m = r._terms.matcher(field, btext, fmt)
        while m.is_active() and j < len(mine):
            if st.deadline is not None and st.deadline.passed():
                raise _TimeUp
            k = bisect.bisect_right(mine, m.block_max_id(), j)
            if k > j:
                m._read_ids()
                need = set(mine[j:k])
                hit = [i for i, local in enumerate(m._ids) if local in need]
                if hit:
                    m._read_values()
                    for i in hit:
                        out[m._ids[i] + offset] = decode(m._values[i])
                j = k
            m._next_block()
    return out


def _keys(positions: dict) -> np.ndarray:
    """{docnum: [positions]} as sorted keys docnum << 32 | position (one array for numpy)."""
    if not positions:
        return np.zeros(0, dtype=np.int64)
    docs = np.fromiter((d for d, ps in positions.items() for _ in ps), dtype=np.int64)
    pos = np.fromiter((p for ps in positions.values() for p in ps), dtype=np.int64, count=len(docs))
    keys = (docs << 32) | pos
    keys.sort()
    return keys


def _position_keys(st: Stats, field: str, text: str, cand_ids: np.ndarray) -> np.ndarray:
    """Position keys of a term in the candidate passages.

    When the candidates are most of the term's passages (a phrase of common words, such as
    `кыргызской республики` in the titles of a code), all its positions are decoded once and
    kept: whoosh stores each passage's positions as a separate pickle, ~4 µs apiece, and such
    phrases come back query after query. Otherwise only the candidates' are read."""
    key = (field, text)
    keys = st.positions.get(key)
    if keys is None:
        ids, _ = st.postings(field, text)
        if len(cand_ids) * 2 < len(ids):
            return _keys(_positions(st, field, text, set(cand_ids.tolist())))
        keys = _keys(_positions(st, field, text, set(ids.tolist())))
        if st.positions_kept + len(keys) > POSITIONS_CACHE:
            st.positions.clear()
            st.positions_kept = 0
        st.positions[key] = keys
        st.positions_kept += len(keys)
    return keys[np.isin(keys >> 32, cand_ids)]


def _chained(per_word: list[np.ndarray], slop: int) -> np.ndarray:
    """Passages where each word stands 1..slop positions after the previous one (whoosh's
    SpanNear2, ordered), from each word's position keys."""
    ends = per_word[0]
    for keys in per_word[1:]:
        near = np.zeros(len(keys), dtype=bool)
        for k in range(1, slop + 1):
            near |= np.isin(keys - k, ends)
        ends = keys[near]
        if not len(ends):
            break
    return np.unique(ends >> 32)


def _phrase_scores(st: Stats, q, factor: float, out: _Acc, only=None) -> None:
    """A phrase scores the sum of its words' BM25 where they stand in order, close."""
    field = q.fieldname
    per_word = []
    for w in q.words:
        sc = _Acc(st.n)
        _term_scores(st, field, w, 1.0, sc, only)
        if not sc.m.any():
            return
        per_word.append(sc)
    both = per_word[0].m.copy()
    for sc in per_word[1:]:
        both &= sc.m
    cand_ids = np.flatnonzero(both)
    if not len(cand_ids):
        return
    cache: dict = {}
    for w in q.words:
        if w not in cache:
            cache[w] = _position_keys(st, field, w, cand_ids)
    found = _chained([cache[w] for w in q.words], q.slop)
    if not len(found):
        return
    total = np.zeros(len(found))
    for sc in per_word:            # summed word by word, as whoosh sums them
        total = total + sc.s[found]
    out.s[found] += total * (factor * q.boost)
    out.m[found] = True


def _opaque_scores(st: Stats, q, factor: float, out: _Acc, only=None) -> None:
    """Whoosh matches the part (a phrase, a compound word); its scores are added in."""
    deadline, n = st.deadline, 0
    for sub, offset, _ in st.leaves:
        m = q.matcher(sub, sub.context(weighting=st.weighting))
        while m.is_active():
            n += 1
            if deadline is not None and not n & 255 and deadline.passed():
                raise _TimeUp
            d = m.id() + offset
            if only is None or only[d]:
                out.s[d] += m.score() * factor
                out.m[d] = True
            m.next()


def _eval(st: Stats, q, factor: float, out: _Acc, only=None) -> None:
    """Add the scores of query `q` (times `factor`) into `out`; `only`: passages to consider.

    Boosts are applied the way whoosh's matchers apply them: a compound query with a
    single subquery and the binary queries (AndMaybe, AndNot) ignore their own boost.
    Sums are formed in whoosh's order (a sub-query's own sum first, then added), so that
    floating-point results are identical.
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
        acc: _Acc | None = None
        for sub in subs:
            part = _Acc(st.n)
            _eval(st, sub, f, part, only if acc is None else acc.m)
            if acc is None:
                acc = part
            else:
                part.s[part.m] += acc.s[part.m]
                acc = part
            if not acc.m.any():
                return
        out.s[acc.m] += acc.s[acc.m]
        out.m |= acc.m
    elif isinstance(q, (wq.AndMaybe, wq.AndNot)):
        first = _Acc(st.n)
        _eval(st, q.a, factor, first, only)
        second = _Acc(st.n)
        _eval(st, q.b, factor, second, first.m)
        if isinstance(q, wq.AndMaybe):
            keep = first.m
            out.s[keep] += first.s[keep] + second.s[keep]
        else:
            keep = first.m & ~second.m
            out.s[keep] += first.s[keep]
        out.m |= keep
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


def run(st: Stats, q, allowed: set | None, masked: set | None, limit: int, deadline=None,
        doc_cap: int | None = None):
    """(hits, {doc_id: matching passages}, total matching passages, documents left out).

    hits: (score, docnum) of the best `limit` passages, best first, then the best
    passage of each other matching document, so that every document can be shown; with a
    `doc_cap`, only the best `doc_cap` documents (at least those of the `limit` passages) are
    listed and counted, and the number of the others is returned: on an archive, a question
    of common words matches tens of thousands, and every listed document costs the search
    stage Python work (grouping, facets), while people read the first pages.
    Past the `deadline`, the passages scored so far (`deadline.hit` is then true).
    """
    acc = _Acc(st.n)
    only = None
    if allowed is not None:
        only = np.zeros(st.n, dtype=bool)
        if allowed:
            only[np.fromiter(allowed, dtype=np.int64, count=len(allowed))] = True
    st.deadline = deadline
    try:
        _eval(st, q, 1.0, acc, only)      # filtered passages are never scored
    except _TimeUp:
        pass
    finally:
        st.deadline = None
    if masked:
        acc.m[np.fromiter(masked, dtype=np.int64, count=len(masked))] = False
    ids = np.flatnonzero(acc.m)
    if not len(ids):
        return [], {}, 0, 0
    scores = acc.s[ids]
    # Best first; equal scores: the earlier passage first, as whoosh orders them.
    order = np.lexsort((ids, -scores))
    ids, scores = ids[order], scores[order]
    docs = st.doc_num[ids]
    # The first (best) passage of each document, in rank order.
    _, firsts = np.unique(docs, return_index=True)
    firsts.sort()
    left_out = 0
    if doc_cap is not None and len(firsts) > max(doc_cap, limit):
        left_out = len(firsts) - max(doc_cap, limit)
        firsts = firsts[:max(doc_cap, limit)]
    per_doc = np.bincount(docs)
    listed = docs[firsts]
    counts = dict(zip(map(st.doc_keys.__getitem__, listed.tolist()), per_doc[listed].tolist()))
    head = min(limit, len(ids))
    shown = set(docs[:head].tolist())
    rest = [i for i in firsts.tolist() if i >= head and docs[i] not in shown]
    picked = list(range(head)) + rest
    sc, nums = scores.tolist(), ids.tolist()
    return [(sc[i], nums[i]) for i in picked], counts, len(ids), left_out
