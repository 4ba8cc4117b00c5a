"""PDF reader: clean text by page from pdfplumber's character geometry.

Lines are built here from the characters of pdfminer's layout, not with
`Page.extract_text()`: one sort per page is enough, and skipping pdfplumber's
per-object dictionaries (colours, matrices, resolved attributes) makes the
reader about twice as fast as plain `extract_text()`, cleaning included.

Steps per page: characters -> overprint de-duplication -> lines (and, where
vertical gutters are found, column after column) -> pages without a usable
text layer (none, garbage, or a stamp on a scan) read by OCR (kb.extract.ocr)
-> across pages: running headers, footers and page numbers removed ->
line-end hyphenation joined -> characters cleaned.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from kb.errors import ExtractError
from kb.extract.clean import clean_chars, tidy_lines
from kb.extract.document import RawText
from kb.extract.hyphens import join_line_breaks

OCR_WARNING = "стр. {n}: нет текстового слоя, нужно распознавание (OCR)"
JUNK_WARNING = "стр. {n}: текстовый слой нечитаем (мусорные символы), нужно распознавание (OCR)"
NO_TEXT_WARNING = "в PDF не найдено текста ни на одной странице: документ не будет найден поиском"
THIN_WARNING = "стр. {n}: страница — скан с несколькими словами текстового слоя, нужно распознавание (OCR)"
# A scan with a stamp or a page number in a text layer: under this many characters of text
# on a page mostly covered by images, the text layer is not the page's text.
THIN_CHARS = 40

# Overprinted glyphs closer than this (pt) are one glyph: pdfplumber's default.
DEDUPE_TOLERANCE = 1.0


# --- overprint de-duplication ------------------------------------------------------------

def _chain(idxs: list[int], value: Callable[[int], float], tol: float) -> list[list[int]]:
    """Split indices already sorted by `value` where neighbours are more than `tol` apart."""
    out = [[idxs[0]]]
    last = value(idxs[0])
    for i in idxs[1:]:
        v = value(i)
        if v > last + tol:
            out.append([i])
        else:
            out[-1].append(i)
        last = v
    return out


def dedupe_chars(chars: Sequence[dict], tolerance: float = DEDUPE_TOLERANCE) -> list[dict]:
    """Drop glyphs drawn again at (almost) the same place: Word's fake bold, shadows.

    Gives the same characters, in the same order, as pdfplumber's
    `Page.dedupe_chars()` (same key: upright, text, font, size; same chained
    clustering on `top`, then `x0`, within `tolerance`; the top-left copy kept).
    pdfplumber restores the order with `chars.index`, O(n^2); here the original
    index travels with each char, and the only sorts are within groups of one
    glyph, so a page costs O(n log n) in C sorts and one linear Python pass.
    """
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(chars):
        key = (c["upright"], c["text"], c["fontname"], c["size"])
        g = groups.get(key)
        if g is None:
            groups[key] = [i]
        else:
            g.append(i)
    top = lambda i: chars[i]["top"]  # noqa: E731
    x0 = lambda i: chars[i]["x0"]  # noqa: E731
    keep: list[int] = []
    for idxs in groups.values():
        if len(idxs) == 1:
            keep.append(idxs[0])
            continue
        idxs.sort(key=top)
        for ycl in _chain(idxs, top, tolerance):
            if len(ycl) == 1:
                keep.append(ycl[0])
                continue
            ycl.sort(key=x0)
            for xcl in _chain(ycl, x0, tolerance):
                keep.append(xcl[0] if len(xcl) == 1 else min(xcl, key=lambda i: (top(i), x0(i), i)))
    keep.sort()
    return [chars[i] for i in keep]


# --- characters of a page ------------------------------------------------------------------

def _page_chars(page, images: list[float] | None = None) -> list[dict]:
    """Characters of a page as small dicts with pdfplumber's keys and coordinates; the
    areas (pt²) of its images are appended to `images` when given."""
    from pdfminer.layout import LTChar, LTContainer, LTImage

    height = float(page.height)
    mb_x0, mb_top = float(page.mediabox[0]), float(page.mediabox[1])
    chars: list[dict] = []
    stack = [iter(page.layout._objs)]
    while stack:
        for obj in stack[-1]:
            if isinstance(obj, LTChar):
                chars.append({
                    "text": obj.get_text(),
                    "x0": obj.x0 + mb_x0,
                    "x1": obj.x1 + mb_x0,
                    "top": height - obj.y1 + mb_top,
                    "bottom": height - obj.y0 + mb_top,
                    "size": obj.size,
                    "fontname": obj.fontname,
                    "upright": obj.upright,
                })
            elif isinstance(obj, LTImage):
                if images is not None:
                    images.append(max(0.0, obj.width) * max(0.0, obj.height))
            elif isinstance(obj, LTContainer):
                stack.append(iter(obj._objs))  # a Form XObject: its chars belong to the page
                break
        else:
            stack.pop()
    return chars


# --- lines and columns -----------------------------------------------------------------------

_mid = lambda c: (c["top"] + c["bottom"]) / 2  # noqa: E731
_by_x0 = itemgetter("x0")


def _rows(chars: list[dict]) -> list[list[dict]]:
    """Chars grouped into visual rows, top to bottom, each sorted left to right.

    A new row starts where the vertical middle jumps by more than 0.4 of the
    font size: glyphs of one line in mixed sizes stay together, the next line
    (at least ~1 font size lower) does not.
    """
    if not chars:
        return []
    ordered = sorted(chars, key=_mid)
    rows = [[ordered[0]]]
    last_mid, last_size = _mid(ordered[0]), ordered[0]["size"]
    for c in ordered[1:]:
        m, s = _mid(c), c["size"]
        if m - last_mid > 0.4 * max(s, last_size, 1.0):
            rows.append([c])
        else:
            rows[-1].append(c)
        last_mid, last_size = m, s
    for row in rows:
        row.sort(key=_by_x0)
    return rows


def _raised(c: dict, base: dict) -> bool:
    """A smaller glyph set above the baseline of `base`: a superscript."""
    return c["size"] < 0.85 * base["size"] and c["bottom"] < base["bottom"] - 0.15 * base["size"]


def _row_text(row: list[dict]) -> str:
    """One row's text: drawn spaces and visible gaps (over a quarter of the font size) become one space.

    Raised small digits right after a digit are a superscript: `Статья 193` with a raised
    `1` is article 193.1, and is written so."""
    parts: list[str] = []
    prev_x1 = None
    space = False
    base = prev = None          # the last full-size glyph, and the last glyph
    for c in row:
        t = c["text"]
        if t.isspace():
            space = True
            continue
        gap = prev_x1 is not None and (space or c["x0"] - prev_x1 > 0.25 * max(c["size"], 1.0))
        sup = (t.isdigit() and base is not None and not gap and _raised(c, base)
               and (prev is base and base["text"].isdigit()))
        if gap:
            parts.append(" ")
        if sup:
            parts.append(".")
        parts.append(t)
        prev_x1 = c["x1"]
        space = False
        prev = c
        if not (t.isdigit() and base is not None and _raised(c, base)):
            base = c
    return "".join(parts)


class _Ink(NamedTuple):
    """A row's ink: (x0, x1) runs left to right, and the style (font, size) each run begins in."""

    runs: list[tuple[float, float]]
    styles: list[tuple[str, float]]


