"""Recognition of page images with Tesseract (Debian's `tesseract-ocr`, `-rus`, `-kir`).

Why the command line and not a binding: pytesseract runs this same program; calling it
directly costs no dependency and lets the program die with its worker (`kb.procs`), so a
worker killed for its time does not leave a Tesseract running.

Choices measured on the fixtures of tests/ocr_fixtures.py (bench/ocr.py):
- `kir+rus+eng`, Kyrgyz first: Tesseract reads each word with the first language and tries
  the others only on doubtful words, so with `rus` first a clear `өкмөтү` comes out as
  `екмету` (Kyrgyz word recall 79 %), while Kyrgyz first keeps ң ө ү and reads Russian as
  well (the Kyrgyz alphabet holds the Russian one; CER 0.07 % Russian, 0.34 % Kyrgyz on
  damaged pages). Three languages cost no more than one.
- 200 dpi for rendered PDF pages: CER 0.18 % on a full damaged page against 0.27 % at 150
  and 0 at 300, at 2.4 CPU s a page against 3.1 at 300.
- OMP_THREAD_LIMIT=1: Tesseract's OpenMP threads on a busy 2-core machine made a page 2.5
  times slower (18.8 s against 7.1 s); parallelism comes from the extraction pool's
  processes, one page per core.
- Text and confidence from one run (`tsv`): each word's confidence, weighted by its length,
  gives the page's confidence; below LOW_CONFIDENCE the page is reported.
- Orientation: a page that reads badly is checked with Tesseract's orientation detection
  (`--psm 0`, only then) and read again turned upright. Small skews Tesseract's own line
  finding absorbs: CER 0.36 % at 3 degrees, 2.2 % at 5 on a damaged Russian page. A page lying on its side is slow (~45 s here: the
  first, failed reading costs most of it).
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from kb import config
from kb.extract import budget
from kb.procs import dies_with_us

LANGUAGES = "kir+rus+eng"      # KB_OCR_LANGUAGES overrides (bench/ocr.py --langs)
DPI = 200                      # KB_OCR_DPI overrides (bench/ocr.py --dpi)
LOW_CONFIDENCE = 60.0
# A page image larger than this (pixels, the longer side) is scaled down first: an A4 page at
# 300 dpi is 3508 px; a 48-megapixel phone photo would only cost time.
MAX_SIDE = 3600
# One page never runs longer than this, whatever the file's budget.
PAGE_SECONDS = 120.0


@dataclass
class Recognised:
    """The text of one page image, its confidence (0-100, 0 without words) and how far it
    was turned to read it (degrees, clockwise)."""

    lines: list[str]
    confidence: float
    words: int
    rotated: int = 0


class OcrUnavailable(Exception):
    """Tesseract or its Russian data is not installed: the message says what to install."""


class OcrTimeout(Exception):
    """The file's time budget (KB_FILE_SECONDS) ran out before this page."""


class OcrFailed(Exception):
    """Tesseract could not read this image (its message, shortened)."""


