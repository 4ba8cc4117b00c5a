"""File names as text: corpora copied from old Windows archives hold names that are not UTF-8.

Python keeps such bytes as lone surrogates (U+DC80-U+DCFF), which open the file but cannot
be written as UTF-8: the index shows `display(name)` and stores the real name with `dumps`.
"""

from __future__ import annotations

import json
import os
import re

_SURROGATE = re.compile("[\udc80-\udcff]")
_CYRILLIC = re.compile(r"[А-Яа-яЁё№]")


def display(name: str) -> str:
    """The name fit to show: as is when it is valid text; else its bytes read as cp1251
    when that gives Russian letters (a name from a Windows zip), else with U+FFFD for bad bytes."""
    if not _SURROGATE.search(name):
        return name
    raw = os.fsencode(name)
    try:
        guess = raw.decode("cp1251")
    except UnicodeDecodeError:
        guess = ""
    non_ascii = [ch for ch in guess if ord(ch) > 127]
    if non_ascii and all(_CYRILLIC.match(ch) for ch in non_ascii):
        return guess
    return raw.decode("utf-8", "replace")


def dumps(obj, **kw) -> str:
    """JSON text that also holds names with undecodable bytes: each lone surrogate becomes a
    `\\udcXX` escape (valid JSON, read back by `json.loads` as the same character)."""
    text = json.dumps(obj, ensure_ascii=False, **kw)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