def _ink(row: list[dict]) -> _Ink:
    """Horizontal extents of ink in a row: glyphs closer than INK_JOIN pt are one run, so a
    word is one run and the spaces between words, however narrow, stay white."""
    runs: list[list[float]] = []
    styles: list[tuple[str, float]] = []
    for c in row:
        if c["text"].isspace():
            continue
        if runs and c["x0"] - runs[-1][1] <= INK_JOIN:
            if c["x1"] > runs[-1][1]:
                runs[-1][1] = c["x1"]
        else:
            runs.append([c["x0"], c["x1"]])
            styles.append((c["fontname"], round(c["size"], 1)))
    # To 0.01 pt: lines justified to one edge end within float noise of it.
    return _Ink([(round(a, 2), round(b, 2)) for a, b in runs], styles)


# Glyphs of a word abut (pdfminer's boxes are advance boxes); a gutter is at least MIN_STRIP wide.
INK_JOIN = 0.5
MIN_STRIP = 1.0
ALIGN = 1.0         # pt: lines of a column start at its left edge within this


@dataclass(frozen=True)
class Gutter:
    """The white strip between two columns (x0, x1) and `edge`, where the right column's lines
    begin; `style`, for a strip held by that edge's evidence alone (narrower than a word
    space, say), the columns' font and size."""

    x0: float
    x1: float
    edge: float
    style: tuple[str, float] | None = None
    crossed: int = 0    # rows across it

    def side(self, ink: _Ink) -> str:
        """"left", "right", "both" (one line of each column) or "across" (a line over both)."""
        left = right = None
        for i, (a, b) in enumerate(ink.runs):
            if a < self.x1 and b > self.x0:
                return "across"
            if b <= self.x0:
                left = i
            elif right is None:
                right = i
        if left is not None and right is not None:
            # A title's or a footer's word space may fall in the gutter: its second half begins
            # before the right column does, or, beside a gutter as narrow as a word space, both
            # halves are in one style that is not the columns'.
            style = ink.styles[left]
            if ink.runs[right][0] < self.edge - ALIGN or (
                    self.style and style == ink.styles[right] and style != self.style):
                return "across"
            return "both"
        return "left" if left is not None else "right" if right is not None else ""


