"""One call that gives the index what enrich knows about a document."""

from __future__ import annotations

import re
from pathlib import Path

from kb.extract import Document


def _guess_type(title: str, text: str, rel: str) -> str:
    head = (title + "\n" + text[:3000]).upper()
    if re.search(r"\b(КОДЕКС|ЗАКОН|ПОСТАНОВЛЕНИЕ|УКАЗ|ПРИКАЗ|ПИСЬМО|КОНСТИТУЦИЯ|РАСПОРЯЖЕНИЕ)\b", head):
        return "нормативный акт"
    if "ОТЧЕТ" in head.replace("Ё", "Е"):
        return "отчёт"
    if "ИССЛЕДОВАНИЕ" in head:
        return "исследование"
    return "другое"


def describe(doc: Document, rel: str, corpus: Path) -> dict:
    """title, doc_type, year, meta (and citations when known) for one document."""
    text = doc.text
    years = [int(d[:4]) for d in doc.dates]
    return {
        "title": doc.title,
        "doc_type": _guess_type(doc.title, text, rel),
        "year": years[0] if years else None,
        "meta": {},
    }