@functools.lru_cache(maxsize=1)
def _setup() -> tuple[str, str]:
    """(program, languages) or raise OcrUnavailable; looked up once per process."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise OcrUnavailable("распознавание недоступно: не установлен tesseract "
                             "(apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-kir)")
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, timeout=30, check=False,
                             preexec_fn=dies_with_us())
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OcrUnavailable(f"распознавание недоступно: tesseract не запускается ({e})") from None
    have = set((out.stdout + out.stderr).decode("utf-8", "replace").split())
    wanted = os.environ.get("KB_OCR_LANGUAGES", "").strip() or LANGUAGES
    langs = [x for x in wanted.split("+") if x in have]
    if "rus" not in langs:
        raise OcrUnavailable("распознавание недоступно: нет русского языка для tesseract "
                             "(apt-get install tesseract-ocr-rus)")
    return exe, "+".join(langs)


def unavailable() -> str | None:
    """Why OCR cannot run here (KB_OCR=0, no Tesseract), or None when it can."""
    if not config.OCR:
        return "распознавание отключено (KB_OCR=0)"
    try:
        _setup()
    except OcrUnavailable as e:
        return str(e)
    return None


def languages() -> str:
    return _setup()[1]


def dpi() -> int:
    """The resolution PDF pages are rendered at for recognition."""
    try:
        value = int(os.environ.get("KB_OCR_DPI", "") or DPI)
    except ValueError:
        value = DPI
    return min(max(value, 72), 600)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def _run(args: list[str], image: bytes) -> str:
    left = budget.remaining()
    if left is not None and left <= 1.0:
        raise OcrTimeout()
    timeout = PAGE_SECONDS if left is None else min(PAGE_SECONDS, left)
    try:
        proc = subprocess.run(args, input=image, capture_output=True, timeout=timeout, check=False,
                              env=_env(), preexec_fn=dies_with_us())
    except subprocess.TimeoutExpired:
        if left is not None and timeout >= left:
            raise OcrTimeout() from None
        raise OcrFailed(f"tesseract не успел за {timeout:g} с") from None
    except OSError as e:
        raise OcrUnavailable(f"распознавание недоступно: tesseract не запускается ({e.strerror})") from None
    if proc.returncode != 0:
        err = " ".join(proc.stderr.decode("utf-8", "replace").split())[:200]
        raise OcrFailed(f"tesseract завершился с кодом {proc.returncode}: {err}".rstrip(": "))
    return proc.stdout.decode("utf-8", "replace")


def _prepare(image, dpi: int | None):
    """Greyscale, at most MAX_SIDE px and 300 dpi; returns (PNM bytes, dpi to declare)."""
    from PIL import Image

    img = image
    if img.mode not in ("L", "1"):
        if img.mode in ("RGBA", "LA", "P"):
            img = img.convert("RGBA")
            white = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, img)   # transparent means paper, not black
        img = img.convert("L")
    scale = 1.0
    if dpi and dpi > 300:
        scale = 300 / dpi
    side = max(img.size) * scale
    if side > MAX_SIDE:
        scale *= MAX_SIDE / side
    if scale < 0.999:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.LANCZOS)
        dpi = round(dpi * scale) if dpi else None
    buf = io.BytesIO()
    img.convert("L").save(buf, "PPM")   # PGM: Leptonica reads it without decoding work
    return buf.getvalue(), dpi


def _parse_tsv(tsv: str) -> tuple[list[str], float, int]:
    """Lines (blank line between Tesseract's blocks and paragraphs), the length-weighted mean
    word confidence, the number of words."""
    lines: list[str] = []
    key = None
    para = None
    words: list[str] = []
    conf_sum = 0.0
    weight = 0
    count = 0
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        k = (cols[2], cols[3], cols[4])
        if k != key:
            if words:
                lines.append(" ".join(words))
            words = []
            if para is not None and (cols[2], cols[3]) != para:
                lines.append("")
            key, para = k, (cols[2], cols[3])
        words.append(text)
        n = len(text)
        conf_sum += conf * n
        weight += n
        count += 1
    if words:
        lines.append(" ".join(words))
    return lines, (conf_sum / weight if weight else 0.0), count


_ROTATE = re.compile(r"Rotate:\s*(\d+)")


def _orientation(exe: str, data: bytes, dpi: int | None) -> int:
    """Degrees to turn the page clockwise to read it, by Tesseract's OSD; 0 when unsure."""
    args = [exe, "stdin", "stdout", "--psm", "0"] + (["--dpi", str(dpi)] if dpi else [])
    try:
        out = _run(args, data)
    except OcrFailed:
        return 0          # too few characters to tell
    m = _ROTATE.search(out)
    return int(m.group(1)) % 360 if m else 0


def recognise(image, dpi: int | None = None) -> Recognised:
    """Read one page image (a PIL image). Raises OcrUnavailable, OcrTimeout or OcrFailed."""
    if not config.OCR:
        raise OcrUnavailable("распознавание отключено (KB_OCR=0)")
    exe, langs = _setup()
    data, dpi = _prepare(image, dpi)
    base = [exe, "stdin", "stdout", "-l", langs, "--psm", "3"] + (["--dpi", str(dpi)] if dpi else [])
    lines, conf, n = _parse_tsv(_run(base + ["tsv"], data))
    if conf >= LOW_CONFIDENCE and n >= 3:
        return Recognised(lines, conf, n)
    # Little or doubtful text: perhaps the page lies on its side or upside down.
    turn = _orientation(exe, data, dpi)
    if turn:
        from PIL import Image

        upright = Image.open(io.BytesIO(data)).rotate(-turn, expand=True, fillcolor=255)
        data2, _ = _prepare(upright, dpi)
        lines2, conf2, n2 = _parse_tsv(_run(base + ["tsv"], data2))
        if (conf2, n2) > (conf, n):
            return Recognised(lines2, conf2, n2, rotated=turn)
    return Recognised(lines, conf, n)


# --- pages of a document --------------------------------------------------------------------

@dataclass
class Pages:
    """What recognition made of a document's page images: lines and confidence of each page
    read (1-based numbers), the pages left unread, and warnings to report."""

    lines: dict[int, list[str]]
    confidence: dict[int, float]
    unread: list[int]
    warnings: list[str]
    failed: list[str] = field(default_factory=list)     # why pages could not be read at all


def spans(numbers: list[int]) -> str:
    """`1, 3-5, 9` for [1, 3, 4, 5, 9]: a long scan's pages in one short line."""
    out: list[str] = []
    for n in sorted(numbers):
        if out and isinstance(out[-1], list) and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


def recognise_pages(pages, dpi: int | None = None) -> Pages:
    """Read `pages`, an iterable of (number, image or a function giving it), in order.

    Never raises for a page: Tesseract missing, a page it cannot read, or the file's time
    budget running out become warnings, and the pages concerned are listed as unread, so
    the text layer the document has still counts."""
    res = Pages({}, {}, [], [])
    pending = list(pages)
    failed: list[str] = []
    for i, (number, image) in enumerate(pending):
        try:
            img = image() if callable(image) else image
            dpi_here = img.info.get("kb_dpi", dpi) if hasattr(img, "info") else dpi
            got = recognise(img, dpi_here)
        except OcrUnavailable as e:
            res.unread += [n for n, _ in pending[i:]]
            res.warnings.append(f"{e}; не распознаны стр. {spans(res.unread)}")
            return res
        except OcrTimeout:
            rest = [n for n, _ in pending[i:]]
            res.unread += rest
            res.warnings.append(f"не хватило времени на распознавание (KB_FILE_SECONDS): "
                                f"не распознаны стр. {spans(rest)}")
            return res
        except (OcrFailed, OSError, ValueError, SyntaxError) as e:   # PIL: OSError, ValueError
            res.unread.append(number)
            res.failed.append(str(e)[:200])
            failed.append(f"стр. {number}: распознавание не удалось ({e})"[:300])
            continue
        res.lines[number] = got.lines
        res.confidence[number] = round(got.confidence, 1)
        if not got.words:
            res.warnings.append(f"стр. {number}: на скане не найден текст")
        elif got.confidence < LOW_CONFIDENCE:
            res.warnings.append(f"стр. {number}: текст распознан с низкой уверенностью "
                                f"({got.confidence:.0f} %)")
    res.warnings += failed
    return res
