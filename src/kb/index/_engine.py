"""Whoosh, and only here: open, write and query the passage index."""

from __future__ import annotations

import math
import os
import pickle
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from whoosh import collectors
from whoosh import index as windex
from whoosh import query as wq
from whoosh import scoring
from whoosh.index import LockError
from whoosh.searching import TimeLimit

from kb import analysis
from kb.errors import IndexDamaged, IndexLocked, KbError, QueryError
from kb.index import _bag, access, store
from kb.index import querymodel as qm
from kb.index._schema import make_schema

INDEX_NAME = "passages"
# Cost bounds of one query (docs/query-syntax.md). Each wildcard adds every word form it
# matches to the query: 40 two-letter prefixes of up to 2,000 forms each ran for a minute,
# so the budget is for all the wildcards of a query together.
MAX_PREFIX_TERMS = 2000
# Distinct index terms of a query after the lexicon's expansions, compound splitting and
# the lemmas of ambiguous words: the 1,210 bench questions need at most 25, a pasted
# 420-character sentence in quotes 42; 40 abbreviations of the lexicon make 102 (66 phrases,
# 5 s of positions on the real codes), refused.
MAX_QUERY_TERMS = 100

# Ranking chosen by `kb eval` on the dev sets (docs/ranking.md).
K1 = 1.2
B = 0.4
TITLE_BOOST = 3.0
TITLE_B = 0.4
# Extra weight when a passage has the query word in exactly the typed form.
EXACT_BONUS = 0.0
# Extra weight for two neighbouring query words within NEAR_SLOP positions of each other.
NEAR_BONUS = 0.0
NEAR_SLOP = 2
# Memory for postings before whoosh spills them to sorted runs on disk (slow): per process.
LIMIT_MB = 1024
MP_LIMIT_MB = 256
# Words in more than this share of passages only add to scores of passages other words found.
COMMON_SHARE = 0.02
COMMON_MIN = 200
# Score OR-of-words queries from the postings directly (kb.index._bag); False: whoosh alone.
FAST_BAG = True


def exists(index_dir: Path) -> bool:
    """An index has been published in this folder (kb.index.store)."""
    return store.current(Path(index_dir)) is not None


def create(gen: Path):
    """A new, empty whoosh index in a generation folder."""
    return windex.create_in(str(gen), make_schema(), indexname=INDEX_NAME)


def open_dir(gen: Path):
    return windex.open_dir(str(gen), indexname=INDEX_NAME)


# What reading a damaged file raises inside whoosh (a truncated or garbled segment or TOC).
_DAMAGE = (OSError, EOFError, struct.error, zlib.error, pickle.UnpicklingError, IndexError, ValueError,
           KeyError, AttributeError, TypeError, windex.IndexError)


def damaged(index_dir: Path, why) -> IndexDamaged:
    return IndexDamaged(f"индекс {index_dir} повреждён ({why}); выполните `kb index`, чтобы восстановить "
                        "его (index is damaged)")


def check_generation(gen: Path) -> list[str]:
    """Problems whoosh finds opening a generation: its TOC, segments and passage count."""
    try:
        ix = open_dir(gen)
        with ix.searcher() as s:
            n = s.doc_count()
            r = s.reader()
            for _ in zip(range(1), r.all_terms()):
                pass
    except _DAMAGE as e:
        return [f"{gen.name}: whoosh не может открыть индекс: {type(e).__name__}: {e}"[:300]]
    seal = store.read_seal(gen) or {}
    want = seal.get("passages")
    if isinstance(want, int) and want != n:
        return [f"{gen.name}: фрагментов {n} вместо {want} (passage count mismatch)"]
    return []


def passage_count(gen: Path) -> int:
    with open_dir(gen).searcher() as s:
        return s.doc_count()


def segment_count(index_dir: Path) -> int:
    """Segments of the published generation (0 without one): updates add small segments that
    whoosh merges at commit; bench/updates.py watches that they do not pile up."""
    from kb.index import store

    gen = store.current(Path(index_dir))
    return len(open_dir(gen)._segments()) if gen is not None else 0


