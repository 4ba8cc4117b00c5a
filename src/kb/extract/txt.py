"""Plain text: detect the encoding, then repair what older extraction tools left behind."""

from __future__ import annotations

import codecs
import math
from pathlib import Path

from kb.errors import ExtractError
from kb.extract.clean import clean_chars, tidy_lines
from kb.extract.document import RawText
from kb.extract.doubled import repair_doubled
from kb.extract.hyphens import join_flattened, join_line_breaks

# Letter frequencies of Russian prose (per cent). Scoring single-byte decodings by them
# tells cp1251 from koi8-r and cp866 even on a line of text, where charset_normalizer
# often guesses wrong: a wrong code page turns common lowercase letters into rare or
# uppercase ones.
_FREQ = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47,
    "р": 4.73, "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81,
    "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59,
    "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48,
    "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.04,
}
_WEIGHT = {c: math.log(1 + f) for c, f in _FREQ.items()}
_SINGLE_BYTE = ("cp1251", "koi8-r", "cp866")
_SAMPLE = 64 * 1024


class NotText(ExtractError):
    """Bytes that are no text in any encoding kb reads."""


def _score(text: str) -> float:
    """How much `text` looks like Russian: frequent letters score, oddities cost.

    Case is ignored for the frequencies (so `ЗАКОН` in capitals is still recognised)
    but a capital right after a small letter costs: koi8-r and cp1251 differ in
    exactly the case bit, so the wrong one gives `оПХБЕР` for `Привет`.
    """
    score = 0.0
    prev = ""
    for c in text:
        if c < "\x80":
            prev = c
            continue
        w = _WEIGHT.get(c.lower())
        if w is None:
            score -= 2.0  # pseudo-graphics, symbols, Latin-1 letters: a wrong code page
        else:
            score += w
            if c.isupper() and prev.islower():
                score -= 3.0
        prev = c
    return score


def _western(text: str) -> bool:
    """High characters mostly glued to Latin letters (`Café`): not Russian in any code page."""
    high = touching = 0
    for i, c in enumerate(text):
        if c >= "\x80":
            high += 1
            near = text[i - 1:i] + text[i + 1:i + 2]
            touching += any("a" <= x.lower() <= "z" for x in near)
    return high > 0 and touching > high / 2


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a BOM: one byte of every pair is mostly 0x00 or 0x04."""
    if len(data) < 2 or len(data) % 2:
        return None
    sample = data[:_SAMPLE - _SAMPLE % 2]
    for enc, hi in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        common = sum(1 for b in hi if b in (0x00, 0x04))
        if common >= 0.9 * len(hi):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            printable = sum(1 for c in text[:_SAMPLE] if c.isprintable() or c in "\r\n\t")
            if printable >= 0.95 * len(text[:_SAMPLE]):
                return text
    return None


def _looks_binary(data: bytes) -> bool:
    sample = data[:_SAMPLE]
    if sample.count(0) > len(sample) // 100:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 26, 27))
    return controls > max(1, len(sample) // 20)


def decode_text(data: bytes, path: Path | str = "") -> tuple[str, str]:
    """(text, encoding name) of text bytes; raises `NotText` for binary data."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    text = _utf16_without_bom(data)
    if text is not None:
        return text, "utf-16"
    if _looks_binary(data):
        raise NotText(path, "не текстовый файл: двоичные данные (binary data, not text)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:_SAMPLE]
    decoded = {enc: sample.decode(enc, errors="replace") for enc in _SINGLE_BYTE}
    best = max(decoded, key=lambda enc: _score(decoded[enc]))
    if _western(decoded[best]):
        # Western European text: the generic detector knows those code pages, given enough
        # text; on a few words it guesses wildly (cp1250 for French), so cp1252 then.
        if len(sample) >= 1024:
            from charset_normalizer import from_bytes

            match = from_bytes(sample).best()
            if match is not None:
                return data.decode(match.encoding, errors="replace"), match.encoding
        return data.decode("cp1252", errors="replace"), "cp1252"
    return data.decode(best, errors="replace"), best


def read_txt(path: Path, data: bytes) -> RawText:
    text, _encoding = decode_text(data, path)
    text = clean_chars(text)
    text, headings = repair_doubled(text)
    text = join_flattened(join_line_breaks(text))
    return RawText(pages=[tidy_lines(text)], headings=headings)