def _coverage(inks: list[_Ink], lo: float, hi: float) -> list[tuple[float, float, int]]:
    """(start, end, rows with ink there) segments of [lo, hi], left to right."""
    events: list[tuple[float, int]] = [(lo, 0), (hi, 0)]
    for ink in inks:
        for a, b in ink.runs:
            a, b = max(a, lo), min(b, hi)
            if a < b:
                events.append((a, 1))
                events.append((b, -1))
    events.sort()
    out, run, last = [], 0, lo
    for x, d in events:
        if x > last:
            out.append((last, x, run))
            last = x
        run += d
    return out


def _strips(segments: list[tuple[float, float, int]], most: int) -> list[tuple[float, float]]:
    """Maximal runs of segments crossed by at most `most` rows, at least MIN_STRIP wide."""
    out, start, end = [], None, None
    for a, b, n in segments + [(segments[-1][1], segments[-1][1], most + 1)]:
        if n <= most:
            if start is None:
                start = a
            end = b
        elif start is not None:
            if end - start >= MIN_STRIP:
                out.append((start, end))
            start = None
    return out


def find_gutter(rows: list[list[dict]]) -> Gutter | None:
    """The white strip between two text columns, or None.

    A projection profile: each row's ink on the x axis, word spaces left white (merging
    them, as a 1-pt grid of word spans did before, hid gutters under ~9 pt, and a ragged
    line ending a point short of the next column made every row cross it). Over the middle
    60 % of the text, the strips crossed by the fewest rows, or by one or two more, are
    candidates, widest first. The widest of the fewest crossings, wider than a word space,
    is a gutter when both sides carry text on several rows and fewer rows cross it than sit
    beside it (headings, footers). Any other strip, and one narrower than a word space
    (report columns a few points apart), must also be where the right column's lines begin
    (3 in 5 within ALIGN pt), crossed by a quarter of the rows at most: a river of word
    spaces through one column never lines up so. Left edges are the evidence, not right
    ones: ragged columns have none. Either way the column left of the strip, and for the
    second kind the one right of it too, must be filled as prose fills a column (_ragged):
    a table's or a form's cells are read row by row. Of the gutters found, the one fewest
    rows cross wins, then the leftmost.
    """
    rows = [r for r in rows if len(r) > 40 or not _is_page_number(_row_text(r))]   # narrower than a gutter
    if len(rows) < 6:
        return None
    inks = [i for i in map(_ink, rows) if i.runs]
    if len(inks) < 6:
        return None
    style = Counter(s for i in inks for s in i.styles).most_common(1)[0][0]    # the body's
    wide = max(8.0, 0.9 * style[1])     # wider than any word space: a gutter on its width alone
    xmin = min(i.runs[0][0] for i in inks)
    xmax = max(i.runs[-1][1] for i in inks)
    width = xmax - xmin
    if width < 10 * wide:
        return None
    segments = _coverage(inks, xmin + 0.2 * width, xmax - 0.2 * width)
    least = min(n for _, _, n in segments)
    found: dict[tuple[float, float], Gutter | None] = {}
    for most in range(least, least + 3):
        for strip in sorted(_strips(segments, most), key=lambda s: s[0] - s[1])[:3]:
            if strip not in found:
                strict = most > least or strip[1] - strip[0] < wide
                found[strip] = _gutter(inks, strip, strict=strict, style=style, wide=wide)
    # The one fewest rows cross (a strip in a ragged column edge is crossed by its longest
    # lines), then the leftmost (a list's bullets at the head of the right column leave a strip too).
    return min((g for g in found.values() if g), key=lambda g: (g.crossed, g.x0), default=None)