class Writer:
    """One whoosh writer; a second one at the same time raises IndexLocked at once.

    `bulk` spreads analysis and posting writing over the cores (whoosh's multiprocess
    writer, each process writing its own segment): about 1.6x faster for big batches,
    not worth its start-up for a few changed files.
    """

    def __init__(self, ix, bulk: bool = False):
        procs = min(os.cpu_count() or 1, 4) if bulk else 1
        try:
            if procs > 1:
                self._w = ix.writer(limitmb=MP_LIMIT_MB, procs=procs, multisegment=True)
            else:
                self._w = ix.writer(limitmb=LIMIT_MB)
        except LockError:
            raise IndexLocked("индекс сейчас обновляет другой процесс (index is locked by another writer)") from None

    def delete_doc(self, doc_id: str) -> None:
        self._w.delete_by_term("doc_id", doc_id)

    def add_passage(self, rec: dict) -> None:
        self._w.add_document(**rec)

    def commit(self, optimize: bool = False) -> None:
        self._w.commit(optimize=optimize)

    def cancel(self) -> None:
        self._w.cancel()


class _BM25(scoring.BM25F):
    """BM25 with the probabilistic idf of Lucene/Elasticsearch.

    Whoosh's own idf, log(N/(df+1)) + 1, leaves words found in nearly every passage
    a weight of about 1 (a rare word gets ~9): questions full of such words drift.
    """

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        df = parent.doc_frequency(fieldname, text)
        n = parent.doc_count_all()
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


def weighting():
    return _BM25(B=B, K1=K1, title_B=TITLE_B)


# --- query translation -------------------------------------------------------

def _lemma_terms(word: str) -> list[list[str]]:
    """Index terms per token of a query word (a compound gives several tokens)."""
    toks = analysis.tokenize(word)
    parts = [t for t in toks if not analysis.is_compound(t)] if len(toks) > 1 else toks
    return [list(analysis.terms(t.norm)) for t in parts]


def _surfaces(word: str) -> list[str]:
    toks = analysis.tokenize(word)
    parts = [t for t in toks if not analysis.is_compound(t)] if len(toks) > 1 else toks
    return [analysis.surface_term(t.norm) for t in parts]


def _terms_query(field: str, per_token: list[list[str]], boost: float = 1.0):
    alts = [wq.Or([wq.Term(field, t) for t in terms]) if len(terms) > 1 else wq.Term(field, terms[0])
            for terms in per_token if terms]
    if not alts:
        return wq.NullQuery
    if len(alts) == 1:
        q = alts[0]
    else:
        q = wq.Sequence(alts, slop=1)
    if boost != 1.0:
        q.boost = boost
    return q


