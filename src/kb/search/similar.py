"""Similar documents: "Похожие документы" under a document, and similar past cases for a pasted text.

    similar(index_dir, doc_id, limit=5, doc_type=None)           -> [SimilarDoc]
    similar_to_text(index_dir, text, limit=5, doc_type=None)     -> [SimilarDoc]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from kb.errors import QueryError
from kb.index import access
from kb.index import querymodel as qm
from kb.index import reader
from kb.index import similar_to_doc as _similar_doc
from kb.index import similar_to_text as _similar_text
from kb.search.catalog import catalog

MAX_TEXT_CHARS = 20_000
EXCERPT_CHARS = 240


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


_cache: dict[tuple, tuple[object, list[SimilarDoc]]] = {}
_lock = threading.Lock()


def similar(index_dir: Path, doc_id: str, *, limit: int = 5, doc_type: str | None = None) -> list[SimilarDoc]:
    """The documents most like `doc_id` (key terms of its text as a query), itself excluded."""
    cat = catalog(index_dir)
    if cat.get(doc_id) is None:
        return []
    key = (str(Path(index_dir).resolve()), access.restricted(), doc_id, limit, doc_type)
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] is cat:
            return hit[1]
    filters = qm.Filters(doc_type=[doc_type] if doc_type else [])
    docs = _docs(index_dir, _similar_doc(reader(Path(index_dir)), doc_id, filters, limit))
    with _lock:
        if len(_cache) > 512:
            _cache.clear()
        _cache[key] = (cat, docs)
    return docs


def similar_to_text(index_dir: Path, text: str, *, limit: int = 5, doc_type: str | None = None) -> list[SimilarDoc]:
    """The documents most like a free text (a new client's problem)."""
    text = (text or "").strip()
    if not text:
        raise QueryError("пустой текст: опишите проблему (empty text)")
    if len(text) > MAX_TEXT_CHARS:
        raise QueryError(f"текст длиннее {MAX_TEXT_CHARS} символов (text too long)")
    filters = qm.Filters(doc_type=[doc_type] if doc_type else [])
    return _docs(index_dir, _similar_text(reader(Path(index_dir)), text, filters, limit))
