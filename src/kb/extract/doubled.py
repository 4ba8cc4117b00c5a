"""Repair text extracted earlier by tools that printed every glyph of bold text twice.

PDFs fake bold by drawing each glyph twice; a naive extractor then writes
`ВВВВЕЕДДЕЕННИИЕЕ..` for `ВВЕДЕНИЕ.`, `22001199` for `2019` and two spaces for one.
Such a line collapses back only when the evidence is overwhelming: every token of
the line is made of pairs of equal characters and at least one token is a real
word (three letters or more once collapsed). Ordinary words with double letters
(`ссуда`, `Аллея`, `2009`, `Ассамблея`) break the pair pattern and are never
touched, nor are short lines such as a page number `11`.

Two leniencies, both seen in the real report: a leading section number printed
once (`1.1. ООББЩЩЕЕ...`) stays as it is, and single punctuation inside a doubled
token (`ИИННТТЕЕРРББИИЛЛИИММ:`) is kept once.
"""

from __future__ import annotations

import re

from kb.extract.hyphens import decide

# A section number printed once before a doubled heading: `1.1.`, `2.`, `IV.`.
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.)$")
# A collapsed heading that starts a new section (so it is never glued to the one above).
_STARTS_SECTION = re.compile(r"^(?:\d+(?:\.\d+)*[A-Za-zА-Яа-я]?\.|[IVXLC]+\.)\s")
# "ОБЩЕСТВЕННО- ПОЛИТИЧЕСКАЯ" inside a heading: the hyphen's space is an artefact of wrapping.
_CAPS_FLATTENED = re.compile(r"([А-ЯЁA-Z]+)- ([А-ЯЁA-Z]+)")
_MIN_WORD = 3


def collapse_token(token: str) -> str | None:
    """The token with each pair of equal characters written once, or None if it is not doubled.

    Letters and digits must come in pairs; punctuation may come in pairs or alone.
    """
    out = []
    i, n = 0, len(token)
    while i < n:
        c = token[i]
        if i + 1 < n and token[i + 1] == c:
            out.append(c)
            i += 2
        elif not c.isalnum():
            out.append(c)
            i += 1
        else:
            return None
    collapsed = "".join(out)
    # A token of punctuation only (`--`, `«`) proves nothing either way; it must have pairs.
    return collapsed if len(collapsed) < len(token) else None


def _longest_letter_run(text: str) -> int:
    best = run = 0
    for c in text:
        run = run + 1 if c.isalpha() else 0
        best = max(best, run)
    return best


def collapse_line(line: str) -> str | None:
    """The repaired line when every token of it is doubled, else None (the line is left alone)."""
    tokens = line.split()
    if not tokens:
        return None
    keep_first = None
    if len(tokens) > 1 and _NUMBERING.match(tokens[0]) and collapse_token(tokens[0]) is None:
        keep_first, tokens = tokens[0], tokens[1:]
    collapsed = []
    for tok in tokens:
        c = collapse_token(tok)
        if c is None:
            return None
        collapsed.append(c)
    if max(_longest_letter_run(c) for c in collapsed) < _MIN_WORD:
        return None
    if keep_first:
        collapsed.insert(0, keep_first)
    text = " ".join(collapsed)
    return _CAPS_FLATTENED.sub(lambda m: decide(m.group(1), m.group(2)), text)


def _continues(prev: str, nxt: str) -> bool:
    """Whether collapsed line `nxt` is the wrapped rest of heading `prev`."""
    if _STARTS_SECTION.match(nxt) or prev.rstrip().endswith((".", "!", "?")):
        return False
    # A heading in capitals goes on only in capitals (`КОНТАКТЫ:` / `Головной офис` are two).
    return prev.isupper() == nxt.isupper()


def repair_doubled(text: str) -> tuple[str, list[str]]:
    """Collapse doubled lines; a heading wrapped over several lines becomes one line.

    Returns the text and the repaired headings in order.
    """
    lines = text.split("\n")
    out: list[str] = []
    headings: list[str] = []
    # Index in `out` of the last collapsed heading, while only blank lines follow it.
    open_heading: int | None = None
    blanks = 0
    for line in lines:
        fixed = collapse_line(line)
        if fixed is None:
            if line.strip():
                open_heading = None
            else:
                blanks += 1
            out.append(line)
            continue
        if open_heading is not None and blanks <= 2 and _continues(out[open_heading], fixed):
            out[open_heading] = out[open_heading].rstrip() + " " + fixed
            headings[-1] = out[open_heading]
            # The blank lines between the parts of the heading go too.
            del out[open_heading + 1:]
        else:
            out.append(fixed)
            headings.append(fixed)
            open_heading = len(out) - 1
        blanks = 0
    return "\n".join(out), headings