class Translator:
    """A querymodel tree -> a whoosh query, refusing one that would cost too much.

    One Translator per query: it counts the query's index terms and wildcard expansions
    against MAX_QUERY_TERMS and MAX_PREFIX_TERMS."""

    def __init__(self, reader, driven: bool = True):
        self.reader = reader
        self.terms: set[str] = set()
        self.prefix_terms = 0
        # Common words under an AndMaybe (below); False: every OR is a plain OR. `drove` tells
        # whether this query used one, so that an empty result can be checked without it.
        self.driven = driven
        self.drove = False

    def __call__(self, node):
        return self.tr(node)

    def _count(self, texts) -> None:
        self.terms.update(texts)
        if len(self.terms) > MAX_QUERY_TERMS:
            raise QueryError(f"запрос слишком сложный: больше {MAX_QUERY_TERMS} терминов поиска после "
                             "раскрытия сокращений и составных слов; сократите запрос (too many terms)")

    def tr(self, node):
        if isinstance(node, qm.Word):
            return self.word(node)
        if isinstance(node, qm.Phrase):
            return self.phrase(node)
        if isinstance(node, qm.FieldMatch):
            return self.field(node)
        if isinstance(node, qm.Not):
            return wq.Not(self.tr(node.node))
        if isinstance(node, qm.All):
            pos = [self.tr(n) for n in node.nodes if not isinstance(n, qm.Not)]
            neg = [self.tr(n.node) for n in node.nodes if isinstance(n, qm.Not)]
            base = wq.And(pos) if len(pos) > 1 else (pos[0] if pos else wq.Every())
            if neg:
                return wq.AndNot(base, wq.Or(neg) if len(neg) > 1 else neg[0])
            return base
        if isinstance(node, qm.Any):
            return self.any(node)
        raise TypeError(node)

    def _df(self, node, field: str = "body") -> int | None:
        """Passages holding a plain word in `field` (its rarest token, any of its terms), or
        None for other nodes (phrases, fields), whose matches are not known before running them."""
        if not (isinstance(node, qm.Word) and node.mode == "lemma"):
            return None
        per = [terms for terms in _lemma_terms(node.text) if terms]
        if not per:
            return 0
        r = self.reader
        return min(max(r.doc_frequency(field, t) for t in terms) for terms in per)

    def _common(self, node) -> bool:
        """A word found in a large share of passages (`в`, `на`, `жилье` in housing law)."""
        df = self._df(node)
        return df is not None and df > max(COMMON_SHARE * max(1, self.reader.doc_count()), COMMON_MIN)

    def _nowhere(self, node) -> bool:
        """A plain word that no passage holds, in its body or its title."""
        return self._df(node) == 0 and self._df(node, "title") == 0

    def _near_pairs(self, node: qm.Any) -> list:
        """Bonus clauses for neighbouring query words standing close in the passage."""
        words = [n for n in node.nodes if isinstance(n, qm.Word) and n.mode == "lemma"]
        out = []
        for a, b in zip(words, words[1:]):
            ta, tb = _lemma_terms(a.text), _lemma_terms(b.text)
            if len(ta) == 1 and len(tb) == 1 and ta[0] and tb[0]:
                out.append(wq.Phrase("body", [ta[0][0], tb[0][0]], slop=NEAR_SLOP, boost=NEAR_BONUS))
        return out

    def _optional(self, n):
        """A weighted addition (a word's family) that would take the query past MAX_QUERY_TERMS
        is left out, not refused: the words typed are what the limit is for."""
        before = set(self.terms)
        try:
            return self.tr(n)
        except QueryError:
            self.terms = before
            return None

    def any(self, node: qm.Any):
        subs = [(self._common(n), self._optional(n) if isinstance(n, qm.Any) and n.weight != 1.0 else self.tr(n))
                for n in node.nodes]
        subs = [(c, q) for c, q in subs if q is not None]
        if not subs:
            return wq.NullQuery
        if NEAR_BONUS and len(subs) > 1:
            subs += [(True, q) for q in self._near_pairs(node)]
        rare = [q for common, q in subs if not common]
        common = [q for common, q in subs if common]
        scale = node.coord or None
        if node.weight != 1.0:
            # A weighted node is an optional addition: a plain OR, scaled.
            q = wq.Or([q for _, q in subs], scale=scale) if len(subs) > 1 else subs[0][1].copy()
            q.boost = q.boost * node.weight
            return q
        if len(subs) == 1:
            return subs[0][1]
        # Only the words typed drive the match (the lexicon's alternatives would narrow it
        # to their passages: `Трудовой кодекс` found only passages with `ТК`), and not a word
        # no passage holds (a typo, an English word): alone in `rare`, it would leave nothing
        # for the common words to add to. Without such a driver: the plain OR of everything.
        live = [n for n, (c, _) in zip(node.nodes, subs)
                if not c and not self._nowhere(n) and not (isinstance(n, qm.Any) and n.expansion)]
        if not rare or not common or not live or not self.driven:
            return wq.Or([q for _, q in subs], scale=scale)
        self.drove = True
        # Common words still add to the score, but only of passages a rarer word found:
        # they no longer drive the match, which spares scoring most of the index.
        r = wq.Or(rare, scale=scale) if len(rare) > 1 else rare[0]
        c = wq.Or(common) if len(common) > 1 else common[0]
        return wq.AndMaybe(r, c)

    def word(self, w: qm.Word):
        if w.mode == "prefix":
            prefix = analysis.normalize(w.text)
            for _ in self.reader.expand_prefix("exact", prefix):
                self.prefix_terms += 1
                if self.prefix_terms > MAX_PREFIX_TERMS:
                    raise QueryError(f"шаблоны со * слишком общие: «{w.text}*» и другие шаблоны запроса "
                                     f"вместе дают больше {MAX_PREFIX_TERMS} словоформ; уточните начала слов "
                                     "(wildcards too broad)")
            return wq.Prefix("exact", prefix)
        if w.mode == "exact":
            per = [[s] for s in _surfaces(w.text)]
            self._count(t for terms in per for t in terms)
            return _terms_query("exact", per)
        per = _lemma_terms(w.text)
        self._count(t for terms in per for t in terms)
        weight = min((analysis.query_weight(t.norm) for t in analysis.tokenize(w.text)), default=1.0)
        subs = [_terms_query("body", per), _terms_query("title", per, TITLE_BOOST)]
        if EXACT_BONUS:
            subs.append(_terms_query("exact", [[s] for s in _surfaces(w.text)], EXACT_BONUS))
        q = wq.Or(subs)
        if weight != 1.0:
            q.boost = weight
        return q

    def phrase(self, p: qm.Phrase):
        if p.exact:
            per = [[s] for word in p.words for s in _surfaces(word)]
            field = "exact"
        else:
            per = [terms for word in p.words for terms in _lemma_terms(word)]
            field = "body"
        self._count(t for terms in per for t in terms)
        alts = [wq.Or([wq.Term(field, t) for t in terms]) if len(terms) > 1 else wq.Term(field, terms[0])
                for terms in per if terms]
        if not alts:
            return wq.NullQuery
        if all(isinstance(a, wq.Term) for a in alts):
            q = wq.Phrase(field, [a.text for a in alts], slop=p.slop)
            if field == "body":
                return wq.Or([q, wq.Phrase("title", q.words, slop=p.slop, boost=TITLE_BOOST)])
            return q
        return wq.Sequence(alts, slop=p.slop)

    def field(self, f: qm.FieldMatch):
        if f.name == "title":
            per = _lemma_terms(f.value)
            self._count(t for terms in per for t in terms)
            return _terms_query("title", per)
        if f.name in ("doc_type", "year", "article", "path", "cites", "doc_id"):
            return wq.Term(f.name, f.value)
        raise QueryError(f"неизвестное поле «{f.name}» (unknown field)")


