"""Small text helpers shared by the enrich modules."""

from __future__ import annotations

import re

from kb.extract.dates import find_dates

_TOKEN = re.compile(r"\S+")


def norm(s: str) -> str:
    """Lower case, ё -> е, collapsed spaces: the form names and keys are compared in."""
    return re.sub(r"\s+", " ", s.replace("ё", "е").replace("Ё", "Е").lower()).strip()


def _undouble_token(tok: str) -> str:
    # Bold text drawn twice comes out of old PDF extractors as "ВВВВЕЕДДЕЕННИИЕЕ":
    # every character repeated. Collapse only when the whole token is made of pairs.
    if len(tok) >= 4 and len(tok) % 2 == 0 and all(tok[i] == tok[i + 1] for i in range(0, len(tok), 2)):
        return tok[::2]
    return tok


def undouble(line: str) -> str:
    """Undo doubled-character headings (`ООББЩЩЕЕ` -> `ОБЩЕ`) token by token."""
    return _TOKEN.sub(lambda m: _undouble_token(m.group(0)), line)


def head_lines(text: str, n: int = 40, max_chars: int = 6000) -> list[str]:
    """The first `n` non-empty lines, stripped and undoubled."""
    out = []
    for line in text[:max_chars].splitlines():
        line = undouble(line.strip())
        if line:
            out.append(line)
            if len(out) >= n:
                break
    return out


def one_date(s: str) -> str | None:
    """The first date written in `s` as ISO, or None (accepts `6 мая 2011 г.`, `06.05.2011`)."""
    found = find_dates(s, limit=1)
    return found[0] if found else None
