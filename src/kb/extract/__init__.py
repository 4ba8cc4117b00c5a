"""Extraction: one entry point from a file path to a clean `Document`.

Format readers live in their own modules and return `RawText`; this module checks the
file (a regular file, its size, its real format by its first bytes), hashes it,
dispatches, and adds metadata. `extract_many` runs files in worker processes bounded in
time and memory (`kb.extract.pool`); `scan_corpus` picks the files of a folder
(`kb.extract.files`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from kb import config
from kb.errors import ExtractError, FileTooLarge, KbError, TooComplex, UnsupportedFormat
from kb.extract.boilerplate import strip_boilerplate
from kb.extract.dates import find_dates
from kb.extract.document import Document, RawText
from kb.extract.files import SUPPORTED_SUFFIXES, Scan, iter_files, not_regular, read_regular, scan_corpus
from kb.extract.pool import Limits, Pool
from kb.extract.sniff import detect_format

__all__ = ["Document", "RawText", "Limits", "Scan", "extract", "extract_file", "extract_many",
           "iter_files", "scan_corpus", "SUPPORTED_SUFFIXES"]


def _reader(fmt: str):
    # Imported lazily: a TXT-only run should not pay for pdfplumber or lxml.
    if fmt == "pdf":
        from kb.extract.pdf import read_pdf
        return read_pdf
    if fmt == "docx":
        from kb.extract.docx import read_docx
        return read_docx
    if fmt == "doc":
        from kb.extract.doc import read_doc
        return read_doc
    if fmt == "rtf":
        from kb.extract.rtf import read_rtf
        return read_rtf
    if fmt == "html":
        from kb.extract.html import read_html
        return read_html
    if fmt == "txt":
        from kb.extract.txt import read_txt
        return read_txt
    if fmt in ("jpeg", "png", "tiff"):
        from kb.extract.image import read_image
        return read_image
    raise AssertionError(fmt)


def extract(path: str | Path, *, max_bytes: int | None = None) -> Document:
    """Extract one file in this process. Raises `ExtractError` (or a subclass) naming the
    file and cause. No time or memory bound here: see `extract_file` and `extract_many`."""
    path = Path(path)
    try:
        return _extract(path, config.MAX_FILE_BYTES if max_bytes is None else max_bytes)
    except RecursionError:
        raise TooComplex(path, "файл слишком сложен для разбора (RecursionError)") from None
    except MemoryError:
        # In a worker, kb.extract.pool reports this as its memory limit (the context is kept).
        raise ExtractError(path, "не хватило памяти для разбора файла (out of memory)") from None


def _extract(path: Path, limit: int) -> Document:
    try:
        st = path.stat()            # follows a link; never blocks, whatever the file is
    except FileNotFoundError:
        raise ExtractError(path, "файл не найден (file not found)") from None
    except OSError as e:
        raise ExtractError(path, f"не удаётся прочитать файл: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ExtractError(path, "это папка, а не файл (is a directory)")
    reason = not_regular(st.st_mode)
    if reason:
        raise ExtractError(path, reason)    # a FIFO or a device would block the read
    if st.st_size == 0:
        raise ExtractError(path, "пустой файл (empty file)")
    if st.st_size > limit:
        raise FileTooLarge(path, _too_large(st.st_size, limit))
    st, data = read_regular(path, limit)
    if len(data) > limit:
        raise FileTooLarge(path, _too_large(len(data), limit))   # grew since the stat
    if not data:
        raise ExtractError(path, "пустой файл (empty file)")
    fmt = detect_format(path, data)
    if fmt is None:
        raise UnsupportedFormat(path, "формат не поддерживается (unsupported format)")
    try:
        raw = _reader(fmt)(path, data)
    except (KbError, RecursionError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - any parser failure is a bad file, not a crash
        raise ExtractError(path, f"повреждённый или нечитаемый файл {fmt.upper()}: {type(e).__name__}: {e}"[:300]) from None
    # Every format: КонсультантПлюс saves its links and notes into DOCX, PDF and HTML alike.
    raw.pages = [strip_boilerplate(p) for p in raw.pages]
    title, source = raw.title.strip(), "properties"
    if not title:
        title, source = _first_line(raw.pages), "text"
    if not title:
        title, source = path.stem, "file"
    return Document(
        path=path,
        format=fmt,
        title=title,
        pages=raw.pages,
        size=st.st_size,
        sha256=hashlib.sha256(data).hexdigest(),
        mtime=st.st_mtime,
        dates=find_dates("\n".join(raw.pages)[:200_000]),
        warnings=raw.warnings,
        needs_ocr=raw.needs_ocr,
        headings=raw.headings,
        title_source=source,
        ocr=raw.ocr,
    )


def _first_line(pages: list[str]) -> str:
    for page in pages:
        for line in page.splitlines():
            line = line.strip()
            if len(line) >= 3:
                return line[:200]
    return ""


def _too_large(size: int, limit: int) -> str:
    return f"файл больше допустимого размера: {size} > {limit} байт (file too large; KB_MAX_FILE_MB)"


def _extract_or_error(path: Path) -> Document | ExtractError:
    try:
        return extract(path)
    except ExtractError as e:
        return e


def extract_many(
    paths: Iterable[Path], *, workers: int | None = None, limits: Limits | None = None
) -> Iterator[tuple[Path, Document | ExtractError]]:
    """Extract each path; failures come back as `ExtractError` values, the batch goes on.

    `workers`: processes (None: all cores), each bounded by `limits` (None:
    `Limits.defaults()`, from KB_FILE_SECONDS and KB_FILE_MEMORY_MB). A worker that
    crashes, runs out of time or memory fails its file only. Results come in order of
    completion, the largest files started first: a 300-page PDF started last would leave
    the other workers idle at the end. `workers=0`: in this process, one after another,
    in the given order, without any bound (unit tests, debugging).
    """
    paths = list(paths)
    if workers == 0:
        for p in paths:
            yield p, _extract_or_error(p)
        return
    if not paths:
        return
    n = min(workers or os.cpu_count() or 1, len(paths))
    with Pool(n, Limits.defaults() if limits is None else limits) as pool:
        yield from pool.run(paths)


def extract_file(path: str | Path, *, limits: Limits | None = None) -> Document:
    """`extract` in a worker process under `limits` (as `extract_many`); raises its error."""
    path = Path(path)
    [(_, result)] = list(extract_many([path], workers=1, limits=limits))
    if isinstance(result, KbError):
        raise result
    return result
