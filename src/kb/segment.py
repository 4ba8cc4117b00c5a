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


# Section headings of reports and other texts without articles (docs/enrich.md, "Structure"):
# `II. ДЕЯТЕЛЬНОСТЬ И ДОСТИЖЕНИЯ`, `2.2А. ПРОЕКТ ...`, `3. Выводы` (numbered in capitals or
# declared a heading by the file), and lines in capitals of two words or more.
_ROMAN_HEAD = re.compile(r"^(?P<num>[IVXLC]+)\.\s+(?P<text>\S.*)$")
_NUM_HEAD = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2})+[А-ЯA-Zа-я]?\.?|\d{1,2}[А-ЯA-Zа-я]?\.)\s+(?P<text>[«\"(]?[А-ЯЁA-Z].*)$")
MIN_HEADINGS = 3
MAX_HEADING = 200


def _caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.9 * len(letters)


def _heading_level(line: str, declared: set[str]) -> tuple[int, bool] | None:
    """(level, numbered) when the line is a section heading, else None."""
    s = line.strip()
    if not s or len(s) > MAX_HEADING:
        return None
    m = _ROMAN_HEAD.match(s)
    if m and (_caps(m.group("text")) or s in declared):
        return 1, True
    m = _NUM_HEAD.match(s)
    if m and (_caps(m.group("text")) or s in declared):
        return min(3, m.group("num").rstrip(".").count(".") + 1), True
    if s in declared:
        return 0, False
    if _caps(s) and len(s.split()) >= 2 and not s.endswith((".", ",", ":", ";")) and not s[0].isdigit():
        return 0, False
    return None


def _section_lines(lines: list[str], declared: set[str]) -> list[tuple[int, int, int, str]]:
    """(first line, line after, level, text) of each heading; a heading in capitals wrapped
    over consecutive lines is one. Unnumbered headings sit one level below the deepest
    numbered one (level 1 when none is numbered)."""
    found: list[list] = []          # [first, after, level, text, numbered]
    for i, line in enumerate(lines):
        last = found[-1] if found else None
        s = line.strip()
        if last is not None and last[1] == i and not last[3].endswith(("!", ".", ":")) and s \
                and s == s.upper() and sum(c.isalpha() for c in s) >= 3 and not s[0].isdigit():
            last[1], last[3] = i + 1, f"{last[3]} {s}"          # the rest of a wrapped heading
            continue
        hl = _heading_level(line, declared)
        if hl is None:
            continue
        level, numbered = hl
        if last is not None and last[1] == i and not numbered and not last[3].endswith(("!", ".", ":")):
            last[1], last[3] = i + 1, f"{last[3]} {line.strip()}"      # the rest of a wrapped heading
        else:
            found.append([i, i + 1, level, line.strip(), numbered])
    numbered = [f for f in found if f[4]]
    if len(found) < MIN_HEADINGS or (len(numbered) < 2 and not declared):
        return []
    deepest = max((f[2] for f in numbered), default=0)
    return [(a, b, level if num else min(3, deepest + 1), " ".join(text.split())[:MAX_HEADING])
            for a, b, level, text, num in found]


def _by_pages(doc: Document) -> Segmented:
    lines, page_of = [], []
    for n, page in enumerate(doc.pages, start=1):
        for line in page.splitlines():
            lines.append(line)
            page_of.append(n)
    heads: dict[int, list[tuple[int, str]]] = {}
    for first, _, level, text in _section_lines(lines, set(doc.headings)):
        heads.setdefault(page_of[first], []).append((level, text))
    passages = []
    outline: list[OutlineEntry] = []
    heading = ""
    for n, page in enumerate(doc.pages, start=1):
        first = len(passages)
        for piece in _split_long(page.strip()):
            passages.append(Passage(ordinal=len(passages), text=piece, page=n, page_end=n, heading=heading))
        for level, text in heads.get(n, []):
            outline.append(OutlineEntry(level, text, first))
        if heads.get(n):
            heading = heads[n][-1][1]
            # The page's passages after its first heading are of that section.
            for p in passages[first:]:
                p.heading = p.heading or heads[n][0][1]
    return Segmented(passages, outline)


def _by_paragraphs(doc: Document) -> Segmented:
    """Paragraphs grouped to about GROUP_CHARS; when the text has sections (numbered or
    capital headings, docs/enrich.md), a group never crosses a heading, each passage carries
    its section's heading and the headings make the outline."""
    lines = doc.text.split("\n")
    heads = {a: (b, level, text) for a, b, level, text in _section_lines(lines, set(doc.headings))}
    passages: list[Passage] = []
    outline: list[OutlineEntry] = []
    state = {"cur": "", "heading": "", "body": True}

    def flush() -> None:
        if state["cur"]:
            for piece in _split_long(state["cur"]):
                passages.append(Passage(ordinal=len(passages), text=piece, heading=state["heading"]))
        state["cur"] = ""

    def add(para: list[str]) -> None:
        text = "\n".join(para).strip()
        if not text:
            return
        if state["cur"] and len(state["cur"]) + len(text) + 1 > GROUP_CHARS:
            flush()
        state["cur"] = f"{state['cur']}\n{text}" if state["cur"] else text
        state["body"] = True

    para: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i in heads:
            add(para)
            para = []
            after, level, text = heads[i]
            if state["cur"] and not state["body"]:
                # Headings with no text between them (`I. ВВЕДЕНИЕ` then `1.1. ...`) open one passage.
                state["cur"] += "\n" + text
            else:
                flush()
                state["cur"] = text         # the heading opens its section's first passage
            state["heading"], state["body"] = text, False
            outline.append(OutlineEntry(level, text, len(passages)))
            i = after
            continue
        # A paragraph ends at a blank line or a line that starts without indentation.
        if not line.strip() or (para and not line[:1].isspace()):
            add(para)
            para = [line] if line.strip() else []
        else:
            para.append(line)
        i += 1
    add(para)
    flush()
    return Segmented(passages, outline)


def segment(doc: Document) -> Segmented:
    """Split a document into passages: by articles, else by pages, else by paragraphs."""
    text = "\n\n".join(doc.pages)
    matches = list(_ARTICLE.finditer(text))
    if len(matches) >= MIN_ARTICLES:
        return _by_articles(doc, matches)
    if doc.page_count > 1:
        return _by_pages(doc)
    return _by_paragraphs(doc)
