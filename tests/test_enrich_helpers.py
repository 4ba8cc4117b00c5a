"""Text of the real documents for the enrich tests (no tests here).

Uses `kb.extract.extract` when the format's reader exists; until then (the readers
are being written alongside) DOCX is read with python-docx, HTML with
BeautifulSoup, PDF with pdfplumber (first pages) and TXT as UTF-8 directly."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

_READER = {".docx": "kb.extract.docx", ".html": "kb.extract.html", ".htm": "kb.extract.html",
           ".pdf": "kb.extract.pdf", ".txt": "kb.extract.txt"}


@lru_cache(maxsize=64)
def doc_text(path: Path) -> tuple[str, str]:
    """(title, text) of a real file."""
    mod = _READER.get(path.suffix.lower())
    if mod and importlib.util.find_spec(mod) is not None:
        from kb.extract import extract

        doc = extract(path)
        return doc.title, "\n".join(doc.pages)
    suffix = path.suffix.lower()
    if suffix == ".docx":
        import docx

        text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    elif suffix in (".html", ".htm"):
        from bs4 import BeautifulSoup

        text = BeautifulSoup(path.read_bytes(), "lxml").get_text("\n")
    elif suffix == ".pdf":
        import pdfplumber

        with pdfplumber.open(path) as pdf:
            text = "\n".join((p.extract_text() or "") for p in pdf.pages[:3])
    else:
        text = path.read_text(encoding="utf-8")
    title = next((ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 3), path.stem)
    return title[:200], text
