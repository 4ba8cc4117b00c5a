"""DOCX with python-docx: paragraphs and tables in document order, headings by style."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from kb import config
from kb.errors import ExtractError, FileTooLarge, TooComplex
from kb.extract.clean import clean_chars, tidy_lines
from kb.extract.document import RawText

# Deflate cannot beat ~1030:1. Real DOCX parts compress at most ~23x (the test corpus's
# word/_rels/document.xml.rels; python-docx's own template styles ~32x): a big entry far
# beyond that is built to exhaust memory. Small entries may do as they like.
MAX_RATIO = 100
_RATIO_MIN_BYTES = 4 * 1024 * 1024
# libxml2's own bound without XML_PARSE_HUGE, which python-docx's parser does not set.
XML_MAX_DEPTH = 256

# Built-in heading styles are named in English whatever Word's language ("Heading 1"),
# user copies in Russian ("Заголовок 1"); ConsultantPlus exports mark headings "ConsPlusTitle".
_HEADING_STYLE = re.compile(r"heading|заголовок|title|название", re.IGNORECASE)
_PLACEHOLDER_TITLES = {"", "title", "заголовок", "document", "документ", "untitled", "без названия"}


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def check_zip_bomb(path: Path, data: bytes) -> None:
    """Refuse an archive whose declared unpacked size or compression ratio is absurd.

    `zipfile` never yields more than an entry's declared `file_size` (and checks the
    CRC), so the directory's sizes bound what parsing can unpack: checking them first,
    which costs milliseconds, is enough.
    """
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile:
        raise ExtractError(path, "повреждённый ZIP/DOCX-архив (corrupt zip)") from None
    total = sum(i.file_size for i in infos)
    if total > config.MAX_UNPACKED_BYTES:
        raise FileTooLarge(path, f"распакованный DOCX слишком велик: {_mb(total)} МБ > "
                                 f"{_mb(config.MAX_UNPACKED_BYTES)} МБ (zip bomb?; KB_MAX_UNPACKED_MB)")
    for i in infos:
        if i.file_size > _RATIO_MIN_BYTES and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            ratio = i.file_size // max(i.compress_size, 1)
            raise FileTooLarge(path, f"подозрительное сжатие в DOCX: {i.filename} сжат в {ratio} раз, "
                                     f"{_mb(i.compress_size)} -> {_mb(i.file_size)} МБ (zip bomb?)")


def _xml_refusal(path: Path, e: Exception) -> ExtractError | None:
    """libxml2's own refusals of hostile XML, said plainly; None for other errors."""
    msg = str(e)
    if "Excessive depth" in msg:
        return TooComplex(path, f"слишком глубокая вложенность XML в DOCX: больше {XML_MAX_DEPTH} "
                                "уровней (XML nesting too deep)")
    if "amplification" in msg or "entity reference loop" in msg:
        return TooComplex(path, "XML-сущности в DOCX раскрываются в огромный текст "
                                "(entity expansion, billion laughs)")
    return None


def _is_heading(paragraph) -> bool:
    try:
        name = paragraph.style.name or ""
    except (KeyError, AttributeError):
        name = ""
    if _HEADING_STYLE.search(name):
        return True
    # Direct formatting may set an outline level without a heading style.
    ppr = paragraph._p.pPr
    return ppr is not None and ppr.find(_qn("w:outlineLvl")) is not None


_SUPER_DIGITS = re.compile(r"\d{1,4}")


def _paragraph_text(paragraph) -> str:
    """The paragraph's text; a superscript number right after a digit becomes `.N`
    (article 91 with a superscript 12 is cited as 91.12). Other superscripts (m², Pᵢ) stay
    as Word joins them."""
    p = paragraph._p
    if not p.xpath('.//w:vertAlign[@w:val="superscript"]'):
        return paragraph.text
    from docx.text.hyperlink import Hyperlink

    parts: list[str] = []
    for item in paragraph.iter_inner_content():
        runs = item.runs if isinstance(item, Hyperlink) else [item]
        for run in runs:
            text = run.text
            if run.font.superscript and _SUPER_DIGITS.fullmatch(text.strip()) and parts and parts[-1][-1:].isdigit():
                text = "." + text.strip()
            if text:
                parts.append(text)
    return "".join(parts)


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _cell_text(tc, table) -> str:
    """One line for a cell: its paragraphs (and nested tables) joined by spaces."""
    parts = []
    for block in _blocks(tc, table):
        parts.extend(block if isinstance(block, list) else [block.text])
    return " ".join(" ".join(p.split()) for p in parts if p.strip())


def _table_lines(tbl, parent) -> list[str]:
    """Each row as `cell | cell | cell`; merged cells once, empty cells left out.

    Empty cells are mostly layout (ConsultantPlus frames its notes in `| | note |`);
    for search the words matter, not the column they sat in.
    """
    from docx.table import Table

    table = Table(tbl, parent)
    lines = []
    for tr in tbl.tr_lst:
        cells = []
        for tc in tr.tc_lst:
            # The continuation of a vertically merged cell repeats nothing.
            cells.append("" if tc.vMerge == "continue" else _cell_text(tc, table))
        cells = [c for c in cells if c]
        if cells:
            lines.append(" | ".join(cells))
    return lines


def _blocks(element, parent):
    """Items in document order: a `Paragraph`, or a table as a list of row lines.

    Walks the XML children, not `document.paragraphs`, so tables stay where they are
    and content controls (`w:sdt`) are not skipped.
    """
    from docx.text.paragraph import Paragraph

    for child in element.iterchildren():
        tag = child.tag
        if tag == _qn("w:p"):
            yield Paragraph(child, parent)
        elif tag == _qn("w:tbl"):
            yield _table_lines(child, parent)
        elif tag == _qn("w:sdt"):
            content = child.find(_qn("w:sdtContent"))
            if content is not None:
                yield from _blocks(content, parent)


def read_docx(path: Path, data: bytes) -> RawText:
    check_zip_bomb(path, data)
    import docx
    from lxml import etree

    try:
        document = docx.Document(io.BytesIO(data))
    except etree.XMLSyntaxError as e:
        raise _xml_refusal(path, e) or e
    lines: list[str] = []
    headings: list[str] = []
    for block in _blocks(document.element.body, document._body):
        if isinstance(block, list):
            lines.extend(clean_chars(line) for line in block)
            continue
        text = clean_chars(_paragraph_text(block))
        if _is_heading(block) and text.strip():
            # A heading is one line even when Word broke it with Shift+Enter.
            text = " ".join(text.split())
            headings.append(text)
        lines.append(text)
    title = " ".join((document.core_properties.title or "").split())
    if title.lower() in _PLACEHOLDER_TITLES or len(title) < 3:
        title = ""
    return RawText(pages=[tidy_lines("\n".join(lines))], title=title, headings=headings)
