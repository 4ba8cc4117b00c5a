"""Words broken by a hyphen at a line end: join them, or keep a real compound's hyphen.

The Russian dictionary decides: `Кыргыз-|стан` joins because `кыргызстан` is a word;
`Общественно-|политическая` keeps its hyphen because `общественно-политическая`
is a word and `общественнополитическая` is not.
"""

from __future__ import annotations

import re

from kb.morphology import is_known

_W = r"[А-Яа-яЁёA-Za-z]"
# A hyphen at a line end, the word going on at the start of the next line.
# Punctuation glued to the second half ("продажи,") moves up with it.
_LINE_BREAK = re.compile(rf"({_W}+)[-\u00ad\u2010‐][ \t]*\n[ \t]*({_W}+)(\S*)")
# The same break already flattened by an older tool into "word- word" (no space before the hyphen).
_FLATTENED = re.compile(rf"({_W}+)[-\u2010] ([а-яё]{_W}*)")


def decide(left: str, right: str) -> str | None:
    """The joined form of `left`-`right`, or None when it is no hyphenation (e.g. `ст.- 5`)."""
    if right[:1].isupper() and not left.isupper():
        # "Кыргыз-\nРеспублика": a new sentence or a name, not a broken word.
        return left + "-" + right
    joined = left + right
    # A compound the dictionary spells with a hyphen wins even when the joined form is
    # also "known": pymorphy3 accepts `гражданскоправовому` beside `гражданско-правовому`.
    if is_known(f"{left}-{right}"):
        return f"{left}-{right}"
    if is_known(joined):
        return joined
    if is_known(left) and is_known(right):
        return f"{left}-{right}"
    return joined


def join_line_breaks(text: str) -> str:
    """Join words split across lines by a hyphen; the line break moves after the word."""

    def repl(m: re.Match) -> str:
        return decide(m.group(1), m.group(2)) + m.group(3) + "\n"

    out = _LINE_BREAK.sub(repl, text)
    # "word\n " artefacts: the rest of the next line stays where it was, minus the moved word.
    return re.sub(r"\n[ \t]+", "\n", out)


def join_flattened(text: str) -> str:
    """Repair `Общественно- политическая` left by tools that joined lines with a space."""

    def repl(m: re.Match) -> str:
        left, right = m.group(1), m.group(2)
        # "кыргыз- и русскоязычные": a suspended hyphen before a conjunction stays.
        if right in ("и", "или", "а", "либо"):
            return m.group(0)
        return decide(left, right)

    return _FLATTENED.sub(repl, text)
