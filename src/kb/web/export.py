"""Results taken away: `/export` (CSV, XLSX, JSON files of passage rows) and `/feed` (Atom).

Both take the parameters of the results page (q, type, year, cites, category, region, sort,
since), run the search in kb.search, and only write the answer: rows are streamed, so an
export of MAX_ROWS passages holds one row at a time (XLSX: openpyxl's write-only workbook,
rows spooled to a temporary file, then streamed).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
import time
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, request, stream_with_context, url_for

from kb.search import Filters, newest
from kb.search.export import COLUMNS, export, plain
from kb.web import params
from kb.web.views import notice, stable_url

bp = Blueprint("export", __name__)

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CHUNK_ROWS = 200
FEED_ENTRIES = 20


def _filters(p: params.SearchParams) -> Filters:
    return Filters(doc_type=p.types, year=p.years, cites=p.cites, category=p.categories, region=p.regions,
                   lang=p.langs, since=p.since)


def _query(p: params.SearchParams) -> None:
    if not p.q:
        raise params.ParamError("пустой запрос: укажите параметр q", "empty query: give the q parameter")


@bp.get("/export")
def export_results():
    p = params.search_params(request.args)
    _query(p)
    fmt = params.choice(request.args, "format", "csv", tuple(FORMATS))
    if msg := notice():
        raise params.ParamError(msg.split(" (")[0], "nothing to export: the index has no documents yet")
    ex = export(current_app.config["KB_INDEX"], p.q, filters=_filters(p), sort=p.sort, exact=p.exact,
                copies=p.copies)

    def rows():
        for r in ex.rows():
            r["url"] = stable_url(r["doc_id"], r["anchor"], r["passage"], external=True)
            yield r

    body = {"csv": _csv, "json": _json, "xlsx": _xlsx}[fmt](rows(), ex)
    name = f"kb-{time.strftime('%Y%m%d-%H%M')}.{fmt}"
    resp = Response(stream_with_context(body), content_type=FORMATS[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["X-KB-Total-Hits"] = str(ex.total_hits)
    resp.headers["X-KB-Rows"] = str(ex.count)
    resp.headers["X-KB-Truncated"] = "1" if ex.truncated or ex.cut else "0"
    return resp


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What a spreadsheet may take for the start of a formula (OWASP, CSV injection): = + - @,
# a tab or a carriage return before one, and the full-width forms some spreadsheets read as them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _text(v):
    """A value without the control characters XLSX does not allow; None as an empty cell."""
    if v is None:
        return ""
    return _CONTROL.sub("", v) if isinstance(v, str) else v


def _csv_cell(v):
    """A CSV value: text a spreadsheet would run as a formula starts with an apostrophe, which
    the spreadsheet shows (a CSV cell has no other way to say "text"); `-5` in a title too."""
    v = _text(v)
    if isinstance(v, str) and v.startswith(FORMULA_START):
        v = "'" + v
    return v


def _csv(rows, ex):
    """UTF-8 with a BOM (so Excel reads Cyrillic), comma-separated, RFC 4180 quoting."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    w.writerow([head for head, _ in COLUMNS])
    n = 0
    for r in rows:
        w.writerow([_csv_cell(r[key]) for _, key in COLUMNS])
        n += 1
        if n % CHUNK_ROWS == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _text_cell(ws, v):
    """An XLSX cell: text is a string cell as it is, never a formula, with no apostrophe in
    it. openpyxl takes text starting with `=` for a formula, so the type is set by hand; text
    that looks like one is marked as typed with a leading apostrophe (quotePrefix), which the
    spreadsheet shows in no cell and which keeps it text when someone edits the cell."""
    from openpyxl.cell import WriteOnlyCell

    v = _text(v)
    if not isinstance(v, str):
        return v
    cell = WriteOnlyCell(ws, value=v)
    cell.data_type = "s"
    if v.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def _json(rows, ex):
    head = {"query": ex.query, "total_docs": ex.total_docs, "total_hits": ex.total_hits, "rows_max": ex.limit,
            "truncated": ex.truncated, "cut": ex.cut}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "rows": ['
    first = True
    for r in rows:
        row = {key: r[key] for _, key in COLUMNS} | {"doc_id": r["doc_id"], "passage": r["passage"]}
        yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=False)
        first = False
    yield "]}\n"


def _xlsx(rows, ex):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Результаты")
    for i, width in enumerate((50, 16, 7, 8, 9, 40, 60, 24, 80, 40)):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for head, _ in COLUMNS:
        cell = WriteOnlyCell(ws, value=head)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for r in rows:
        ws.append([_text_cell(ws, r[key]) for _, key in COLUMNS])
    info = wb.create_sheet("О выгрузке")
    for row in (("Запрос", ex.query), ("Документов", ex.total_docs), ("Фрагментов найдено", ex.total_hits),
                ("Строк в файле", ex.count), ("Предел строк", ex.limit),
                ("Обрезано", "да" if ex.truncated or ex.cut else "нет"),
                ("Выгружено", time.strftime("%Y-%m-%d %H:%M"))):
        info.append([_text_cell(info, v) for v in row])     # the query is the visitor's text
    with tempfile.TemporaryFile() as f:
        wb.save(f)
        f.seek(0)
        while chunk := f.read(1 << 16):
            yield chunk


ATOM = "http://www.w3.org/2005/Atom"


@bp.get("/feed")
def feed():
    """An Atom feed of the newest documents matching the search (by the date they were added to
    the collection); without q, of the whole collection under the filters."""
    p = params.search_params(request.args)
    index = current_app.config["KB_INDEX"]
    found = [] if notice() else newest(index, p.q, filters=_filters(p), limit=FEED_ENTRIES)
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "ru"})

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    args = p.url_args(page=1, sort="relevance")
    self_url = url_for("export.feed", _external=True, **args)
    sub(root, "id", self_url)
    sub(root, "title", f"kb: «{p.q}»" if p.q else "kb: новые документы")
    sub(root, "subtitle", "Новые документы коллекции" + (f" по запросу «{p.q}»" if p.q else "")
        + ", по дате добавления")
    stamps = [d.added for d, _ in found if d.added]
    sub(root, "updated", max(stamps) if stamps else "1970-01-01T00:00:00Z")
    sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    if p.q:
        sub(root, "link", rel="alternate", type="text/html", href=url_for("views.results", _external=True, **args))
    sub(sub(root, "author"), "name", "kb")
    sub(root, "generator", "kb")
    for d, hit in found:
        e = sub(root, "entry")
        sub(e, "id", url_for("views.doc", doc_id=d.doc_id, _external=True))
        sub(e, "title", d.title or d.path)
        sub(e, "updated", d.added or "1970-01-01T00:00:00Z")
        if d.added:
            sub(e, "published", d.added)
        link = stable_url(d.doc_id, hit.anchor, hit.ordinal, external=True) if hit else \
            url_for("views.doc", doc_id=d.doc_id, _external=True)
        sub(e, "link", rel="alternate", type="text/html", href=link)
        sub(e, "category", term=d.doc_type, label=d.doc_type)
        lines = [", ".join(x for x in (d.doc_type, str(d.year) if d.year else "", d.path) if x)]
        if hit:
            lines += [hit.citation, plain(hit.snippet)]
        sub(e, "summary", "\n".join(x for x in lines if x), type="text")
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    resp = Response(body, content_type="application/atom+xml; charset=utf-8")
    # Feed readers poll: the same feed is answered 304 (by ETag) until the index changes.
    resp.set_etag(hashlib.sha1(body).hexdigest())
    return resp.make_conditional(request)