def filter_query(filters: qm.Filters | None):
    if filters is None:
        return None, None
    parts = []
    for name in ("doc_type", "year", "cites", "doc_id"):
        vals = getattr(filters, name)
        if vals:
            parts.append(wq.Or([wq.Term(name, v) for v in vals]))
    mask = None
    if filters.exclude_doc_id:
        mask = wq.Or([wq.Term("doc_id", v) for v in filters.exclude_doc_id])
    return (wq.And(parts) if parts else None), mask


@dataclass
class RawHit:
    """A matching passage; its stored fields are read only when asked for."""

    docnum: int
    score: float
    doc_id: str
    _reader: "Reader" = None
    _searcher: object = None
    _fields: dict | None = None

    @property
    def fields(self) -> dict:
        if self._fields is None:
            self._fields = self._reader.stored(self.docnum, self._searcher)
        return self._fields

    def read(self) -> dict:
        """The stored fields, not kept (a long list of hits read one by one stays small)."""
        return self._fields if self._fields is not None else self._reader.stored(self.docnum, self._searcher)


@dataclass
class RawResults:
    hits: list[RawHit]                 # best passages first (up to the limit)
    doc_counts: dict[str, int]         # every matching document -> matching passages
    total: int                         # matching passages
    cut: bool = False                  # the deadline stopped the search: what was found by then
    docs_more: int = 0                 # matching documents beyond DOC_CAP, not listed nor counted
    by_meaning: int = 0                # passages among `hits` found by meaning alone (kb.search.semantic)
    scored_now: int = 0                # candidates without a stored vector scored by meaning at query time (kb.search.fill)


