"""What a search returns: passages grouped by document, facets, paging. Plain data, no engine types."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from kb.search.reading import part_of

# kb messages are "русский текст (english text)".
_BILINGUAL = re.compile(r"^(?P<ru>.*\S)\s*\((?P<en>[^()]*)\)\s*$", re.S)


def split_message(msg: str) -> tuple[str, str]:
    """("русский текст", "english text") of a kb message; both the same when it has no English part."""
    m = _BILINGUAL.match(msg)
    return (m["ru"], m["en"]) if m else (msg, msg)


def notice_json(msg: str | None) -> dict | None:
    if not msg:
        return None
    ru, en = split_message(msg)
    return {"message_ru": ru, "message_en": en}


@dataclass
class Hit:
    """One passage that matched."""

    doc_id: str
    path: str            # relative to the corpus
    title: str
    doc_type: str
    year: int | None
    ordinal: int         # passage number inside its document (anchor `#p-<ordinal>`)
    page: int | None     # first page of the passage, when the document has pages
    article: str | None  # legal article number ("84", "84.1") when the passage is one
    heading: str         # article or section heading, may be ""
    score: float
    snippet: str         # HTML-escaped text with <mark> around matched words
    citation: str = ""        # kb.search.cite: `ст. 84 Жилищного кодекса Российской Федерации от ...`
    citation_short: str = ""  # `ст. 84 ЖК РФ`
    anchor: str = ""          # `st-84`, `page-12` (kept across re-indexing), or "" (see cite.stable_anchor)
    # The snippet as plain text and its matches as [start, end) character offsets into it:
    # clients that render their own markup need neither to parse HTML nor to decode `&gt;`.
    snippet_text: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    point: str | None = None  # the point of an act without articles holding the first match (`40`, `148(54)`)
    table: str | None = None  # the table's number when the passage is one (`9`)

    def to_json(self) -> dict:
        """The `kb search --json` contract (design.md), plus ids for linking."""
        d = {
            "path": self.path,
            "title": self.title,
            "doc_type": self.doc_type,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "snippet_text": self.snippet_text,
            "highlights": [[s, e] for s, e in self.highlights],
            "doc_id": self.doc_id,
            "passage": self.ordinal,
            "part": part_of(self.ordinal),      # /doc/<doc_id>?part=<part>#p-<passage>
            "year": self.year,
            "heading": self.heading,
            "citation": self.citation,
            "citation_short": self.citation_short,
            "anchor": self.anchor or None,      # /doc/<doc_id>?st=84 or ?page=12 resolves it to its part
        }
        if self.page is not None:
            d["page"] = self.page
        if self.article is not None:
            d["article"] = self.article
        if self.point is not None:
            d["point"] = self.point
        if self.table is not None:
            d["table"] = self.table
        return d


@dataclass
class DocGroup:
    """A document with its best passages, in rank order."""

    doc_id: str
    path: str
    title: str
    doc_type: str
    year: int | None
    score: float
    hits: list[Hit]
    total_hits: int      # matching passages in this document (hits holds the best few)
    also: list[dict] = field(default_factory=list)   # copies of it in other files: doc_id, path, format, title


@dataclass
class FacetValue:
    value: str
    count: int           # documents
    selected: bool = False
    label: str = ""      # for people, when the value is a key (the "cites" facet)


@dataclass
class SearchResult:
    query: str
    groups: list[DocGroup]          # this page of documents
    total_docs: int                 # documents matching (before paging)
    total_hits: int                 # passages matching
    page: int
    per_page: int
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)  # "doc_type", "year"
    suggestion: str | None = None   # "did you mean": a corrected query, or None
    took_ms: float = 0.0
    sort: str = "relevance"         # or "date"
    relaxed: bool = False           # the quoted phrases found nothing: results for their words
    cut: bool = False               # the time budget stopped the search: what was found by then
    notice: str | None = None       # "русский (english)" to show above the results (cut, empty index)
    corrected: str | None = None    # the results are for this spelling of the query (issue 10)
    latin: list[str] | None = None  # a query in Latin letters: Russian terms for it ([] when none known)
    copies_joined: int = 0          # documents shown as copies of another result ("также")
    # Documents matching beyond the best kb.search.DOC_CAP: not listed, and the facets count
    # only the listed ones (the page says "более N").
    docs_more: int = 0
    # The query is not Russian ("en": Latin letters, "ky": Kyrgyz) and passages were found by
    # meaning alone (cross-lingual, kb.search.semantic): the page says so. None otherwise.
    meaning_lang: str | None = None
    # A Kyrgyz query's Russian terms from the glossary, searched with its meaning ([]: none).
    meaning_terms: list[str] = field(default_factory=list)
    # How much of the collection search by meaning covers (kb.search.fill.coverage): while the
    # passage vectors are being built, only part of it. None when the layer is off.
    meaning: dict | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_docs // self.per_page))

    def flat_hits(self) -> list[Hit]:
        return [h for g in self.groups for h in g.hits]

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "total_docs": self.total_docs,
            "total_hits": self.total_hits,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "sort": self.sort,
            "took_ms": round(self.took_ms, 1),
            "suggestion": self.suggestion,
            "relaxed": self.relaxed,
            "cut": self.cut,
            "notice": notice_json(self.notice),
            "corrected": self.corrected,
            "latin": self.latin,
            "copies_joined": self.copies_joined,
            "docs_more": self.docs_more,
            "meaning_lang": self.meaning_lang,
            "meaning_terms": self.meaning_terms,
            "meaning": self.meaning,
            "facets": {k: [asdict(v) for v in vals] for k, vals in self.facets.items()},
            "hits": [h.to_json() for h in self.flat_hits()],
            "documents": [
                {"doc_id": g.doc_id, "path": g.path, "title": g.title, "doc_type": g.doc_type,
                 "year": g.year, "score": round(g.score, 4), "total_hits": g.total_hits,
                 "hits": [h.to_json() for h in g.hits], "also": g.also}
                for g in self.groups
            ],
        }
