"""Similar documents: "Похожие документы" under a document, and similar past cases for a pasted text.

    similar(index_dir, doc_id, limit=5, doc_type=None)           -> [SimilarDoc]
    similar_to_text(index_dir, text, limit=5, doc_type=None)     -> [SimilarDoc]

Two rankings of documents, fused as search fuses passages (weighted reciprocal rank,
kb.search.semantic):

- by words: the key terms of the document or text run as a query (kb.index.similar_to_doc,
  whoosh's Bo1 expansion);
- by meaning, once the passage vectors are built: the text embedded as a query, or the
  document's own vector (the mean of its passages' vectors), against every passage vector;
  a document ranks by its closest passage.

A document found by meaning alone joins only above the embedder's floor (as in search). The
document itself and its copies are never among its similar documents; staff documents never
reach the public on either side (kb.index.access masks both). Without vectors (turned off,
not built yet, damaged) the words alone decide, as before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from kb import analysis
from kb.analysis import embed
from kb.errors import QueryError
from kb.index import Similar, access
from kb.index import querymodel as qm
from kb.index import reader
from kb.index import similar_to_doc as _similar_doc
from kb.index import similar_to_text as _similar_text
from kb.search.catalog import catalog
from kb.search.query import glossary_russian
from kb.search.semantic import _query_vector
from kb.search.spelling import kyrgyz_query

MAX_TEXT_CHARS = 20_000
EXCERPT_CHARS = 240
# Fusion of the two document rankings (not tuned: there is no set of judged similar documents;
# meaning weighs as much as words here, where the text is long and its words many).
DEPTH = 200             # passages taken from the semantic ranking
LEXICAL_DEPTH = 20      # documents taken from the lexical ranking
RRF_K = 2
SEMANTIC_WEIGHT = 1.0


@dataclass
class SimilarDoc:
    doc_id: str
    title: str
    path: str
    doc_type: str
    year: int | None
    score: float
    ordinal: int              # its passage most like the source (anchor `#p-<ordinal>`)
    article: str | None
    excerpt: str              # plain text (escape when rendering)

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "path": self.path, "doc_type": self.doc_type,
                "year": self.year, "score": round(self.score, 4), "passage": self.ordinal,
                "article": self.article, "excerpt": self.excerpt}


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= EXCERPT_CHARS:
        return text
    cut = text[:EXCERPT_CHARS].rsplit(" ", 1)[0]
    return cut + " …"


def _docs(index_dir: Path, found) -> list[SimilarDoc]:
    cat = catalog(index_dir)
    out = []
    for s in found:
        info = cat.get(s.doc_id)
        f = s.fields
        out.append(SimilarDoc(doc_id=s.doc_id, title=info.title if info else f.get("title", ""),
                              path=info.path if info else f.get("path", ""),
                              doc_type=info.doc_type if info else f.get("doc_type", ""),
                              year=info.year if info else None, score=s.score, ordinal=s.ordinal,
                              article=f.get("article") or None, excerpt=_excerpt(f.get("body", ""))))
    return out


def model_for(rd):
    """The embedder when the published index has its vectors for it, else None."""
    key = embed.configured_key()
    if key is None or not rd.has_vectors(key):
        return None
    model = embed.embedder()
    return model if model is not None and model.key == key else None


def _by_meaning(rd, qvec, key: str, filters: qm.Filters, depth: int = DEPTH) -> list[Similar] | None:
    """Documents in the order of their passage closest to `qvec` (its cosine as the score)."""
    sem = rd.semantic(qvec, key, filters, limit=depth)
    if sem is None:
        return None
    out: dict[str, Similar] = {}
    for h in sem.hits:
        if h.doc_id not in out:
            # Stored fields are read only for the documents kept (_filled).
            out[h.doc_id] = Similar(doc_id=h.doc_id, score=h.score, ordinal=0, fields={"_hit": h})
    return list(out.values())


def _filled(found: list[Similar]) -> list[Similar]:
    out = []
    for d in found:
        h = d.fields.get("_hit")
        if h is not None:
            f = h.read()
            d = replace(d, ordinal=f.get("ordinal", 0), fields=f)
        out.append(d)
    return out


def fuse(lexical: list[Similar], semantic: list[Similar], limit: int, k: float = RRF_K,
         weight: float = SEMANTIC_WEIGHT, min_alone: float = -1.0) -> list[Similar]:
    """Both document rankings as one, by weighted reciprocal rank. A document keeps the
    passage closest in meaning as its anchor when the vectors found it, else the lexical one."""
    score: dict[str, float] = {}
    pick: dict[str, Similar] = {}
    for rank, d in enumerate(lexical):
        score[d.doc_id] = 1.0 / (k + rank + 1)
        pick[d.doc_id] = d
    for rank, d in enumerate(semantic):
        if d.doc_id not in score and d.score < min_alone:
            continue
        score[d.doc_id] = score.get(d.doc_id, 0.0) + weight / (k + rank + 1)
        pick[d.doc_id] = d
    order = sorted(score, key=lambda d: -score[d])[:limit]
    return [replace(pick[d], score=round(score[d], 6)) for d in order]


def _ranked(rd, lexical, qvec_of, filters: qm.Filters, limit: int) -> list[Similar]:
    """`lexical(limit)` alone, or fused with the documents closest in meaning to `qvec_of(model)`."""
    model = model_for(rd)
    if model is None:
        return lexical(limit)
    qvec = qvec_of(model)
    sem = _by_meaning(rd, qvec, model.key, filters) if qvec is not None else None
    if sem is None:
        return lexical(limit)
    floor = -1.0 if model.floor is None else model.floor
    return _filled(fuse(lexical(max(limit, LEXICAL_DEPTH)), sem, limit, min_alone=floor))


def text_language(index_dir: Path, text: str) -> str | None:
    """"en" (Latin letters only) or "ky" (kb.analysis.is_kyrgyz) for a pasted text that the
    vectors of meaning can match across languages (they are built and in use), else None:
    /consult then says that Russian consultations were found by meaning."""
    import re

    from kb.analysis import is_kyrgyz

    if model_for(reader(Path(index_dir))) is None:
        return None
    if re.search(r"[A-Za-z]", text) and not re.search(r"[А-Яа-яЁёӨөҮүҢң]", text):
        return "en"
    return "ky" if is_kyrgyz(text) else None


_cache: dict[tuple, tuple[object, list[SimilarDoc]]] = {}
_lock = threading.Lock()


def similar(index_dir: Path, doc_id: str, *, limit: int = 5, doc_type: str | None = None) -> list[SimilarDoc]:
    """The documents most like `doc_id`, itself and its copies excluded."""
    cat = catalog(index_dir)
    info = cat.get(doc_id)
    if info is None:
        return []
    rd = reader(Path(index_dir))
    key_model = embed.configured_key()
    meaning = key_model is not None and rd.has_vectors(key_model)
    key = (str(Path(index_dir).resolve()), access.restricted(), doc_id, limit, doc_type, key_model, meaning)
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] is cat:
            return hit[1]
    own = [doc_id, *(info.meta.get("copies") or [])]
    filters = qm.Filters(doc_type=[doc_type] if doc_type else [], exclude_doc_id=own)
    found = _ranked(rd, lambda n: _similar_doc(rd, doc_id, filters, n),
                    lambda model: rd.doc_vector(doc_id, model.key), filters, limit)
    docs = _docs(index_dir, found)
    with _lock:
        if len(_cache) > 512:
            _cache.clear()
        _cache[key] = (cat, docs)
    return docs


def story_text(text: str) -> str:
    """A client's story as pasted, stripped; QueryError when empty or too long."""
    text = (text or "").strip()
    if not text:
        raise QueryError("пустой текст: опишите проблему (empty text)")
    if len(text) > MAX_TEXT_CHARS:
        raise QueryError(f"текст длиннее {MAX_TEXT_CHARS} символов (text too long)")
    return text


def similar_to_text(index_dir: Path, text: str, *, limit: int = 5, doc_type: str | None = None) -> list[SimilarDoc]:
    """The documents most like a free text (a new client's problem)."""
    text = story_text(text)
    rd = reader(Path(index_dir))
    filters = qm.Filters(doc_type=[doc_type] if doc_type else [])
    # e5 reads at most 512 tokens: the start of a long story, as for passages.
    head = " ".join(text.split())[:embed.MAX_CHARS]
    words = _with_glossary(text)
    found = _ranked(rd, lambda n: _similar_text(rd, words, filters, n),
                    lambda model: _query_vector(model, head), filters, limit)
    return _docs(index_dir, found)


def _with_glossary(text: str) -> str:
    """A Kyrgyz story with the glossary's Russian terms for its words added (`жатаканадан` ->
    `общежитие`): the consultations are Russian, and by its own words alone a Kyrgyz story
    found them only by meaning (not at all while the vectors are being built)."""
    if not kyrgyz_query(text):
        return text
    terms = glossary_russian([t.surface for t in analysis.tokenize(text)])
    return text + ("\n" + ". ".join(terms) if terms else "")
