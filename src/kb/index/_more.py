"""More like this: the key terms of a document (or of a pasted text) run against the index.

Whoosh's `Expander` weighs each term of the given passages by how much more often it
occurs there than in the whole collection (the Bo1 model); the best terms, weighted so,
form an OR query. The document itself is masked out; hits are grouped by document.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import classify
from whoosh import query as wq

from kb.index import querymodel as qm
from kb.index._engine import Reader, filter_query

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
