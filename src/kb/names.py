"""File names as text: corpora copied from old Windows archives hold names that are not UTF-8.

Python keeps such bytes as lone surrogates (U+DC80-U+DCFF), which open the file but cannot
be written as UTF-8: the index shows `display(name)` and stores the real name with `dumps`.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata

_SURROGATE = re.compile("[\udc80-\udcff]")
_CYRILLIC_RUN = re.compile(r"[А-Яа-яЁё№]+")


def readable(name: str | os.PathLike) -> str:
    """The name as text: as is when it is valid text; else each folder or file name with
    undecodable bytes read as cp1251 when that gives Russian words (a name from a Windows
    zip), else with U+FFFD for the bad bytes."""
    name = os.fspath(name)
    if _SURROGATE.search(name):
        name = "/".join(_guess(part) if _SURROGATE.search(part) else part for part in name.split("/"))
    return name


def display(name: str | os.PathLike) -> str:
    """`readable`, on one line: control characters (a newline in a file name) as escapes such
    as `\\n` (for reports and messages)."""
    name = readable(name)
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() or unicodedata.category(c) == "Zs" else repr(c)[1:-1] for c in name)


def _guess(part: str) -> str:
    raw = os.fsencode(part)
    try:
        guess = raw.decode("cp1251")
    except UnicodeDecodeError:
        guess = ""
    # Russian words: nothing beyond ASCII but Cyrillic letters, and at least one real word
    # (a lone byte such as 0xFF would read as "я").
    runs = re.findall(r"[^\x00-\x7f]+", guess)
    if runs and all(_CYRILLIC_RUN.fullmatch(r) for r in runs) and max(map(len, runs)) >= 3:
        return guess
    return raw.decode("utf-8", "replace")


def dumps(obj, **kw) -> str:
    """JSON text that also holds names with undecodable bytes: each lone surrogate becomes a
    `\\udcXX` escape (valid JSON, read back by `json.loads` as the same character)."""
    text = json.dumps(obj, ensure_ascii=False, **kw)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