class _Deadline(collectors.WrappingCollector):
    """Stops whoosh's collection when the query's deadline has passed (raises whoosh's TimeLimit).

    Not whoosh's TimeLimitCollector: by default it stops the search with SIGALRM, which
    signal.signal() refuses outside the main thread and which would interrupt the main
    thread (waitress's loop), not this search; without the alarm it checks a flag set by a
    timer thread (one thread per query) only in its own collect_matches(), which is never
    called under a FilterCollector (facets) and which, above one, would bypass the filter.
    This one checks the clock in collect(), so it works in either place. Like the original,
    it looks only between matches: setting up the matchers (about 0.6 ms per wildcard form)
    is not interrupted; MAX_PREFIX_TERMS bounds it.
    """

    def __init__(self, child, deadline: qm.Deadline):
        super().__init__(child)
        self.deadline = deadline

    def collect(self, sub_docnum):
        if self.deadline.passed():
            raise TimeLimit
        return self.child.collect(sub_docnum)


def _checked(method):
    """Reading errors of a damaged index become IndexDamaged: when a read fails, the files are
    checked against their seal by hash; unchanged files mean a real bug, raised as it is."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except KbError:
            raise
        except Exception as e:
            gen = getattr(self, "gen", None)
            problems = store.check_files(gen, deep=True) if gen is not None else []
            if problems:
                raise damaged(self.index_dir, problems[0]) from None
            raise e
    return wrapper


class Reader:
    """An open searcher, shared by threads, refreshed when the index has changed.

    Whoosh reads through shared file objects (seek, then read): two threads in one
    searcher interleave and read garbage (seen as 500s under 8 web clients). So every
    use holds `lock`. It costs little: whoosh is pure Python, the GIL serialises it
    anyway, and one shared searcher keeps its caches warm (a searcher per thread was
    ~1.6x slower in bench/web.py).
    """

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self.lock = threading.RLock()
        self._stamp = None
        self._searcher = None
        self._open()

    def _open(self) -> None:
        """Open the published generation (files checked against its seal by size first).

        Retried when CURRENT moves meanwhile: a writer may publish, and remove the
        generation before last, between our reading CURRENT and opening its files."""
        for attempt in range(5):
            stamp = store.pointer_stamp(self.index_dir)
            gen = store.current(self.index_dir)
            if gen is None:
                raise KbError(f"индекс не найден в {self.index_dir}: сначала выполните `kb index` (no index)")
            try:
                problems = store.check_files(gen, deep=False)
                if problems:
                    raise damaged(self.index_dir, problems[0])
                searcher = open_dir(gen).searcher(weighting=weighting())
            except (IndexDamaged, *_DAMAGE) as e:
                if store.pointer_stamp(self.index_dir) != stamp and attempt < 4:
                    continue
                raise e if isinstance(e, IndexDamaged) else damaged(self.index_dir, f"{type(e).__name__}: {e}") from None
            # The old searcher is left open for hits still reading their stored fields through it.
            self._searcher, self._stamp, self.gen = searcher, stamp, gen
            self._stats, self._vocab = None, {}       # both belong to the old searcher
            self._hidden_nums = (None, set())
            return

    def hidden_docs(self) -> frozenset[str]:
        """Doc ids the current audience may not see (kb.index.access)."""
        return access.hidden_ids(self.index_dir)

    def hidden_nums(self, s) -> set[int]:
        """Passage numbers of hidden documents in searcher `s` (the caller holds the lock);
        computed once per searcher and set of hidden documents."""
        ids = self.hidden_docs()
        if not ids:
            return set()
        key, nums = self._hidden_nums
        if key != (id(s), ids):
            nums = {n for d in ids for n in s.document_numbers(doc_id=d)}
            self._hidden_nums = ((id(s), ids), nums)
        return nums

    def visible_df(self, s, field: str, term) -> int:
        """Passages holding `term` that the current audience may see: the vocabulary of staff
        documents (spelling suggestions, known words) must not show through to the public."""
        r = s.reader()
        df = r.doc_frequency(field, term)
        hidden = self.hidden_nums(s)
        if not df or not hidden:
            return df
        return sum(1 for n in r.postings(field, term).all_ids() if n not in hidden)

    def mask_with_hidden(self, s, mask):
        """A whoosh mask (query or None) joined with the hidden passages: a set of numbers."""
        hidden = self.hidden_nums(s)
        if not hidden:
            return mask
        nums = set(hidden)
        if mask is not None:
            nums.update(s.docs_for_query(mask))
        return nums

    def searcher(self):
        """The current searcher; callers hold `lock` while they use it.

        A new generation published since the last query is opened here (one stat of CURRENT)."""
        with self.lock:
            if store.pointer_stamp(self.index_dir) != self._stamp:
                self._open()
            return self._searcher

    def _bag_stats(self, s) -> _bag.Stats:
        if self._stats is None:
            self._stats = _bag.Stats(s)
        return self._stats

    @_checked
    def stored(self, docnum: int, searcher=None) -> dict:
        with self.lock:
            return (searcher or self.searcher()).stored_fields(docnum)

    def close(self) -> None:
        self._searcher.close()

    @_checked
    def search(self, node, filters: qm.Filters | None = None, limit: int = 200,
               deadline: qm.Deadline | None = None, doc_cap: int | None = None) -> RawResults:
        """The best `limit` passages for a querymodel node; QueryError when it costs too much.

        `doc_cap`: list and count at most this many documents (at least those of the `limit`
        passages); how many more matched is `docs_more`. None: every document.

        Past the `deadline`, what was found by then, marked `cut`."""
        with self.lock:
            s = self.searcher()
            if deadline is not None:
                deadline.start()
            tr = Translator(s.reader())
            q = tr(node)
            if not s.doc_count_all():
                return RawResults(hits=[], doc_counts={}, total=0)
            flt, mask = filter_query(filters)
            mask = self.mask_with_hidden(s, mask)
            res = self._run(s, q, flt, mask, limit, deadline, doc_cap)
            if not res.total and tr.drove and not res.cut:
                # The rare words matched nothing (a phrase of the lexicon, say): the plain OR of
                # all the words is what the query means, and it may well find passages.
                res = self._run(s, Translator(s.reader(), driven=False)(node), flt, mask, limit, deadline,
                                doc_cap)
            return res

    def _run(self, s, q, flt, mask, limit: int, deadline, doc_cap: int | None = None) -> RawResults:
        """One whoosh query over the searcher `s` (the caller holds the lock)."""
        if FAST_BAG and _bag.supported(q):
            st = self._bag_stats(s)
            allowed = set(s.docs_for_query(flt)) if flt is not None else None
            masked = mask if isinstance(mask, set) else set(s.docs_for_query(mask)) if mask is not None else None
            try:
                top, counts, total, left_out = _bag.run(st, q, allowed, masked, limit, deadline, doc_cap)
            except _bag.Unsupported:
                pass
            else:
                hits = [RawHit(n, score, st.doc_of[n], self, s) for score, n in top]
                return RawResults(hits=hits, doc_counts=counts, total=total,
                                  cut=deadline is not None and deadline.hit, docs_more=left_out)
        # Everything else (AND, NOT, prefixes, exact forms, fields): whoosh's matchers,
        # collected as s.search(q, limit, filter, mask, groupedby="doc_id") would.
        c = s.collector(limit=limit, groupedby="doc_id", terms=False)
        if deadline is not None:
            c = _Deadline(c, deadline)
        if flt is not None or mask is not None:
            c = collectors.FilterCollector(c, flt, mask)
        try:
            s.search_with_collector(q, c)
        except TimeLimit:
            deadline.hit = True
        res = c.results()
        groups = res.groups("doc_id")
        doc_of = {n: d for d, nums in groups.items() for n in nums}
        hits = [RawHit(n, score, doc_of.get(n) or self.stored(n, s)["doc_id"], self, s)
                for score, n in res.top_n]
        return RawResults(hits=hits, doc_counts={k: len(v) for k, v in groups.items()},
                          total=sum(len(v) for v in groups.values()),
                          cut=deadline is not None and deadline.hit)

    def has_vectors(self, model_key: str) -> bool:
        """The published generation's passage vectors are built (one stat)."""
        from kb.index import vectors

        with self.lock:
            self.searcher()
            return vectors.view(self.index_dir, self.gen, model_key) is not None

    def vector_cover(self, model_key: str) -> tuple[int, int, bool]:
        """(passages with a vector, live passages, complete) of the published generation: while
        its vectors are being built, search by meaning covers only the first number."""
        from kb.index import vectors

        with self.lock:
            s = self.searcher()
            v = vectors.view(self.index_dir, self.gen, model_key, partial=True)
            if v is None or v.size != s.doc_count_all():
                return 0, s.doc_count(), False
            return v.with_vectors, v.wanted, not v.partial

    def passage_vectors(self, docnums, model_key: str) -> dict:
        """{passage number: its vector} of those of `docnums` that have one (built or being built)."""
        from kb.index import vectors

        with self.lock:
            s = self.searcher()
            v = vectors.view(self.index_dir, self.gen, model_key, partial=True)
            if v is None or v.size != s.doc_count_all():
                return {}
            return {n: v.matrix[n] for n in docnums if 0 <= n < v.size and v.have[n]}

    @_checked
    def semantic(self, qvec, model_key: str, filters: qm.Filters | None = None,
                 limit: int = 100, partial: bool = False) -> RawResults | None:
        """The `limit` passages closest in meaning to a query vector (exact dot products over
        the generation's stored vectors, kb.index.vectors), filters applied as for words;
        None while the vectors of the published generation are not built (`partial`: unless
        some are, and then among the passages that have one)."""
        from kb.index import vectors

        with self.lock:
            s = self.searcher()
            v = vectors.view(self.index_dir, self.gen, model_key, partial=partial)
            if v is None or v.size != s.doc_count_all():
                return None
            flt, mask = filter_query(filters)
            mask = self.mask_with_hidden(s, mask)      # staff passages never reach the public
            allowed = s.docs_for_query(flt) if flt is not None else None
            masked = None if mask is None else mask if isinstance(mask, set) else set(s.docs_for_query(mask))
            top, scores = vectors.nearest(v, qvec, limit, allowed, masked)
            if not len(top):
                return RawResults(hits=[], doc_counts={}, total=0)
            doc_of = self._bag_stats(s).doc_of
            hits = [RawHit(int(n), float(sc), doc_of[n] or self.stored(int(n), s)["doc_id"], self, s)
                    for n, sc in zip(top, scores)]
            counts: dict[str, int] = {}
            for h in hits:
                counts[h.doc_id] = counts.get(h.doc_id, 0) + 1
            return RawResults(hits=hits, doc_counts=counts, total=len(hits))

    @_checked
    def doc_vector(self, doc_id: str, model_key: str):
        """A document's vector: the unit-length mean of its passages' vectors (similar documents
        by meaning), or None while they are not built, or for a document the current audience
        may not see."""
        from kb.index import vectors

        if doc_id in self.hidden_docs():
            return None
        with self.lock:
            s = self.searcher()
            v = vectors.view(self.index_dir, self.gen, model_key)
            if v is None or v.size != s.doc_count_all():
                return None
            return v.mean_of(list(s.document_numbers(doc_id=doc_id)))

    @_checked
    def doc_passage_count(self, doc_id: str) -> int:
        """Live passages of a document, from the postings of its id (no stored fields read);
        0 for a document the current audience may not see."""
        if doc_id in self.hidden_docs():
            return 0
        with self.lock:
            return sum(1 for _ in self.searcher().document_numbers(doc_id=doc_id))

    @_checked
    def doc_passages(self, doc_id: str, start: int = 0, stop: int | None = None) -> list[dict]:
        """Stored fields of a document's passages with start <= ordinal < stop, in order
        (to the end when stop is None).

        Each passage is found by its unique `pid` term, "<doc_id>:<ordinal>" (records.py), so
        only the slice's stored fields are read: a document's passages may sit in several
        segments (a multi-process write), in any docnum order, and a whole huge document
        is hundreds of MB. An index whose pids are made otherwise (none is, but kb eval writes
        its own records) is read the slow way: every passage, sorted."""
        with self.lock:
            s = self.searcher()
            total = self.doc_passage_count(doc_id)
            stop = total if stop is None else min(stop, total)
            out = []
            for n in range(max(0, start), stop):
                num = s.document_number(pid=f"{doc_id}:{n}")
                if num is None:
                    break
                out.append(self.stored(num, s))
            if len(out) == max(0, stop - max(0, start)):
                return out
            every = sorted((self.stored(n, s) for n in s.document_numbers(doc_id=doc_id)),
                           key=lambda f: f.get("ordinal", 0))
            return [f for f in every if start <= f.get("ordinal", 0) < stop]

    def visible(self, doc_id: str) -> bool:
        return doc_id not in self.hidden_docs()

    @_checked
    def known_form(self, norm: str) -> bool:
        with self.lock:
            return self.visible_df(self.searcher(), "exact", norm) > 0

    @_checked
    def known_word(self, word: str) -> bool:
        """True when the word, in this or another inflection, is in the index."""
        with self.lock:
            s = self.searcher()
            return any(self.visible_df(s, "body", t) > 0 for terms in _lemma_terms(word) for t in terms)

    @_checked
    def suggest(self, norm: str) -> str | None:
        """The most frequent indexed word form within edit distance 2 of `norm`.

        Candidates share the first two letters and are of a similar length; whoosh's own
        corrector scans the whole vocabulary in Python (~150 ms a word here).
        """
        with self.lock:
            s = self.searcher()
            letters = set(norm)
            best, best_key = None, None
            for cand, cand_letters in self._vocabulary(s, norm[:2]):
                if abs(len(cand) - len(norm)) > 2 or cand == norm:
                    continue
                # Two edits change at most four letters of the set: a cheap first sieve.
                if len(letters ^ cand_letters) > 4:
                    continue
                d = _distance(norm, cand, 2)
                if d > 2:
                    continue
                df = self.visible_df(s, "exact", cand)
                if not df:
                    continue
                key = (d, -df)
                if best_key is None or key < best_key:
                    best, best_key = cand, key
            return best

    def _vocabulary(self, s, prefix: str) -> list[tuple[str, frozenset]]:
        """Indexed word forms starting with `prefix`, kept until the index changes."""
        words = self._vocab.get(prefix)
        if words is None:
            words = []
            for cand in s.reader().expand_prefix("exact", prefix):
                if isinstance(cand, bytes):
                    cand = cand.decode("utf-8")
                words.append((cand, frozenset(cand)))
            self._vocab[prefix] = words
        return words

    @_checked
    def doc_count(self) -> int:
        """Passages the current audience may see."""
        with self.lock:
            s = self.searcher()
            return s.doc_count() - len(self.hidden_nums(s))


_readers: dict[str, Reader] = {}
_readers_lock = threading.Lock()


def reader(index_dir: Path) -> Reader:
    key = str(Path(index_dir).resolve())
    with _readers_lock:
        r = _readers.get(key)
        if r is None:
            r = _readers[key] = Reader(Path(index_dir))
        return r


def forget_readers() -> None:
    with _readers_lock:
        for r in _readers.values():
            r.close()
        _readers.clear()


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with transpositions, giving up above `limit`."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]
