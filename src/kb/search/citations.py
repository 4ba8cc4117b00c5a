"""Citations between documents: what each document cites, and which documents cite each act.

Built from the catalog (the manifest's enrich metadata), once per manifest version:

    g = citation_graph(index_dir)
    g.cited_by(doc_id)   -> [CitingDoc]   documents citing this act, with the articles they cite
    g.cites(doc_id)      -> [CitedAct]    acts this document cites, resolved to documents where present
    g.act_for(citation)  -> doc_id | None the act in the collection a `kb.enrich.Citation` refers to

Each act is identified by a key: its own `act_key` (from its requisites) when it is in the
collection, else the `act_key` of the citation. That key is also the value of the
"ссылается на" facet.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kb.enrich import Citation, resolve
from kb.index import access
from kb.search.catalog import Catalog, catalog

_JUR = {"РФ": "РФ", "КР": "КР", "РК": "Республики Казахстан", "РТ": "Республики Таджикистан",
        "РУз": "Республики Узбекистан", "ТМ": "Туркменистана", "международный": "(международный)"}


@dataclass
class ArticleRef:
    number: str
    ordinal: int | None = None     # passage of the cited act holding this article, when known

    def to_json(self) -> dict:
        return {"number": self.number, "ordinal": self.ordinal}


@dataclass
class CitedAct:
    key: str                        # the act's identity (facet value)
    label: str                      # a Russian name for people
    doc_id: str | None              # the act in the collection, or None
    articles: list[ArticleRef] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)   # passages of the citing document

    def to_json(self) -> dict:
        return {"key": self.key, "label": self.label, "doc_id": self.doc_id,
                "articles": [a.to_json() for a in self.articles], "passages": self.passages}


@dataclass
class CitingDoc:
    doc_id: str
    title: str
    doc_type: str
    year: int | None
    articles: list[ArticleRef] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)   # passages of the citing document

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "doc_type": self.doc_type, "year": self.year,
                "articles": [a.to_json() for a in self.articles], "passages": self.passages}


def act_label(c: dict) -> str:
    """A readable name of a cited act from its citation fields (kind, name, number, date, jurisdiction)."""
    kind = (c.get("kind") or "акт").strip()
    name = (c.get("name") or "").strip()
    number, date = c.get("number"), c.get("date")
    jur = _JUR.get(c.get("jurisdiction") or "", "")
    if kind == "кодекс":
        if name.startswith(("о ", "об ")):
            words = ["Кодекс", jur, name] if jur else ["Кодекс", name]
        else:
            words = [name[:1].upper() + name[1:] + " кодекс" if name else "Кодекс", jur]
    elif kind == "конституция":
        words = ["Конституция", jur]
    else:
        federal = kind == "закон" and (number or "").upper().endswith("-ФЗ")
        words = ["Федеральный закон"] if federal else [kind[:1].upper() + kind[1:], jur]
        if number:
            words.append(f"№ {number}")
        if date:
            y, m, d = (date.split("-") + ["", ""])[:3]
            words.append(f"от {d}.{m}.{y}" if d and m else f"от {date}")
        if name and not number:
            words.append(f"«{name[:1].upper() + name[1:]}»")
    return " ".join(w for w in words if w)


def _article_key(a: str):
    head = a.split("-")[0].split(".")[0]
    return (int(head) if head.isdigit() else 10**9, a)


class CitationGraph:
    def __init__(self, cat: Catalog):
        self.catalog = cat
        # Acts of the collection, as `kb.enrich.resolve` wants them.
        self._acts: list[dict] = []
        self._article_ordinal: dict[str, dict[str, int]] = {}
        self._act_key_of: dict[str, str] = {}          # doc_id -> key of the act
        by_key: dict[str, list[str]] = {}
        for info in cat.all():
            arts = {o["article"]: o["ordinal"] for o in info.meta.get("outline", []) if o.get("article")}
            self._article_ordinal[info.doc_id] = arts
            req = info.meta.get("requisites") or {}
            if not req.get("act_key"):
                continue
            self._act_key_of[info.doc_id] = req["act_key"]
            by_key.setdefault(req["act_key"], []).append(info.doc_id)
            self._acts.append({"id": info.doc_id, "kind": req.get("kind"), "number": req.get("number"),
                               "date": req.get("date"), "name": req.get("name"),
                               "jurisdiction": req.get("jurisdiction"), "act_key": req["act_key"],
                               "articles": set(arts)})
        # Two documents with one key (the parts of a code): the key of each is made unique.
        for key, ids in by_key.items():
            if len(ids) > 1:
                for d in ids:
                    self._act_key_of[d] = f"{key}#{d}"

        self.key_doc: dict[str, str] = {v: k for k, v in self._act_key_of.items()}
        self._resolved: dict[tuple, str | None] = {}
        # The links between documents (every citation resolved) are made at their first use:
        # a query naming an article needs only the acts above (a cold `kb search` of
        # `ст. 83 ЖК РФ` spent ~40 ms of ~55 on the links).
        self._linked = False
        self._link_lock = threading.Lock()

    def _links(self) -> None:
        if self._linked:
            return
        with self._link_lock:
            if not self._linked:
                self._link()
                self._linked = True

    def _link(self) -> None:
        cat = self.catalog
        self._out: dict[str, list[CitedAct]] = {}
        self._in: dict[str, list[CitingDoc]] = {}
        self._labels: dict[str, str] = {}
        self._citing_docs: dict[str, set[str]] = {}
        for info in cat.all():
            merged: dict[str, CitedAct] = {}
            for c in info.meta.get("citations", []):
                target = self._resolve_dict(c)
                if target == info.doc_id:
                    continue
                key = self._act_key_of[target] if target else c.get("act_key") or ""
                if not key:
                    continue
                label = cat.get(target).title if target else act_label(c)
                ca = merged.setdefault(key, CitedAct(key=key, label=label, doc_id=target))
                seen = {a.number for a in ca.articles}
                for a in c.get("articles", []):
                    if a not in seen:
                        ordinal = self._article_ordinal.get(target, {}).get(a) if target else None
                        ca.articles.append(ArticleRef(a, ordinal))
                        seen.add(a)
                ca.passages = sorted(set(ca.passages) | set(c.get("passages", [])))
                self._labels.setdefault(key, label)
            out = sorted(merged.values(), key=lambda a: (a.doc_id is None, a.label.lower()))
            for ca in out:
                ca.articles.sort(key=lambda a: _article_key(a.number))
                self._citing_docs.setdefault(ca.key, set()).add(info.doc_id)
                if ca.doc_id:
                    self._in.setdefault(ca.doc_id, []).append(CitingDoc(
                        doc_id=info.doc_id, title=info.title, doc_type=info.doc_type, year=info.year,
                        articles=list(ca.articles), passages=list(ca.passages)))
            self._out[info.doc_id] = out
        for lst in self._in.values():
            lst.sort(key=lambda c: (-len(c.articles), c.title.lower()))
        for info in cat.all():
            key = self._act_key_of.get(info.doc_id)
            if key:
                req = info.meta["requisites"]
                short = act_label(req)
                # Two parts of one code keep their titles apart.
                self._labels[key] = info.title if "#" in key or short in ("Кодекс", "Акт") else short

    def _resolve_dict(self, c: dict) -> str | None:
        # A collection cites the same acts over and over: each distinct citation is resolved
        # once (resolving is a scan of every act; 0.16 s of a cold `kb search` on ../shared/data).
        key = (c.get("kind"), c.get("jurisdiction"), c.get("number"), c.get("date"), c.get("name"),
               tuple(c.get("articles", [])), c.get("act_key"))
        try:
            return self._resolved[key]
        except KeyError:
            pass
        cit = Citation(kind=c.get("kind") or "", jurisdiction=c.get("jurisdiction"), number=c.get("number"),
                       date=c.get("date"), name=c.get("name"), articles=list(c.get("articles", [])),
                       act_key=c.get("act_key") or "")
        self._resolved[key] = found = self.act_for(cit)
        return found

    def act_for(self, citation: Citation) -> str | None:
        """The document (an act of the collection) that a citation refers to."""
        if not self._acts or citation.kind == "self":
            return None
        same = [a for a in self._acts if a["act_key"] == citation.act_key]
        if len(same) == 1:
            return same[0]["id"]
        return resolve(citation, same or self._acts)

    def acts_matching(self, citation: Citation) -> list[str]:
        """Every document of the collection that may be the cited act: the copies of an act,
        and the parts of a code (told apart by their articles, see `article_ordinal`)."""
        if citation.kind == "self":
            return []
        return [a["id"] for a in self._acts if resolve(citation, [a]) is not None]

    def article_ordinal(self, doc_id: str, article: str) -> int | None:
        """The passage where article `article` ("161.1") of an act begins, if it has one."""
        return self._article_ordinal.get(doc_id, {}).get(article)

    @property
    def labels(self) -> dict[str, str]:
        """Readable names of act keys (the facet's labels)."""
        self._links()
        return self._labels

    def cites(self, doc_id: str) -> list[CitedAct]:
        self._links()
        return self._out.get(doc_id, [])

    def cited_by(self, doc_id: str) -> list[CitingDoc]:
        self._links()
        return self._in.get(doc_id, [])

    def act_key(self, doc_id: str) -> str | None:
        return self._act_key_of.get(doc_id)

    def citing_docs(self, key: str) -> set[str]:
        """Documents citing the act with this key."""
        self._links()
        return self._citing_docs.get(key, set())

    def facet(self, doc_ids, selected=(), limit: int = 15, min_count: int = 2) -> list[tuple[str, str, int]]:
        """(key, label, documents) of acts cited by these documents: acts of the collection,
        and others cited by at least `min_count` of them; most cited first."""
        self._links()
        counts: Counter = Counter()
        for d in doc_ids:
            for ca in self._out.get(d, []):
                counts[ca.key] += 1
        out = [(k, self.labels.get(k, k), n) for k, n in counts.most_common()
               if k in self.key_doc or n >= min_count or k in selected]
        return out[:limit]


_cache: dict[tuple, tuple[Catalog, CitationGraph]] = {}
_lock = threading.Lock()


def citation_graph(index_dir: Path) -> CitationGraph:
    """The graph of the current catalog; rebuilt when the manifest changes."""
    cat = catalog(index_dir)
    # One graph per audience: the public one is built without staff documents (kb.index.access).
    key = (str(Path(index_dir).resolve()), access.restricted())
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] is cat:
            return hit[1]
    g = CitationGraph(cat)
    with _lock:
        _cache[key] = (cat, g)
    return g
