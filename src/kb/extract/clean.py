"""Character-level clean-up shared by every reader."""

from __future__ import annotations

import re

# Symbol-font bullets land in the Private Use Area (Wingdings/Symbol via Word): U+F0A7, U+F0B7, ...
_PUA = re.compile("[\uf000-\uf0ff\ue000-\uf8ff]")
_CID = re.compile(r"\(cid:\d+\)")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_LIGATURES = str.maketrans({
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st",
})
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_chars(text: str) -> str:
    """Normalise one page or line: bullets, junk glyph ids, ligatures, odd spaces and controls."""
    text = _CID.sub("", text)
    text = _PUA.sub("•", text)
    text = _ZERO_WIDTH.sub("", text)
    text = text.translate(_LIGATURES)
    text = _CTRL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _SPACES.sub(" ", text)


def tidy_lines(text: str) -> str:
    """Strip each line, and keep at most one empty line in a row."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
