"""Tokenizer: words of Cyrillic, Latin and digits, with offsets into the original text.

Rules
- A word is a run of letters and digits; combining marks (stress U+0301) and
  invisible characters (soft hyphen, zero-width) inside it do not split it, so
  ``правово́е`` is one token whose surface keeps the mark and whose norm drops it.
- Digit groups joined by dots are one token: ``15.05.2013``, ``1.2``.
  A trailing dot is never part of a token: ``ст.`` -> ``ст``.
- Hyphenated compounds (``социально-экономических``, ``128-ФЗ``, ``Кыргыз-Түрк``)
  and letter/digit mixes (``2019г``) yield the whole compound AND its parts.
  The whole comes first and takes the position of its first part; the parts take
  consecutive positions p, p+1, ...  So an indexed ``социально-экономических
  развития`` has ``социально``@p ``экономических``@p+1 ``развития``@p+2 and the
  phrase ``"социально экономических развития"`` matches it; the whole term makes
  the compound findable as one word.  For PHRASE QUERIES the query side should use
  only the parts (drop tokens with ``is_compound(token)``), since the whole shares
  its position with the first part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._normal import COMBINING, INVISIBLE, normalize_token


@dataclass(frozen=True, slots=True)
class Token:
    surface: str  # exact slice of the original text
    norm: str  # normalised (see normalize())
    start: int  # text[start:end] == surface
    end: int
    pos: int  # position for phrase queries


_IN = f"{COMBINING}{INVISIBLE}"
# one alphanumeric run, with marks/invisibles inside (never leading)
_RUN = rf"[^\W_][^\W_{_IN}]*(?:[{_IN}]+[^\W_]+)*[{COMBINING}]*"
_HYPHEN = "-\u2010\u2011"
_TOKEN = re.compile(
    rf"\d+(?:\.\d+)+"  # dotted numbers and dates: 15.05.2013, 1.2 (15.05.2013г -> 15.05.2013 + г)
    rf"|{_RUN}(?:[{_HYPHEN}]{_RUN})*"  # words, possibly hyphenated compounds
)
_PART = re.compile(rf"{_RUN}")
_DIGIT_SPLIT = re.compile(r"\d+|[^\d]+")
_HAS_DIGIT = re.compile(r"\d")
_MAYBE_COMPOUND = re.compile(rf"[{_HYPHEN}\d]")


def is_compound(token: Token) -> bool:
    """True for the whole-compound token (it is followed by its parts)."""
    return any(h in token.norm for h in _HYPHEN) or _mixed(token.norm)


def _mixed(norm: str) -> bool:
    return _HAS_DIGIT.search(norm) is not None and any(c.isalpha() for c in norm)


def _parts(surface: str, start: int):
    """Sub-tokens of a compound surface: split at hyphens, then at letter/digit changes."""
    for m in _PART.finditer(surface):
        piece = m.group()
        if _HAS_DIGIT.search(piece) and any(c.isalpha() for c in piece):
            for d in _DIGIT_SPLIT.finditer(piece):
                yield d.group(), start + m.start() + d.start()
        else:
            yield piece, start + m.start()


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` with offsets into it and positions for phrases."""
    out: list[Token] = []
    append = out.append
    pos = 0
    for m in _TOKEN.finditer(text):
        surface = m.group()
        start = m.start()
        norm = normalize_token(surface)
        if not norm:
            continue
        compound = _MAYBE_COMPOUND.search(surface) is not None and (
            any(h in surface for h in _HYPHEN) or _mixed(norm)
        )
        if not compound:
            append(Token(surface, norm, start, m.end(), pos))
            pos += 1
            continue
        parts = list(_parts(surface, start))
        if len(parts) < 2:
            append(Token(surface, norm, start, m.end(), pos))
            pos += 1
            continue
        append(Token(surface, norm, start, m.end(), pos))
        for piece, pstart in parts:
            pnorm = normalize_token(piece)
            if pnorm:
                append(Token(piece, pnorm, pstart, pstart + len(piece), pos))
                pos += 1
    return out
