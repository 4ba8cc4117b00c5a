"""Normalisation of text and tokens: NFKC, lowercase, ё -> е, Kyrgyz letters folded,
combining marks removed.

Stress marks (U+0301) and other combining marks go; the letters that Russian and
Kyrgyz spell with a diacritic (й, ё, ң, ө, ү) survive as letters, then ё becomes е and
the Kyrgyz ө ү ң become о у н: Kyrgyz names are as often typed with Russian letters
(`айыл окмоту` for `айыл өкмөтү`), so both spellings must meet in index and query.
"""

from __future__ import annotations

import re
import unicodedata

# Combining marks (general category Mn/Me in the blocks that matter for
# Cyrillic and Latin text) and invisible in-word characters that PDFs and Word
# leave behind: soft hyphen, zero-width space/joiners, word joiner, BOM.
COMBINING = (
    "\u0300-\u036f"  # combining diacritical marks (stress U+0301, diaeresis U+0308, breve U+0306)
    "\u0483-\u0489"  # Cyrillic combining marks (titlo etc.)
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
)
INVISIBLE = "\u00ad\u200b-\u200d\u2060\ufeff"

_MARKS = re.compile(f"[{COMBINING}{INVISIBLE}]")
# Fast path: a token made only of these needs no Unicode normalisation.
_PLAIN = re.compile(r"[0-9a-zA-Zа-яА-ЯёЁ.\-]*\Z")
_cache: dict[str, str] = {}
# Matching only: the text shown keeps its letters (tokens keep their surface).
_KYRGYZ = str.maketrans("өүңӨҮҢ", "оунОУН")


def fold_kyrgyz(text: str) -> str:
    """ө ү ң -> о у н (either case), the letters a Russian keyboard types for them."""
    return text.translate(_KYRGYZ)


def _slow(text: str) -> str:
    # Compose first, so that и + breve -> й and е + diaeresis -> ё stay letters
    # (and NFKC folds ligatures, full-width and superscript forms) ...
    text = unicodedata.normalize("NFKC", text)
    # ... then decompose what is left with a mark (é -> e + ´, е + ´ stays two
    # characters since Cyrillic has no precomposed stressed vowels) and drop the marks,
    # keeping й and ё whole.
    out = []
    for ch in text:
        if ch in "йЙёЁ" or ch.isascii():
            out.append(ch)
            continue
        out.append(unicodedata.normalize("NFD", ch))
    text = _MARKS.sub("", "".join(out))
    return fold_kyrgyz(text.lower().replace("ё", "е").replace("\u2010", "-"))


def normalize(text: str) -> str:
    """NFKC, lowercase, ё -> е, ө ү ң -> о у н, stress and other combining marks removed."""
    if _PLAIN.match(text):
        return text.lower().replace("ё", "е")
    return _slow(text)


def normalize_token(surface: str) -> str:
    """normalize() with a per-surface cache (tokens repeat a lot)."""
    norm = _cache.get(surface)
    if norm is None:
        if len(_cache) > 500_000:
            _cache.clear()
        norm = _cache[surface] = normalize(surface)
    return norm
