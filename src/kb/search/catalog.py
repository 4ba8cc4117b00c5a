"""What is in the index, document by document: the manifest, reloaded when it changes.

`catalog()` gives the documents the current audience may see (kb.index.access): for an
anonymous visitor, staff documents are not in it at all, so every page, count, facet and
link built from it leaves them out without knowing they exist."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from kb.index import Entry, Manifest, access, manifest_stamp
from kb.names import readable

_cache: dict[str, tuple[object, "Catalog"]] = {}
_lock = threading.Lock()


@dataclass
class DocInfo:
    doc_id: str
    path: str               # relative to the corpus, as text (kb.names.readable)
    title: str
    doc_type: str
    year: int | None
    format: str
    pages: int
    passages: int
    size: int
    sha256: str
    meta: dict
    file: str = ""          # the real relative path, to open the file ("" when the same as path)
    added: str = ""         # when it was added to the collection (UTC ISO 8601), "" when unknown

    def consultation(self, name: str) -> str:
        """A field of a consultation record ("category", "region"); "" for other documents."""
        return (self.meta.get("consultation") or {}).get(name) or ""

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "path": self.path, "title": self.title, "doc_type": self.doc_type,
                "year": self.year, "format": self.format, "pages": self.pages, "passages": self.passages,
                "size": self.size, "sha256": self.sha256, "added": self.added or None}


class Catalog:
    def __init__(self, man: Manifest):
        self.docs: dict[str, DocInfo] = {}
        for path, e in man.files.items():
            records = e.meta.get("records")
            if records is None:
                self.docs[e.doc_id] = _info(path, e)
                continue
            # A file of consultation records: each record is a document of its own.
            for r in records:
                self.docs[r["doc_id"]] = DocInfo(
                    doc_id=r["doc_id"], path=readable(path), title=r["title"], doc_type=r["doc_type"],
                    year=r["year"], format=e.format, pages=0, passages=r["passages"], size=e.size,
                    sha256=e.sha256, meta=r["meta"], file=path, added=r.get("added") or e.added)

    def without(self, hidden: frozenset[str]) -> "Catalog":
        """This catalog less the `hidden` documents, also removed from the copies of the others."""
        cat = Catalog(Manifest())
        for d, info in self.docs.items():
            if d in hidden:
                continue
            copies = info.meta.get("copies")
            if copies and any(c in hidden for c in copies):
                info = replace(info, meta=dict(info.meta, copies=[c for c in copies if c not in hidden]))
            cat.docs[d] = info
        return cat

    def get(self, doc_id: str) -> DocInfo | None:
        return self.docs.get(doc_id)

    def copy_keys(self) -> dict[str, str]:
        """doc_id -> the smallest doc_id of its group of copies, for documents with copies
        (computed once: a query over a large archive groups tens of thousands of documents)."""
        keys = self.__dict__.get("_copy_keys")
        if keys is None:
            keys = {d: min([d, *i.meta["copies"]]) for d, i in self.docs.items() if i.meta.get("copies")}
            self._copy_keys = keys
        return keys

    def facet_rows(self) -> dict[str, tuple]:
        """doc_id -> (type, year or "", category, region, languages): what the facets of a
        search count, read from each document's metadata once per catalog."""
        rows = self.__dict__.get("_facet_rows")
        if rows is None:
            rows = {}
            for d, i in self.docs.items():
                rows[d] = (i.doc_type, str(i.year) if i.year else "", i.consultation("category"),
                           i.consultation("region"), tuple(i.meta.get("lang") or ()))
            self._facet_rows = rows
        return rows

    def all(self) -> list[DocInfo]:
        return list(self.docs.values())

    def added_since(self, since: str) -> list[DocInfo]:
        """Documents added at or after `since` (an ISO date or UTC time), newest first."""
        return sorted((d for d in self.docs.values() if d.added and d.added >= since),
                      key=lambda d: (d.added, d.doc_id), reverse=True)


def _info(path: str, e: Entry) -> DocInfo:
    return DocInfo(doc_id=e.doc_id, path=readable(path), title=e.title, doc_type=e.doc_type, year=e.year,
                   format=e.format, pages=e.pages, passages=e.passages, size=e.size, sha256=e.sha256,
                   meta=e.meta, file=path, added=e.added)


_visible: dict[str, tuple[Catalog, frozenset, Catalog]] = {}


def catalog(index_dir: Path) -> Catalog:
    """The documents of the published index that the current audience may see."""
    full = full_catalog(index_dir)
    hidden = access.hidden_ids(index_dir)
    if not hidden:
        return full
    key = str(Path(index_dir).resolve())
    with _lock:
        hit = _visible.get(key)
        if hit and hit[0] is full and hit[1] == hidden:
            return hit[2]
    cat = full.without(hidden)
    with _lock:
        _visible[key] = (full, hidden, cat)
    return cat


def full_catalog(index_dir: Path) -> Catalog:
    """The catalog of the published index, read again when a new one is published or its
    manifest rewritten. A damaged manifest raises IndexDamaged."""
    stamp = manifest_stamp(Path(index_dir))
    key = str(Path(index_dir).resolve())
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        cat = Catalog(Manifest.load(Path(index_dir)))
        _cache[key] = (stamp, cat)
        return cat
