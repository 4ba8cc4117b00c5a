"""Tables inside passage text, read back for people.

Extraction writes a table row as one line of cells joined by ` | ` (kb.extract.docx, html,
rtf): the words stay searchable, but `a | b | c` reads badly. Here such runs of lines become
a `<table>` on the document page and `Графа: значение; ...` rows in snippets.
"""

from __future__ import annotations

import re

SEP = " | "
_NUMBER = re.compile(r"^\d{1,3}(?:\.\d{1,3})*\.?$")
_NUMBER_HEAD = re.compile(r"^(?:№|N|No\.?|п/п|№ п/п|N п/п)$", re.I)
_SHORT = 30     # a lone short line between rows is a row of one cell (`2`, `4 и более`) of a merged column


def blocks(text: str) -> list[tuple[str, object]]:
    """The text as ("text", str) and ("table", rows) blocks, rows being lists of cells."""
    lines = text.split("\n")
    out: list[tuple[str, object]] = []
    buf: list[str] = []
    i = 0
    while i < len(lines):
        if SEP not in lines[i]:
            buf.append(lines[i])
            i += 1
            continue
        j, last = i, i
        while j < len(lines) and (SEP in lines[j] or 0 < len(lines[j].strip()) <= _SHORT):
            if SEP in lines[j]:
                last = j
            j += 1
        if any(SEP not in line for line in lines[i:last + 1]):
            # Rows of one short cell inside (a merged column's values) continue after the last
            # full row too: the last group's `2`, `3`, `4 и более`.
            while last + 1 < j:
                last += 1
        if buf:
            out.append(("text", "\n".join(buf)))
            buf = []
        out.append(("table", [[c.strip() for c in line.split(SEP)] for line in lines[i:last + 1]]))
        i = last + 1
    if buf:
        out.append(("text", "\n".join(buf)))
    return out


def _header(rows: list[list[str]], first_block: bool) -> list[str] | None:
    """The first row names the columns when the table begins in this text (not at its very
    start, where a passage may have cut a table in two) and some row has as many cells."""
    if first_block or len(rows) < 2 or len(rows[0]) < 2:
        return None
    head = rows[0]
    if any(len(r) == len(head) for r in rows[1:]) and all(len(c) <= 120 for c in head):
        return head
    return None


def readable(text: str) -> str:
    """The text with each table row written out as `Графа: значение; Графа: значение.`, one
    row a line; text without tables comes back unchanged."""
    if SEP not in text:
        return text
    parts = []
    for n, (kind, value) in enumerate(blocks(text)):
        if kind == "text":
            parts.append(value)
            continue
        rows = value
        head = _header(rows, n == 0)
        lines = []
        for r, row in enumerate(rows):
            if head and r == 0:
                continue
            cells = [c for c in row if c]
            # A leading row number (`1.`) under a header without a number column means a cell
            # spans columns (Word's gridSpan, lost at extraction): the names would be off by one.
            if head and len(row) == len(head) and not (_NUMBER.match(row[0]) and not _NUMBER_HEAD.match(head[0])):
                cells = [f"{h}: {c}" if h and c else c for h, c in zip(head, row) if c]
            line = "; ".join(cells)
            lines.append(line if line.endswith((".", ";", ":", "!", "?")) else line + ".")
        parts.append("\n".join(lines))
    return "\n".join(parts)


def table_html(rows: list[list[str]], cell_html, head: bool) -> str:
    """A `<table>` of the rows; `cell_html(text)` escapes and highlights a cell. A row shorter
    than the widest (merged or empty cells left out at extraction) spans its last cell over
    the rest."""
    width = max(len(r) for r in rows)
    out = ['<div class="table-wrap"><table class="doc-table">']
    for r, row in enumerate(rows):
        tag = "th" if head and r == 0 else "td"
        cells = []
        for c, cell in enumerate(row):
            span = width - len(row) + 1 if c == len(row) - 1 and len(row) < width else 1
            attr = f' colspan="{span}"' if span > 1 else ""
            cells.append(f"<{tag}{attr}>{cell_html(cell)}</{tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def text_html(text: str, cell_html) -> str:
    """The passage as HTML for the document page: its text through `cell_html` (escaping and
    highlighting), its tables as `<table>`."""
    if SEP not in text:
        return cell_html(text)
    out = []
    for n, (kind, value) in enumerate(blocks(text)):
        if kind == "text":
            out.append(cell_html(value))
        else:
            out.append(table_html(value, cell_html, _header(value, n == 0) is not None))
    return "".join(out)


__all__ = ["blocks", "readable", "table_html", "text_html"]
