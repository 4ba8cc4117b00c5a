"""HTML: the visible text, one line per block element, in the document's own charset.

Before BeautifulSoup builds its tree (~600 bytes and ~65 µs an element here), a pre-scan
with the same parser counts elements and nesting and refuses a file beyond either bound:
a 50 MB file of nested tags used to take minutes and gigabytes before a RecursionError.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from kb import config
from kb.errors import TooComplex
from kb.extract.clean import clean_chars, tidy_lines
from kb.extract.document import RawText
from kb.extract.txt import decode_text

# Never shown to a reader (or shown on every page of a site, which is no content).
_DROP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "template",
         "head", "iframe", "object", "embed", "svg", "canvas", "select", "button", "map"}
_BLOCK = {"address", "article", "blockquote", "body", "caption", "center", "dd", "details",
          "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "form", "h1", "h2",
          "h3", "h4", "h5", "h6", "hr", "legend", "li", "main", "ol", "p", "pre", "section",
          "summary", "table", "tbody", "thead", "tfoot", "tr", "ul"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# pravo.gov.ru (Word-exported) marks its title `p.T` and its chapter/article headings `p.H`
# instead of h1-h6; Word's own HTML export uses MsoTitle.
_HEADING_CLASSES = {"T", "H", "MsoTitle"}
_TITLE_CLASSES = {"T", "MsoTitle"}
# <title> values that name no document: pravo.gov.ru puts "Complex" in every page.
_PLACEHOLDER_TITLES = {"complex", "document", "документ", "untitled", "без названия",
                       "new document", "новый документ", "title"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# Superscripts: <sup>, an inline `vertical-align: super`, or a class whose rule in <style>
# says so (pravo.gov.ru writes `Статья 91<span class="W9">12</span>`).
_SUPER_STYLE = re.compile(r"vertical-align\s*:\s*super", re.IGNORECASE)
_SUPER_CLASS = re.compile(r"\.([\w-]+)\s*\{[^{}]*vertical-align\s*:\s*super", re.IGNORECASE)
_SUPER_DIGITS = re.compile(r"\d{1,4}")
_WS = re.compile(r"[ \t\n\r\f]+")
# Real pages nest 5-6 levels (pravo.gov.ru), hand-made ones a few dozen; the walker
# recurses two frames a level, well inside Python's 1,000.
MAX_DEPTH = 256
_CHUNK = 1 << 20


def _too_deep(path: Path) -> TooComplex:
    return TooComplex(path, f"слишком глубокая вложенность HTML: больше {MAX_DEPTH} уровней "
                            "(nesting too deep)")


class _Shape:
    """An lxml parser target that only counts. Raising from `start` stops the parser at
    once, so a bomb costs what was read up to the first bound passed."""

    def __init__(self, path: Path, max_elements: int):
        self.path, self.max_elements = path, max_elements
        self.elements = self.depth = 0

    def start(self, tag, attrib):
        self.elements += 1
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _too_deep(self.path)
        if self.elements > self.max_elements:
            raise TooComplex(self.path, f"слишком много элементов HTML: больше {self.max_elements} "
                                        "(too many elements; KB_HTML_MAX_ELEMENTS)")

    def end(self, tag):
        self.depth -= 1

    def data(self, data):
        pass

    def comment(self, text):
        pass

    def close(self):
        return None


def check_shape(path: Path, text: str) -> None:
    """Refuse HTML nested deeper than MAX_DEPTH or with more than KB_HTML_MAX_ELEMENTS
    elements. libxml2's HTML parser is the one BeautifulSoup's "lxml" builder drives, so
    its start and end events are the tree BeautifulSoup would build, implied end tags
    (`<p>`, `<li>`) included."""
    from lxml import etree

    parser = etree.HTMLParser(target=_Shape(path, config.HTML_MAX_ELEMENTS), recover=True)
    try:
        for i in range(0, len(text), _CHUNK):
            parser.feed(text[i:i + _CHUNK])
        parser.close()
    except etree.LxmlError:
        pass            # a syntax problem is BeautifulSoup's to live with, not a bound


def declared_charset(data: bytes) -> str | None:
    """The charset named in `<meta charset>` or `<meta http-equiv content="...; charset=">`."""
    m = _META_CHARSET.search(data[:8192])
    if not m:
        return None
    name = m.group(1).decode("ascii", "replace").lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(data: bytes) -> str:
    """The page's text: BOM, then valid UTF-8, then the declared charset, then detection.

    Non-ASCII bytes that are valid UTF-8 are practically never text in a single-byte code
    page, while pages re-saved as UTF-8 often keep their old `windows-1251` declaration.
    """
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data)[0]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = declared_charset(data)
    if declared and declared not in ("utf-8", "utf-16"):
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass
    return decode_text(data)[0]


def _classes(tag) -> set[str]:
    return set(tag.get("class") or [])


def _hidden(tag) -> bool:
    if tag.name in _DROP or tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
        return True
    style = tag.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


class _Walker:
    """Collects text: blocks start new lines, `<br>` breaks, table cells are joined by ` | `."""

    def __init__(self, path: Path, super_classes: frozenset[str] = frozenset()):
        self.path = path
        self.parts: list[str] = []
        self.headings: list[str] = []
        self.depth = 0
        self.super_classes = super_classes

    def _superscript(self, tag) -> bool:
        if tag.name == "sup":
            return True
        style = tag.get("style")
        return bool(style and _SUPER_STYLE.search(style)) or bool(_classes(tag) & self.super_classes)

    def _after_digit(self) -> bool:
        last = next((p for p in reversed(self.parts) if p), "")
        return last[-1:].isdigit()

    def newline(self):
        # Whitespace between two blocks is no text: without this, it makes empty lines.
        while self.parts and self.parts[-1] != "\n" and not self.parts[-1].strip():
            self.parts.pop()
        if self.parts and self.parts[-1] != "\n":
            self.parts.append("\n")

    def walk(self, node, pre: bool = False):
        from bs4 import NavigableString, Tag
        from bs4.element import CData

        if self.depth >= MAX_DEPTH:
            raise _too_deep(self.path)      # check_shape passed it: a safety net, not the rule
        self.depth += 1
        for child in node.children:
            if isinstance(child, Tag):
                self.tag(child, pre)
            elif isinstance(child, NavigableString):
                # Comments, doctypes, processing instructions and <![if ...]> are no text.
                if type(child) is NavigableString or isinstance(child, CData):
                    self.parts.append(str(child) if pre else _WS.sub(" ", str(child)))
        self.depth -= 1

    def tag(self, tag, pre: bool):
        name = tag.name
        if _hidden(tag):
            return
        if name == "br":
            self.parts.append("\n")
            return
        if name in ("td", "th"):
            first, mark = self._row_start, len(self.parts)
            if not first:
                self.parts.append(" | ")
            self._row_start = False
            start = len(self.parts)
            self.walk(tag, pre)
            if not "".join(self.parts[start:]).strip():
                # Empty cells are layout, as in DOCX: no `a | | b`.
                del self.parts[mark:]
                self._row_start = first
                return
            # A cell is one line of its row: its own blocks and breaks become spaces.
            self.parts[start:] = [" " if p == "\n" else p for p in self.parts[start:]]
            return
        if self._superscript(tag) and self._after_digit():
            sup = tag.get_text().strip()
            if _SUPER_DIGITS.fullmatch(sup):
                # Article 91 with a superscript 12 is article 91.12, as it is cited.
                self.parts.append("." + sup)
                return
        block = name in _BLOCK
        if block:
            self.newline()
        if name == "tr":
            self._row_start = True
        start = len(self.parts)
        self.walk(tag, pre or name == "pre")
        if name in _HEADINGS or (name == "p" and _classes(tag) & _HEADING_CLASSES):
            text = " ".join("".join(self.parts[start:]).split())
            if text:
                self.headings.append(text)
        if block:
            self.newline()

    _row_start = False


def _title(soup, headings_first_h1: str | None) -> str:
    tag = soup.find("title")
    title = " ".join(tag.get_text().split()) if tag else ""
    if title.lower() not in _PLACEHOLDER_TITLES and len(title) >= 3:
        return title
    if headings_first_h1:
        return headings_first_h1
    for p in soup.find_all("p", limit=200):
        if _classes(p) & _TITLE_CLASSES:
            text = " ".join(p.get_text(" ").split())
            if text:
                return text
    return ""


def read_html(path: Path, data: bytes) -> RawText:
    from bs4 import BeautifulSoup

    text = decode_html(data)
    check_shape(path, text)
    soup = BeautifulSoup(text, "lxml")
    h1 = soup.find("h1")
    title = _title(soup, " ".join(h1.get_text(" ").split()) if h1 else None)
    styles = " ".join(t.get_text() for t in soup.find_all("style"))
    walker = _Walker(path, frozenset(_SUPER_CLASS.findall(styles)))
    walker.walk(soup.body or soup)
    text = "".join(walker.parts)
    return RawText(pages=[tidy_lines(clean_chars(text))], title=title,
                   headings=[clean_chars(h).strip() for h in walker.headings])
