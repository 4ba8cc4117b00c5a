"""Hostile and broken files for extraction tests, built on the fly (never stored): zip
bombs, nesting bombs, DOCX around any body."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def docx_bytes(body: bytes = "<w:p><w:r><w:t>Текст</w:t></w:r></w:p>".encode()) -> bytes:
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                i = data.index(b"<w:body>") + len(b"<w:body>")
                data = data[:i] + body + data[i:]
            z.writestr(item, data)
    return out.getvalue()


def docx_streamed(path: Path, paragraphs, total_bytes: int) -> None:
    """A DOCX whose document.xml holds `total_bytes` of `paragraphs()` chunks, written
    through the zip stream (the XML never sits whole in memory)."""
    base = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for item in base.infolist():
            data = base.read(item)
            if item.filename != "word/document.xml":
                z.writestr(item, data)
                continue
            i = data.index(b"<w:body>") + len(b"<w:body>")
            info = zipfile.ZipInfo("word/document.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as f:
                f.write(data[:i])
                written = 0
                while written < total_bytes:
                    chunk = paragraphs()
                    f.write(chunk)
                    written += len(chunk)
                f.write(data[i:])


def bomb_docx(path: Path) -> None:
    """The issue's bomb: ~400 MB of XML in a zip of ~1.5 MB."""
    block = b"<w:p><w:r><w:t>\xd0\xa1\xd0\xbb\xd0\xbe\xd0\xb2\xd0\xbe bomb</w:t></w:r></w:p>" * 20000
    docx_streamed(path, lambda: block, 400 * 1024 * 1024)


def text_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "Article 1. A page with a text layer.")
    c.showPage()
    c.save()
    return buf.getvalue()


def nested_html(levels: int, text: str = "глубоко") -> str:
    return "<html><body>" + "<div>" * levels + text + "</div>" * levels + "</body></html>"