def _gutter(inks: list[_Ink], strip: tuple[float, float], strict: bool, style: tuple[str, float],
            wide: float) -> Gutter | None:
    """The strip as a gutter when the rows beside it read as two columns (see find_gutter)."""
    g0, g1 = strip
    starts = sorted(next(a for a, _ in ink.runs if a >= g1) for ink in inks
                    if not any(a < g1 and b > g0 for a, b in ink.runs) and ink.runs[-1][1] > g1)
    if len(starts) < 3:
        return None
    # The right column's edge: the leftmost start another line shares (a heading's word space
    # begins once); its alignment: the largest group of starts within ALIGN of each other.
    edge = next((x for x, y in zip(starts, starts[1:]) if y - x <= ALIGN), starts[0])
    aligned, _ = _aligned(starts)
    if strict and (aligned < 4 or aligned < 0.6 * len(starts)):
        return None
    gutter = Gutter(g0, g1, edge, style if strict else None)
    sides = Counter(gutter.side(ink) for ink in inks)
    left, right = sides["left"] + sides["both"], sides["right"] + sides["both"]
    beside = left + right - sides["both"]
    if strict:
        if left < 4 or right < 4 or 3 * sides["across"] > beside:
            return None
    elif left < 3 or right < 3 or sides["across"] >= beside:
        return None
    if min(left, right) < 0.25 * beside:
        return None
    if _ragged([ink for ink in inks if gutter.side(ink) == "both"], g0, g1, wide, strict):
        return None     # a table's or a form's cells, read row by row
    return replace(gutter, crossed=sides["across"])


def _aligned(starts: list[float]) -> tuple[int, float]:
    """The largest group of x positions within ALIGN of each other: (its size, its first x)."""
    starts = sorted(starts)
    best, j = (0, 0.0), 0
    for i, x in enumerate(starts):
        while x - starts[j] > ALIGN:
            j += 1
        if i - j + 1 > best[0]:
            best = (i - j + 1, starts[j])
    return best


def _gaps(parts: list[_Ink], lo: float, hi: float, wide: float) -> list[tuple[float, float]]:
    """White strips between columns within one side: no line has ink there, and they are
    wider than a word space or the lines after them begin at one x."""
    out = []
    for g0, g1 in _strips(_coverage(parts, lo, hi), 0):
        if g1 - g0 >= wide:
            out.append((g0, g1))
            continue
        starts = [next(a for a, _ in p.runs if a >= g1) for p in parts if p.runs and p.runs[-1][1] > g1]
        n, _ = _aligned(starts)
        if n >= 3 and n >= 0.6 * len(starts):
            out.append((g0, g1))
    return out


# A column of prose is filled: half its lines or more end within this part of its width of its edge.
RAGGED = 0.25


