"""Results as rows for a spreadsheet: one row per matching passage, read one at a time.

    ex = export(index_dir, "выселение", filters=Filters(year=["2019"]))
    ex.total_hits, ex.truncated      # known before the first row is read
    for row in ex.rows(): ...        # dicts: title, doc_type, year, article, page, heading, citation, ...

Documents come in the order of the results page (relevance or date), each with its matching
passages best first; at most MAX_ROWS rows (the best MAX_ROWS passages of the whole result).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb import config
from kb.index import querymodel as qm
from kb.index import reader
from kb.search.catalog import catalog
from kb.search.cite import cite, first_match, place_of, stable_anchor
from kb.search.reading import check_index
from kb.search.snippets import Matcher, snippet
from kb.search.tables import readable

MAX_ROWS = 10_000
# Columns of the CSV and XLSX files (Russian headings) and the JSON keys they hold.
COLUMNS = [("Документ", "title"), ("Тип", "doc_type"), ("Год", "year"), ("Статья", "article"),
           ("Страница", "page"), ("Раздел", "heading"), ("Цитата", "citation"), ("Кратко", "citation_short"),
           ("Фрагмент", "snippet"), ("Ссылка", "url")]
_MARK = re.compile(r"</?mark>")


@dataclass
class Export:
    query: str
    total_docs: int
    total_hits: int         # matching passages
    count: int              # rows that will be given (at most MAX_ROWS)
    truncated: bool         # more passages matched than rows given
    cut: bool               # the search time budget stopped the search
    limit: int = MAX_ROWS   # the bound on rows
    _rows: object = None

    def rows(self) -> Iterator[dict]:
        return self._rows()


def plain(snippet_html: str) -> str:
    """A snippet as plain text: marks dropped, entities decoded."""
    return html.unescape(_MARK.sub("", snippet_html))


def export(index_dir: Path, query: str, *, filters: qm.Filters | None = None, sort: str = "relevance",
           limit: int | None = None, exact: bool = False, copies: bool = False) -> Export:
    """The passages matching `query` under `filters`, as lazily read rows (without `url`: the
    caller knows its links). Like the results page, a typo is corrected unless `exact`, and
    the copies of a document in other files are left out unless `copies`."""
    from kb.search import _article_first, _doc_filters, _one_per_copy, corrected_ranked

    limit = limit or MAX_ROWS
    check_index(index_dir)
    rd = reader(Path(index_dir))
    cat = catalog(index_dir)
    run_filters = _doc_filters(index_dir, cat, filters)
    _, shown, parsed, raw = corrected_ranked(rd, query, run_filters, limit, qm.Deadline(config.query_seconds()),
                                             exact)
    raw = _article_first(rd, index_dir, cat, shown, run_filters, raw)
    by_doc: dict[str, list] = {}
    for h in raw.hits[:limit]:
        by_doc.setdefault(h.doc_id, []).append(h)
    docs = list(by_doc)
    if not copies:
        docs = _one_per_copy(cat, docs)[0]
        by_doc = {d: by_doc[d] for d in docs}
    if sort == "date":
        docs.sort(key=lambda d: -((cat.get(d).year or 0) if cat.get(d) else 0))
    matcher = Matcher(parsed.highlight)
    count = sum(len(v) for v in by_doc.values())

    def rows() -> Iterator[dict]:
        for d in docs:
            info = cat.get(d)
            hits = by_doc.pop(d)          # each hit is read once and let go
            while hits:
                f = hits.pop(0).read()
                article, page, heading = f.get("article") or None, f.get("page"), f.get("heading", "")
                body = f.get("body", "")
                place = place_of(info, body, heading, article, first_match(body, matcher))
                c = cite(info, article=article, page=page, heading=heading, ordinal=f.get("ordinal", 0),
                         **place) if info else None
                yield {"doc_id": d, "passage": f.get("ordinal", 0), "title": info.title if info else f.get("title", ""),
                       "doc_type": f.get("doc_type", ""), "year": info.year if info else None,
                       "article": article, "page": page if info and info.pages > 1 else None, "heading": heading,
                       "citation": c.full if c else "", "citation_short": c.short if c else "",
                       "snippet": plain(snippet(readable(body), matcher)),
                       "anchor": stable_anchor(info, article, page, place.get("point"), f.get("ordinal", 0),
                                                place.get("table")), "path": info.path if info else f.get("path", "")}

    return Export(query=shown, total_docs=len(raw.doc_counts), total_hits=raw.total, count=count,
                  truncated=raw.total > min(len(raw.hits), limit), cut=raw.cut, limit=limit, _rows=rows)
