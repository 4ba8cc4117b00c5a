"""Passages, the unit of the index: an article of a legal act, a page, or grouped paragraphs.

Whoosh stores a field's length in one byte, so whole books would saturate it;
passages also make results point at the article or page a person needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.extract.document import Document

MAX_CHARS = 6000        # longer articles and pages are split at paragraph ends
GROUP_CHARS = 2000      # paragraphs of unpaginated text are grouped up to about this size
MIN_ARTICLES = 3        # fewer `Статья N` headings than this are citations, not structure

# "Статья 84. Выселение..." / "Статья 12.1" / "Статья 5-1" at the start of a line.
_ARTICLE = re.compile(r"^[ \t]*(?:Статья|СТАТЬЯ)[ \t]+(\d+(?:[.\-]\d+)*)\.?[ \t]*(.*)$", re.M)
_SECTION = re.compile(
    r"^[ \t]*((?:РАЗДЕЛ|Раздел|ГЛАВА|Глава|ПОДРАЗДЕЛ|Подраздел|ЧАСТЬ|Часть)[ \t]+[\dIVXLCМ]+[.\-\d]*\.?.*)$", re.M
)


@dataclass
class Passage:
    ordinal: int                 # 0-based within the document; the anchor `#p-<ordinal>`
    text: str
    page: int | None = None      # 1-based first page
    page_end: int | None = None
    article: str | None = None
    heading: str = ""            # "Статья 84. Выселение ..." or a section heading


@dataclass
class OutlineEntry:
    level: int                   # 1 section/chapter, 2 article
    label: str
    ordinal: int                 # passage where it starts
    article: str | None = None


@dataclass
class Segmented:
    passages: list[Passage]
    outline: list[OutlineEntry] = field(default_factory=list)


def _page_starts(pages: list[str]) -> tuple[str, list[int]]:
    """The joined text and the offset where each page starts."""
    starts, parts, pos = [], [], 0
    for p in pages:
        starts.append(pos)
        parts.append(p)
        pos += len(p) + 2
    return "\n\n".join(parts), starts


def _page_at(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1


def _split_long(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Split at paragraph (then line, then space) boundaries into pieces of at most `limit`."""
    if len(text) <= limit:
        return [text]
    pieces, cur = [], ""
    for para in re.split(r"(?<=\n)", text):
        while len(para) > limit:
            cut = para.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            if cur:
                pieces.append(cur)
                cur = ""
            pieces.append(para[:cut])
            para = para[cut:]
        if len(cur) + len(para) > limit and cur:
            pieces.append(cur)
            cur = ""
        cur += para
    if cur.strip():
        pieces.append(cur)
    return [p.strip() for p in pieces if p.strip()]


def repair_numbers(nums: list[str]) -> list[str]:
    """Article numbers whose superscript was flattened by an earlier extraction
    (`Статья 193`, `Статья 1931`, `Статья 194`: the middle one is 193.1) written dotted.

    A number is read so only when it is its predecessor's digits plus more, and the
    articles after it (past any others of the same kind) go on from the predecessor."""
    out = list(nums)
    ints = [int(n) if n.isdigit() else None for n in nums]
    base = None
    for i, n in enumerate(ints):
        if n is None:
            base = None
            continue
        b = str(base) if base is not None else ""
        if b and len(str(n)) > len(b) and str(n).startswith(b) and str(n)[len(b)] != "0" and n > base + 1:
            later = next((m for m in ints[i + 1:] if m is None or not str(m).startswith(b) or m == base), None)
            if later is not None and base < later <= base + 3:
                out[i] = f"{b}.{str(n)[len(b):]}"
                continue
        base = n
    return out


def _by_articles(doc: Document, matches: list[re.Match]) -> Segmented:
    text, starts = _page_starts(doc.pages)
    paginated = doc.page_count > 1
    sections = [(m.start(), m.group(1).strip()) for m in _SECTION.finditer(text)]
    passages: list[Passage] = []
    outline: list[OutlineEntry] = []
    bounds = [m.start() for m in matches] + [len(text)]

    def add(chunk_text: str, start: int, end: int, article: str | None, heading: str) -> None:
        for piece in _split_long(chunk_text):
            passages.append(Passage(
                ordinal=len(passages), text=piece, article=article, heading=heading,
                page=_page_at(starts, start) if paginated else None,
                page_end=_page_at(starts, max(start, end - 1)) if paginated else None,
            ))

    numbers = repair_numbers([m.group(1) for m in matches])
    sec_i = 0
    preamble = text[: bounds[0]].strip()
    if preamble:
        add(preamble, 0, bounds[0], None, doc.title[:200])
    tail_start: int | None = None     # a chapter heading that closed the previous article
    for i, m in enumerate(matches):
        start, nxt = bounds[i], bounds[i + 1]
        # Chapters opened since the previous article lead to this one.
        while sec_i < len(sections) and sections[sec_i][0] < start:
            outline.append(OutlineEntry(1, sections[sec_i][1][:200], len(passages)))
            sec_i += 1
        # A chapter heading before the next article closes this one; its lines go with the next.
        end = sections[sec_i][0] if sec_i < len(sections) and sections[sec_i][0] < nxt else nxt
        num = numbers[i].replace("-", ".")
        title = m.group(2).strip()
        heading = f"Статья {numbers[i]}. {title}".strip().rstrip(".") if title else f"Статья {numbers[i]}"
        outline.append(OutlineEntry(2, heading[:200], len(passages), article=num))
        head = text[tail_start:start].strip() if tail_start is not None else ""
        body = text[start:end].strip()
        add(f"{head}\n{body}" if head else body, tail_start or start, end, num, heading[:300])
        tail_start = end if end < nxt else None
    if tail_start is not None:
        while sec_i < len(sections):
            outline.append(OutlineEntry(1, sections[sec_i][1][:200], len(passages)))
            sec_i += 1
        add(text[tail_start:].strip(), tail_start, len(text), None, "")
    return Segmented(passages, outline)


def _by_pages(doc: Document) -> Segmented:
    passages = []
    for n, page in enumerate(doc.pages, start=1):
        for piece in _split_long(page.strip()):
            passages.append(Passage(ordinal=len(passages), text=piece, page=n, page_end=n))
    return Segmented(passages)


def _by_paragraphs(doc: Document) -> Segmented:
    passages: list[Passage] = []
    cur = ""
    for para in re.split(r"\n\s*\n|\n(?=\S)", doc.text):
        para = para.strip()
        if not para:
            continue
        if cur and len(cur) + len(para) + 1 > GROUP_CHARS:
            passages.append(Passage(ordinal=len(passages), text=cur))
            cur = ""
        cur = f"{cur}\n{para}" if cur else para
    if cur:
        passages.append(Passage(ordinal=len(passages), text=cur))
    out = []
    for p in passages:
        for piece in _split_long(p.text):
            out.append(Passage(ordinal=len(out), text=piece))
    return Segmented(out)


def segment(doc: Document) -> Segmented:
    """Split a document into passages: by articles, else by pages, else by paragraphs."""
    text = "\n\n".join(doc.pages)
    matches = list(_ARTICLE.finditer(text))
    if len(matches) >= MIN_ARTICLES:
        return _by_articles(doc, matches)
    if doc.page_count > 1:
        return _by_pages(doc)
    return _by_paragraphs(doc)
