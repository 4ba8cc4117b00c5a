"""Reading a document a part at a time: never its whole text, whatever its size.

    document(index_dir, doc_id, query=None, offset=0, limit=PART_PASSAGES) -> DocView | None
    part_of(ordinal) -> the part (from 1) that holds passage `ordinal`

A part is PART_PASSAGES passages in a row, so the part of a passage is known from its
ordinal alone: a link to passage N (outline, pages, matches, search results, citations) is
built without reading the index. The segmenter cuts passages at 6,000 characters, so a part
is at most 300,000 characters, about 60,000 on average (1,232 characters a passage in
../shared/data).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path

from kb.errors import KbError, QueryError
from kb.index import exists, reader
from kb.index.access import restricted
from kb.search.catalog import DocInfo, catalog
from kb.search.citations import citation_graph
from kb.search.cite import POINT_ANCHOR, cite, place_of, point_passage, stable_anchor
from kb.search.query import Highlight, parse
from kb.search.snippets import Matcher, highlight_all, highlight_spans
from kb.search.tables import text_html

PART_PASSAGES = 50
MAX_LIMIT = 200              # passages in one /api/documents/<id> answer (at most ~1.2M characters)
DEFAULT_LIMIT = 100
# Contents shown beside a part: the whole outline (or page list) up to this many entries,
# else the chapters nearest the part and everything in it (a code has ~130 bytes of outline
# a passage: a huge document's would be megabytes).
MAX_TOC = 400

_NO_MATCH = Matcher(Highlight())
# Passage fields for the page only, not in the API's answer.
_PAGE_ONLY = ("html", "page_anchors", "article_anchor", "label", "page_label", "lead_html", "more_html", "more_chars")
# A long text before the first heading of an act (its requisites and the list of amending laws:
# 3,500-4,200 characters in ЖК РФ, 1,200 px on screen) is folded after its first lines, so the
# first article is on the first screen; the rest is one click away, and opens by itself when
# it holds a match of the query.
PREAMBLE_FOLD = 700           # characters: a longer preamble is folded
PREAMBLE_LEAD = 300           # characters of it shown, cut at the end of a line
PREAMBLE_LINES = 4            # and at most this many lines with text
# A point of a resolution or of rules begins its line with its number: `40. Потребитель ...`.
_POINT = re.compile(r"\s*(\d{1,3}(?:\.\d{1,3}){0,2})\.\s+\S")


def passage_label(ordinal: int, *, article: str | None = None, page: int | None = None,
                  page_end: int | None = None, text: str = "", act: bool = False) -> str:
    """What a passage is, as a lawyer would name the place: `Ст. 84`, `п. 40` (a passage of an
    act that begins with a numbered point), `с. 12`, else `фрагмент 21` (its number in the
    document, from 1). Never `§`: in a statute that reads as a section of the act."""
    if article:
        return f"Ст. {article}"
    if act and (m := _POINT.match(text)):
        return f"п. {m.group(1)}"
    if page:
        return pages_label(page, page_end)
    return f"фрагмент {ordinal + 1}"


def pages_label(page: int, page_end: int | None = None) -> str:
    return f"с. {page}–{page_end}" if page_end and page_end != page else f"с. {page}"


def _fold_at(text: str) -> int | None:
    """Where a long preamble is cut: after its first PREAMBLE_LINES lines with text, within
    PREAMBLE_LEAD characters when they are long; None when it is short enough to show whole."""
    if len(text) <= PREAMBLE_FOLD:
        return None
    cut, lines = 0, 0
    for m in re.finditer(r"\n", text):
        if m.start() > PREAMBLE_LEAD and cut:
            break
        if text[cut:m.start()].strip():
            lines += 1
        cut = m.start()
        if lines >= PREAMBLE_LINES:
            break
    if not cut or cut > PREAMBLE_FOLD:
        cut = text.rfind(" ", 0, PREAMBLE_LEAD)
    return cut if cut > 0 else None


def check_index(index_dir: Path) -> None:
    if not exists(Path(index_dir)):
        raise KbError(f"индекс ещё не построен в {index_dir}: выполните `kb index` или дождитесь "
                      "окончания индексации (no index yet)")


def part_of(ordinal: int) -> int:
    return max(0, ordinal) // PART_PASSAGES + 1


class DocView:
    """A document for reading: metadata, outline, and passages offset..offset+limit, matches highlighted."""

    def __init__(self, info: DocInfo, passages: list[dict], query: str | None, *, offset: int = 0,
                 limit: int = PART_PASSAGES, total: int | None = None):
        self.info = info
        self.query = query
        self.offset = offset
        self.limit = limit
        self.total = len(passages) if total is None else total      # passages in the whole document
        matcher = None
        if query:
            try:
                matcher = Matcher(parse(query).highlight)
            except QueryError:
                matcher = None
        self.passages = []
        anchored: set[int] = set()
        articles: set[str] = set()
        outline = info.meta.get("outline", [])
        first_heading = min((e.get("ordinal", 0) for e in outline), default=None)
        act = info.doc_type == "нормативный акт"
        by_ordinal = {q.get("ordinal", 0): q for q in passages}

        def earlier(a: int, b: int) -> list[dict]:
            # The passages of this part before one: a point continued from the previous part stays unnamed.
            return [by_ordinal[o] for o in range(a, b) if o in by_ordinal]

        for p in passages:
            page, page_end = p.get("page"), p.get("page_end")
            # `#page-N` anchors: a page is found in the passage where it begins.
            pages = range(page, (page_end or page) + 1) if page else range(0)
            anchors = [n for n in pages if n not in anchored]
            anchored.update(anchors)
            article = p.get("article") or None
            body, heading, ordinal = p.get("body", ""), p.get("heading", ""), p.get("ordinal", 0)
            place = place_of(info, body, heading, article, 0, ordinal, earlier)
            c = cite(info, article=article, page=page, heading=heading, ordinal=ordinal, **place)
            label = passage_label(ordinal, article=article, page=page, page_end=page_end, text=body, act=act)
            if place and not page:
                # The point a passage continues, or the table it is, as its citation names them.
                label = f"табл. {place['table']}" if place.get("table") else f"п. {place['point']}"
            fold = _fold_at(body) if first_heading is not None and ordinal < first_heading else None
            spans = highlight_spans(body, matcher) if matcher else []
            self.passages.append(
                {"ordinal": p.get("ordinal", 0), "page": page, "page_end": page_end,
                 "article": article, "heading": p.get("heading", ""),
                 "html": text_html(body, lambda t: highlight_all(t, matcher or _NO_MATCH)),
                 "text": p.get("body", ""), "page_anchors": anchors,
                 # The matches of `query` as [start, end) offsets into "text" (the API's plain form).
                 "highlights": [[a, b] for a, b in spans],
                 "citation": c.full, "citation_short": c.short,
                 "anchor": stable_anchor(info, article, page, place.get("point"), ordinal, place.get("table")),
                 "point": place.get("point"), "table": place.get("table"),
                 # `#st-84` is on the first passage of that article (a long one is cut in several).
                 "article_anchor": article if article and article not in articles else None,
                 "label": label, "page_label": pages_label(page, page_end) if page and label[0] != "с" else "",
                 # A folded preamble: `lead_html` shown, `more_html` under "показать полностью".
                 "lead_html": highlight_all(body[:fold], matcher or _NO_MATCH) if fold else None,
                 "more_html": highlight_all(body[fold:].lstrip("\n"), matcher or _NO_MATCH) if fold else None,
                 "more_chars": len(body) - fold if fold else 0})
            if article:
                articles.add(article)
        self.outline = outline
        self._articles: tuple[list[int], list[str]] | None = None
        self.pages: list[tuple[int, int]] = []   # (page, part where it begins) of a paginated document
        self.cites: list = []          # acts this document cites (kb.search.citations.CitedAct)
        self.cited_by: list = []       # documents citing this act (CitingDoc)
        self.copies: list[DocInfo] = []   # the same text in other files (kb.enrich.copies)

    def label_of(self, ordinal: int) -> str:
        """The label of passage `ordinal` of this document when it may not be on this part (the
        places a cited act is mentioned): its article from the outline, else `фрагмент N`."""
        if self._articles is None:
            marks = sorted((e.get("ordinal", 0), e["article"]) for e in self.outline if e.get("article"))
            self._articles = ([o for o, _ in marks], [a for _, a in marks])
        starts, numbers = self._articles
        i = bisect_right(starts, ordinal) - 1
        # An article runs to the next one; a passage before the first article has none.
        return f"ст. {numbers[i]}" if i >= 0 else f"фрагмент {ordinal + 1}"

    @property
    def part(self) -> int:
        return part_of(self.offset)

    @property
    def parts(self) -> int:
        return max(1, -(-self.total // PART_PASSAGES))

    def toc(self, limit: int = MAX_TOC) -> list[dict]:
        """The outline entries to show beside this part (all of them in a normal document)."""
        if len(self.outline) <= limit:
            return self.outline
        start, end = self.offset, self.offset + self.limit
        here = [e for e in self.outline if start <= e.get("ordinal", 0) < end][:limit]
        chapters = sorted((e for e in self.outline if e.get("level") == 1),
                          key=lambda e: abs(e.get("ordinal", 0) - start))[:max(0, limit - len(here))]
        keep = {id(e) for e in here + chapters}
        return [e for e in self.outline if id(e) in keep]

    def page_toc(self, limit: int = MAX_TOC) -> list[tuple[int, int]]:
        """(page, part) links: every page, or beyond `limit` the pages of this part and the
        first page of each other part."""
        if len(self.pages) <= limit:
            return self.pages
        firsts = {}
        for page, part in self.pages:
            firsts.setdefault(part, page)
        here = [(page, part) for page, part in self.pages if part == self.part][:limit]
        others = [(page, part) for part, page in firsts.items() if part != self.part]
        return sorted(here + others)

    @property
    def next_offset(self) -> int | None:
        end = self.offset + self.limit
        return end if end < self.total else None

    def to_json(self) -> dict:
        d = self.info.to_json()
        # What the indexer could not read about access names files: staff and the CLI only.
        private = ("outline", "minhash", "access_error", "warnings") if restricted() else ("outline", "minhash")
        d["meta"] = {k: v for k, v in self.info.meta.items() if k not in private}
        # The outline entries that begin in these passages: paged with them.
        d["outline"] = [e for e in self.outline if self.offset <= e.get("ordinal", 0) < self.offset + self.limit]
        d["passages_total"] = self.total
        d["offset"] = self.offset
        d["limit"] = self.limit
        d["next_offset"] = self.next_offset
        d["passages"] = [{k: v for k, v in p.items() if k not in _PAGE_ONLY}
                         for p in self.passages]
        d["cites"] = [c.to_json() for c in self.cites]
        d["cited_by"] = [c.to_json() for c in self.cited_by]
        d["copies"] = [c.to_json() for c in self.copies]
        return d


def document(index_dir: Path, doc_id: str, query: str | None = None, *, offset: int = 0,
             limit: int = PART_PASSAGES, pages: bool = False) -> DocView | None:
    """Passages offset..offset+limit of a document (limit at most MAX_LIMIT), or None when unknown
    (or when no index has been built yet).

    `pages`: also list where each page of a paginated document begins (`DocView.pages`), from
    the first passage of every part: one stored passage a part, not the whole text."""
    if not exists(Path(index_dir)):
        return None                       # nothing indexed yet: no such document (a 404, not a 503)
    info = catalog(index_dir).get(doc_id)
    if info is None:
        return None
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    rd = reader(Path(index_dir))
    total = rd.doc_passage_count(doc_id)
    view = DocView(info, rd.doc_passages(doc_id, offset, offset + limit), query, offset=offset, limit=limit,
                   total=total)
    if pages and info.pages > 1:
        view.pages = _page_parts(rd, doc_id, view.parts, info.pages)
    graph = citation_graph(index_dir)
    view.cites, view.cited_by = graph.cites(doc_id), graph.cited_by(doc_id)
    cat = catalog(index_dir)
    view.copies = [c for c in (cat.get(d) for d in info.meta.get("copies", [])) if c is not None]
    return view


def locate(index_dir: Path, doc_id: str, *, article: str | None = None, page: int | None = None) -> int | None:
    """The part of a document where article `article` (its first passage) or page `page` begins:
    what a stable link (`/doc/<id>?st=84`, `?page=12`) opens. None when there is no such
    article or page (or document)."""
    info = catalog(index_dir).get(doc_id) if exists(Path(index_dir)) else None
    if info is None:
        return None
    if article is not None:
        ordinals = [o["ordinal"] for o in info.meta.get("outline", []) if o.get("article") == article]
        return part_of(min(ordinals)) if ordinals else None
    if page is None or not 1 <= page <= info.pages or info.pages < 2:
        return None
    rd = reader(Path(index_dir))
    parts = max(1, -(-rd.doc_passage_count(doc_id) // PART_PASSAGES))
    return dict(_page_parts(rd, doc_id, parts, info.pages)).get(page)


def locate_point(index_dir: Path, doc_id: str, anchor: str, table: bool = False) -> int | None:
    """The passage where point `anchor` (`1-40`) of an act without articles begins, or with
    `table` its table (`2-9`): what `/doc/<id>?pt=1-40` (`?tb=2-9`) opens. None when there is
    no such point (or document)."""
    info = catalog(index_dir).get(doc_id) if exists(Path(index_dir)) else None
    if info is None or not POINT_ANCHOR.match(anchor or ""):
        return None
    return point_passage(info, reader(Path(index_dir)).doc_passages(doc_id), anchor, table)


def _page_parts(rd, doc_id: str, parts: int, last_page: int) -> list[tuple[int, int]]:
    """(page, part) for every page: a page begins in the last part whose first passage starts on
    or before it (a passage may run over several pages)."""
    firsts = []
    for part in range(1, parts + 1):
        got = rd.doc_passages(doc_id, (part - 1) * PART_PASSAGES, (part - 1) * PART_PASSAGES + 1)
        if got and got[0].get("page"):
            firsts.append((got[0]["page"], part))
    out, i = [], 0
    for page in range(1, last_page + 1):
        while i + 1 < len(firsts) and firsts[i + 1][0] <= page:
            i += 1
        out.append((page, firsts[i][1] if firsts else 1))
    return out
