"""Dates written in Russian documents, normalised to ISO 8601."""

from __future__ import annotations

import re

MONTHS = {
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6,
    "июл": 7, "август": 8, "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
}
_MONTH_RE = r"(январ[ьяе]|феврал[ьяе]|марта?|марте|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|августа?|августе|сентябр[ьяе]|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе])"
_WORDS = re.compile(r"\b(\d{1,2})\s+" + _MONTH_RE + r"\s+(\d{4})\b", re.IGNORECASE)
_DOTTED = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _month(word: str) -> int:
    w = word.lower()
    for stem, n in MONTHS.items():
        if w.startswith(stem) and (stem != "ма" or w in ("май", "мая", "мае")):
            return n
    return 0


def _iso(y: int, m: int, d: int) -> str | None:
    if 1900 <= y <= 2100 and 1 <= m <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return None


def find_dates(text: str, limit: int = 50) -> list[str]:
    """Distinct dates in order of first appearance, as YYYY-MM-DD."""
    found: list[tuple[int, str]] = []
    for m in _WORDS.finditer(text):
        iso = _iso(int(m.group(3)), _month(m.group(2)), int(m.group(1)))
        if iso:
            found.append((m.start(), iso))
    for m in _DOTTED.finditer(text):
        iso = _iso(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if iso:
            found.append((m.start(), iso))
    for m in _ISO.finditer(text):
        iso = _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            found.append((m.start(), iso))
    seen: dict[str, None] = {}
    for _, iso in sorted(found):
        seen.setdefault(iso, None)
        if len(seen) >= limit:
            break
    return list(seen)
