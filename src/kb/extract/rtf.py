"""RTF, the format Kyrgyz legal databases export, through striprtf.

RTF is 7-bit: Cyrillic comes as `\\'xx` bytes of the code page named by `\\ansicpgNNNN`
(or by a font's `\\fcharset`), or as `\\uNNNN` code points; striprtf decodes both.
Some writers put raw 8-bit bytes in the file instead, so the bytes are read with the
declared code page (UTF-8 when they are valid UTF-8) before striprtf sees them.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from kb.extract.clean import clean_chars, tidy_lines
from kb.extract.document import RawText

_ANSICPG = re.compile(rb"\\ansicpg(\d+)")
_TITLE = re.compile(r"\{\\title\s*((?:[^{}\\]|\\.[^{}\\\s]*\s?)*)\}")


def _codepage(data: bytes) -> str:
    m = _ANSICPG.search(data[:4096])
    if m:
        enc = f"cp{int(m.group(1))}"
        try:
            codecs.lookup(enc)
            return enc
        except LookupError:
            pass
    # No declaration: Russian fonts (\fcharset204) say cp1251, else RTF's default ANSI.
    return "cp1251" if b"\\fcharset204" in data[:65536] else "cp1252"


def read_rtf(path: Path, data: bytes) -> RawText:
    from striprtf.striprtf import rtf_to_text

    codepage = _codepage(data)
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        source = data.decode(codepage, errors="replace")
    text = rtf_to_text(source, encoding=codepage, errors="replace")
    title = ""
    m = _TITLE.search(source[:65536])
    if m:
        header = source[: source.find("{", 1)] if source.find("{", 1) > 0 else "{\\rtf1"
        title = " ".join(rtf_to_text(header + m.group(1) + "}", encoding=codepage,
                                     errors="replace").split())
    # striprtf gives table cells as `text|`: a row reads `a| b|`, make it `a | b`.
    text = re.sub(r"[ \t]*\|[ \t]*", " | ", text)
    text = re.sub(r"(?m)^ \| | \|[ ]?$", "", text)
    return RawText(pages=[tidy_lines(clean_chars(text))], title=title)