def _ragged(inks: list[_Ink], g0: float, g1: float, wide: float, right_too: bool) -> bool:
    """Whether the column left of the gutter (g0, g1), or right of it when `right_too`, is not
    filled as prose fills a column: its middle line ends over RAGGED of its width short of its
    right edge. `inks` are the rows with a line on each side, the only ones read differently
    across and down. Each side is measured in its column next to the gutter (a table's cells
    in their own column: the nearest white gap with a column over 3 word spaces wide beyond
    it); a row with no ink in that column counts as empty. The right side only for strips
    as narrow as a word space: a wide gutter's right column may be an index's letters and
    entries, half of them one letter long."""
    for left in (True, False) if right_too else (True,):
        parts = [_Ink([(a, b) for a, b in ink.runs if (b <= g0 if left else a >= g1)], []) for ink in inks]
        parts = [p for p in parts if p.runs]
        if not parts:
            continue
        lo, hi = min(p.runs[0][0] for p in parts), max(p.runs[-1][1] for p in parts)
        # The nearest gap leaving a column wider than a few words (not a list's bullets).
        for a, b in (reversed if left else iter)(_gaps(parts, lo, hi, wide) if hi > lo else []):
            if (hi - b if left else a - lo) >= 3 * wide:
                lo, hi = (b, hi) if left else (lo, a)
                break
        if hi - lo <= 0:
            continue
        ends = [max((b for a, b in p.runs if b <= hi and a >= lo), default=lo) for p in parts]
        short = sorted(hi - e for e in ends)[len(ends) // 2]
        if short > RAGGED * (hi - lo):
            return True
    return False


def page_lines(chars: list[dict]) -> list[str]:
    """Reading-order lines of one page: one column as is; columns left to right, each read
    top to bottom, full-width rows (headings above the columns, a line across) kept where
    they stand. A bare page number at the head or foot of the page stays there, outside
    the columns (a centred `- 1 -` sits in the middle column or in a narrow gutter), so
    that strip_running_lines finds and removes it."""
    rows = _rows(chars)
    head: list[str] = []
    foot: list[str] = []
    if len(rows) > 1 and _is_page_number(_row_text(rows[-1])):
        foot.append(_row_text(rows.pop()))
    if len(rows) > 1 and _is_page_number(_row_text(rows[0])):
        head.append(_row_text(rows.pop(0)))
    return head + _column_lines(rows, MAX_COLUMN_SPLITS) + foot


# Gutters looked for within the parts of a page: 2 finds up to three or four columns.
MAX_COLUMN_SPLITS = 2


def _column_lines(rows: list[list[dict]], splits: int) -> list[str]:
    gutter = find_gutter(rows) if splits > 0 else None
    if gutter is None:
        return [t for t in map(_row_text, rows) if t]
    mid = (gutter.x0 + gutter.x1) / 2
    lines: list[str] = []
    left: list[list[dict]] = []
    right: list[list[dict]] = []

    def flush() -> None:
        # Each side may hold columns of its own (three columns: one gutter, then another).
        lines.extend(_column_lines(left, splits - 1))
        lines.extend(_column_lines(right, splits - 1))
        left.clear()
        right.clear()

    for row in rows:
        if gutter.side(_ink(row)) == "across":
            flush()
            t = _row_text(row)
            if t:
                lines.append(t)
            continue
        lt = [c for c in row if c["x1"] <= mid]
        rt = [c for c in row if c["x0"] >= mid]
        if any(not c["text"].isspace() for c in lt):
            left.append(lt)
        if any(not c["text"].isspace() for c in rt):
            right.append(rt)
    flush()
    return lines


# --- running headers, footers, page numbers ---------------------------------------------------

_DIGITS = re.compile(r"\d+")
_PAGE_NO = re.compile(
    r"(?:[-–—]\s*)?(?:(?:стр\.?|страница|page|p\.)\s*)?(\d{1,4})(?:\s*(?:из|of|/)\s*\d{1,4})?(?:\s*[-–—])?",
    re.IGNORECASE,
)
EDGE_LINES = 3  # how deep into the top and the bottom of a page a running line may sit


def _key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(clean_chars(line).split())).lower()


def _is_page_number(line: str) -> bool:
    m = _PAGE_NO.fullmatch(clean_chars(line).strip())
    # A lone 19xx/20xx is the year of a title page ("Бишкек\n2019"), not a page number.
    return bool(m) and not (len(m.group(1)) == 4 and m.group(1)[:2] in ("19", "20"))


def strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Remove headers and footers repeated across pages (digits ignored) and bare page numbers.

    A line is running when the same text (any number in it counting as one)
    sits within the top or bottom EDGE_LINES lines of at least 3 pages and of
    at least 40 % of the pages with text (odd/even headers reach ~50 %).
    Lines are only taken off from the edges inward, so a repeated phrase in
    the body is never touched.
    """
    with_text = [p for p in pages if p]
    top: Counter[str] = Counter()
    bottom: Counter[str] = Counter()
    for lines in with_text:
        top.update({_key(x) for x in lines[:EDGE_LINES]})
        bottom.update({_key(x) for x in lines[-EDGE_LINES:]})
    need = max(3, 0.4 * len(with_text))
    top_run = {k for k, v in top.items() if v >= need and k.strip()}
    bottom_run = {k for k, v in bottom.items() if v >= need and k.strip()}
    out = []
    for lines in pages:
        lines = list(lines)
        for _ in range(EDGE_LINES):
            if lines and (_key(lines[0]) in top_run or _is_page_number(lines[0])):
                lines.pop(0)
            else:
                break
        for _ in range(EDGE_LINES):
            if lines and (_key(lines[-1]) in bottom_run or _is_page_number(lines[-1])):
                lines.pop()
            else:
                break
        out.append(lines)
    return out


# --- junk and OCR --------------------------------------------------------------------------------

_CID = re.compile(r"\(cid:\d+\)")


def is_junk(text: str) -> bool:
    """True when a text layer carries no readable words: glyph ids, private-use
    symbols, replacement marks, or Cyrillic mis-decoded as Latin-1 (`Ãðàæäàíñêèé`)."""
    junk = sum(len(m) for m in _CID.findall(text))
    rest = _CID.sub("", text)
    ink = [ch for ch in rest if not ch.isspace()]
    junk += sum(1 for ch in ink if ch == "\ufffd" or "\ue000" <= ch <= "\uf8ff")
    total = junk + len(ink)
    letters = [ch for ch in ink if ch.isalpha() and not ("\ue000" <= ch <= "\uf8ff")]
    if total == 0:
        return True
    if junk > 0.5 * total or sum(ch.isalnum() for ch in ink) == 0:
        return True
    latin1 = sum(1 for ch in letters if "\u00c0" <= ch <= "\u00ff")
    return len(letters) >= 20 and latin1 > 0.5 * len(letters)


# --- title -----------------------------------------------------------------------------------------

_APP_PREFIX = re.compile(r"^microsoft\s+(?:word|excel|powerpoint)\s*-\s*", re.IGNORECASE)
_FILE_EXT = re.compile(r"\.(?:docx?|rtf|odt|pdf|xlsx?|pptx?|txt|html?)$", re.IGNORECASE)
_PLACEHOLDER_TITLES = {
    "untitled", "title", "document", "документ", "без названия", "без имени",
    "microsoft word", "презентация powerpoint", "слайд 1", "1", "заголовок",
}


def meta_title(metadata: dict, path: Path) -> str:
    """The PDF's Title when it names the document, else "" (the dispatcher then uses the first line).

    Word fills Title with "Microsoft Word - отчет_2019.doc" or a template's
    placeholder; those, file names, and mis-decoded strings are not titles.
    """
    raw = metadata.get("Title") if metadata else None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        return ""
    title = " ".join(clean_chars(raw).split()).strip(" -_.")
    had_app_prefix = bool(_APP_PREFIX.match(title))
    title = _APP_PREFIX.sub("", title)
    if had_app_prefix or _FILE_EXT.search(title):
        return ""  # a file name, not a title
    if title.lower() in _PLACEHOLDER_TITLES or title.lower() == path.stem.lower():
        return ""
    letters = [ch for ch in title if ch.isalpha()]
    if len(letters) < 3 or "\ufffd" in title or is_junk(title):
        return ""
    if " " not in title and ("_" in title or len(title) > 40):
        return ""  # "otchet_2019_final": a file name
    return title[:300]


# --- the reader ------------------------------------------------------------------------------------

def _open(path: Path, data: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        n = len(pdf.pages)
    except (PDFPasswordIncorrect, PDFEncryptionError) as e:
        raise ExtractError(path, f"PDF защищён паролем или шифрованием (encrypted PDF: {type(e).__name__})") from None
    except MemoryError:
        raise                   # the memory bound's, not a broken file's (kb.extract.pool)
    except Exception as e:  # noqa: BLE001 - pdfminer raises many kinds on broken files
        cause = _cause(e)
        if "password" in cause.lower() or "encrypt" in cause.lower():
            raise ExtractError(path, f"PDF защищён паролем или шифрованием (encrypted PDF: {cause})") from None
        raise ExtractError(path, f"повреждённый или обрезанный PDF (corrupt PDF: {cause})"[:300]) from None
    if n == 0:
        pdf.close()
        raise ExtractError(path, "в PDF нет ни одной страницы (corrupt or truncated PDF: no pages)")
    return pdf


def _cause(e: BaseException) -> str:
    # pdfplumber wraps pdfminer's errors in PdfminerException(original).
    inner = e.args[0] if e.args and isinstance(e.args[0], BaseException) else e
    text = str(inner).strip()
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


def read_pdf(path: Path, data: bytes) -> RawText:
    """Pages of clean text. Pages without a usable text layer are read by OCR (`ocr` holds
    their confidence); those that could not be stay "" and are listed in needs_ocr."""
    pdf = _open(path, data)
    warnings: list[str] = []
    raw_pages: list[list[str]] = []
    ocr: dict[int, str] = {}
    thin: set[int] = set()      # pages whose few words of text layer stand unless OCR reads more
    failed = 0
    try:
        title = meta_title(pdf.metadata, path)
        for number, page in enumerate(pdf.pages, start=1):
            images: list[float] = []
            try:
                area = float(page.width) * float(page.height)
                chars = _page_chars(page, images)
            except MemoryError:
                raise           # would fail every page after it too: the file fails
            except Exception as e:  # noqa: BLE001 - one broken page must not lose the others
                failed += 1
                warnings.append(f"стр. {number}: страница не читается ({_cause(e)})"[:300])
                raw_pages.append([])
                continue
            finally:
                page.close()  # drop pdfminer's layout: memory stays flat over long files
            upright = [c for c in chars if c["upright"]]
            if len(upright) >= len(chars) / 2:
                chars = upright  # vertical margin stamps read as junk across lines
            chars = dedupe_chars(chars)
            if not any(not c["text"].isspace() for c in chars):
                ocr[number] = OCR_WARNING.format(n=number)
                raw_pages.append([])
                continue
            lines = page_lines(chars)
            if is_junk("".join(lines)):
                ocr[number] = JUNK_WARNING.format(n=number)
                raw_pages.append([])
                continue
            if sum(len(x.replace(" ", "")) for x in lines) < THIN_CHARS and sum(images) >= 0.5 * area:
                ocr[number] = THIN_WARNING.format(n=number)
                thin.add(number)
            raw_pages.append(lines)
    finally:
        pdf.close()
    if failed == len(raw_pages):
        raise ExtractError(path, f"ни одна страница PDF не читается (corrupt PDF): {warnings[0]}"[:300])

    scans = _recognise(data, sorted(ocr)) if ocr else None
    if scans is not None:
        for n, lines in list(scans.lines.items()):
            if n in thin and not _better(lines, scans.confidence[n], raw_pages[n - 1]):
                # A cover photo under a title: what OCR makes of it is not the page's text.
                del scans.lines[n], scans.confidence[n]
                scans.warnings = [w for w in scans.warnings if not w.startswith(f"стр. {n}:")]
                continue
            raw_pages[n - 1] = [x for x in lines if x]
    pages = []
    for lines in strip_running_lines(raw_pages):
        text = "\n".join(lines)
        text = join_line_breaks(text)
        pages.append(tidy_lines(clean_chars(text)))
    unread = sorted(ocr) if scans is None else scans.unread
    warnings.extend(ocr[n] for n in unread)
    if scans is not None:
        warnings.extend(scans.warnings)
    if not any(p.strip() for p in pages):
        warnings.append(NO_TEXT_WARNING)
    return RawText(pages=pages, title=title, warnings=warnings, needs_ocr=unread,
                   ocr={} if scans is None else scans.confidence)


def _better(recognised: list[str], confidence: float, layer: list[str]) -> bool:
    """OCR of a page with a few words of text layer is taken when it reads more, and well."""
    from kb.extract.ocr import LOW_CONFIDENCE

    size = lambda lines: sum(len(x.replace(" ", "")) for x in lines)  # noqa: E731
    return confidence >= LOW_CONFIDENCE and size(recognised) > size(layer)


def _recognise(data: bytes, numbers: list[int]):
    """Render the pages without a usable text layer at ocr.dpi() (pypdfium2, which pdfplumber
    brings) and read them with Tesseract (kb.extract.ocr)."""
    from kb.extract import ocr

    def render(n: int):
        def image():
            page = doc[n - 1]
            try:
                return page.render(scale=ocr.dpi() / 72, grayscale=True).to_pil()
            finally:
                page.close()
        return image

    import pypdfium2

    try:
        doc = pypdfium2.PdfDocument(data)
    except Exception as e:  # noqa: BLE001 - pdfminer read it; pdfium may still refuse it
        return ocr.Pages({}, {}, numbers, [f"страницы для распознавания не отрисовываются ({type(e).__name__}: {e})"[:300]])
    try:
        return ocr.recognise_pages([(n, render(n)) for n in numbers], dpi=ocr.dpi())
    finally:
        doc.close()
