"""More like this: the key terms of a document (or of a pasted text) run against the index.

Whoosh's `Expander` weighs each term of the given passages by how much more often it
occurs there than in the whole collection (the Bo1 model); the best terms, weighted so,
form an OR query. The document itself is masked out; hits are grouped by document.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from whoosh import classify
from whoosh import query as wq

from kb import analysis
from kb.index import querymodel as qm
from kb.index._engine import RawHit, RawResults, Reader, filter_query

KEY_TERMS = 25          # terms of the query
MAX_PASSAGES = 40       # passages of a long document whose words are weighed
MAX_CHARS = 60_000      # and at most this much of its text
CANDIDATES = 300        # passages ranked to find the similar documents


@dataclass
class Similar:
    doc_id: str
    score: float
    ordinal: int            # the document's passage most like the source
    fields: dict            # stored fields of that passage


def _usable(term: str) -> bool:
    return len(term) >= 3 and any(c.isalpha() for c in term)


def key_terms_of_doc(rd: Reader, doc_id: str, n: int = KEY_TERMS) -> list[tuple[str, float]]:
    if not rd.visible(doc_id):
        return []
    with rd.lock:
        s = rd.searcher()
        docnums = sorted(s.document_numbers(doc_id=doc_id))
        ex = classify.Expander(s.reader(), "body")
        chars = 0
        for num in docnums[:MAX_PASSAGES]:
            body = rd.stored(num, s).get("body") or ""
            if chars + len(body) > MAX_CHARS and chars:
                break
            chars += len(body)
            ex.add_text(body[:MAX_CHARS])
        return [(t, w) for t, w in ex.expanded_terms(n * 2) if _usable(t)][:n]


def key_terms_of_text(rd: Reader, text: str, n: int = KEY_TERMS) -> list[tuple[str, float]]:
    with rd.lock:
        s = rd.searcher()
        ex = classify.Expander(s.reader(), "body")
        ex.add_text(text[:MAX_CHARS])
        return [(t, w) for t, w in ex.expanded_terms(n * 2) if _usable(t)][:n]


def _run(rd: Reader, terms: list[tuple[str, float]], filters: qm.Filters | None, limit: int) -> list[Similar]:
    with rd.lock:
        if not terms:
            return []
        s = rd.searcher()
        q = wq.Or([wq.Term("body", t, boost=max(w, 0.01)) for t, w in terms])
        flt, mask = filter_query(filters)
        mask = rd.mask_with_hidden(s, mask)
        res = s.search(q, limit=CANDIDATES, filter=flt, mask=mask, terms=False)
        out: dict[str, Similar] = {}
        # Stored fields only for each document's best passage: the document of a passage is
        # known from the postings (reading 300 passages' fields cost ~0.5 s on 10,000 passages).
        doc_of = rd._bag_stats(s).doc_of
        for hit in res:
            d = doc_of[hit.docnum] or hit.fields()["doc_id"]
            if d not in out:
                f = hit.fields()
                out[d] = Similar(doc_id=d, score=hit.score, ordinal=f.get("ordinal", 0), fields=f)
                if len(out) >= limit:
                    break
        return list(out.values())


def similar_to_doc(rd: Reader, doc_id: str, filters: qm.Filters | None = None, limit: int = 5) -> list[Similar]:
    """Documents most like `doc_id` (which is left out), best first."""
    filters = filters or qm.Filters()
    filters = qm.Filters(doc_type=filters.doc_type, year=filters.year, cites=filters.cites,
                         doc_id=filters.doc_id, exclude_doc_id=[*filters.exclude_doc_id, doc_id])
    return _run(rd, key_terms_of_doc(rd, doc_id), filters, limit)


def similar_to_text(rd: Reader, text: str, filters: qm.Filters | None = None, limit: int = 5) -> list[Similar]:
    """Documents most like a free text (a client's problem pasted by a lawyer)."""
    return _run(rd, key_terms_of_text(rd, text), filters, limit)


# --- passages for a story: the articles of law a client's problem touches -------------------

FAMILY_MIN = 6          # a term this long also finds the words of its family (its stem less a letter)
FAMILY_TERMS = 12       # at most this many family terms a word
FAMILY_WEIGHT = 0.7     # of the word's own weight
HEADING_BONUS = 1.0     # a word in the passage's heading (an article's title) counts this much more
HEADING_DEPTH = 200     # passages whose headings are read for it


def _family(r, term: str) -> list[str]:
    """Index terms of the same family as `term`: a story says `выселяют` (term `выселя`), the
    code `выселение` (`выселен`); the lemmas differ, the stem less its last letter does not."""
    if len(term) < FAMILY_MIN or not term.isalpha():
        return []
    out = []
    for t in r.expand_prefix("body", term[:-1]):
        t = t.decode() if isinstance(t, bytes) else t
        if t != term:
            out.append(t)
        if len(out) >= FAMILY_TERMS:
            break
    return out


def _heading_terms(text: str) -> set[str]:
    return {t for tok in analysis.tokenize(text) for t in analysis.terms(tok.norm)}


def story_passages(rd: Reader, concepts: list[dict[str, float]], filters: qm.Filters | None = None,
                   limit: int = 100, headings: bool = True) -> RawResults:
    """The passages that answer most of a story's words, best first.

    `concepts`: one {index term: weight} per word of the story (its own terms, and the
    lexicon's alternatives at a lower weight). A concept counts once in a passage, however
    many of its terms are there: by the rarest share of passages holding it (BM25's idf over
    the passages the filters allow, so that `год` weighs nothing among codes) and by how often
    it stands there (BM25's saturation). A concept in the heading of the passage (the title of
    an article) counts HEADING_BONUS more. The sum is scaled by the square root of the share of
    the story's words the passage holds, of the most any passage holds. Staff passages are masked for the public, as in
    every search."""
    with rd.lock:
        s = rd.searcher()
        st = rd._bag_stats(s)
        n = st.n
        if not n or not concepts:
            return RawResults(hits=[], doc_counts={}, total=0)
        flt, mask = filter_query(filters)
        mask = rd.mask_with_hidden(s, mask)
        allowed = np.ones(n, dtype=bool)
        if flt is not None:
            allowed[:] = False
            allowed[np.fromiter(s.docs_for_query(flt), dtype=np.int64)] = True
        if mask is not None:
            masked = mask if isinstance(mask, set) else set(s.docs_for_query(mask))
            if masked:
                allowed[np.fromiter(masked, dtype=np.int64, count=len(masked))] = False
        pool = int(allowed.sum())
        if not pool:
            return RawResults(hits=[], doc_counts={}, total=0)
        r = s.reader()
        k1 = st.k1
        score = np.zeros(n)
        matched = np.zeros(n)
        kept: list[tuple[dict[str, float], float]] = []
        for concept in concepts:
            terms = dict(concept)
            for t, w in list(concept.items()):
                for f in _family(r, t):
                    terms.setdefault(f, w * FAMILY_WEIGHT)
            best = np.zeros(n)
            for t, w in terms.items():
                ids, tfs = st.postings("body", t)
                if not len(ids):
                    continue
                sat = tfs * (k1 + 1) / (tfs + st.norms["body"][ids])
                np.maximum.at(best, ids, w * sat)
            best[~allowed] = 0.0
            df = int(np.count_nonzero(best))
            if not df:
                continue
            idf = math.log(1 + (pool - df + 0.5) / (df + 0.5))
            score += idf * best
            matched += best > 0
            kept.append((terms, idf))
        # A passage that answers few of the story's words is worth less however rare they are:
        # `обращаться` found the waste rules (`обращение с отходами`), `неделя` the working week.
        score *= np.sqrt(matched / max(1.0, matched.max()))
        order = np.argsort(-score)
        top = [int(i) for i in order[:max(limit, HEADING_DEPTH)] if score[i] > 0]
        if headings and top:
            for i in top[:HEADING_DEPTH]:
                head = _heading_terms(rd.stored(i, s).get("heading") or "")
                if head:
                    score[i] += HEADING_BONUS * sum(idf * max((w for t, w in terms.items() if t in head), default=0.0)
                                                    for terms, idf in kept)
            top.sort(key=lambda i: -score[i])
        top = top[:limit]
        hits = [RawHit(i, float(score[i]), st.doc_of[i] or rd.stored(i, s)["doc_id"], rd, s) for i in top]
        counts: dict[str, int] = {}
        for h in hits:
            counts[h.doc_id] = counts.get(h.doc_id, 0) + 1
        return RawResults(hits=hits, doc_counts=counts, total=int(np.count_nonzero(score)))
