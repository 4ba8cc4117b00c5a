"""Extraction: one entry point from a file path to a clean `Document`.

Format readers live in their own modules and return `RawText`; this module
checks the file (readable, size, real format by its first bytes), hashes it,
dispatches, and adds metadata.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from kb import config
from kb.errors import ExtractError, FileTooLarge, KbError, UnsupportedFormat
from kb.extract.consultations import RECORD_SUFFIXES, is_consultations_file
from kb.extract.dates import find_dates
from kb.extract.document import Document, RawText
from kb.extract.sniff import detect_format

__all__ = ["Document", "RawText", "extract", "extract_many", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = {".pdf", ".docx", ".doc", ".rtf", ".html", ".htm", ".txt", ".md"}


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
    raise AssertionError(fmt)


def extract(path: str | Path, *, max_bytes: int | None = None) -> Document:
    """Extract one file. Raises `ExtractError` (or a subclass) naming the file and cause."""
    path = Path(path)
    limit = config.MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ExtractError(path, "файл не найден (file not found)") from None
    except OSError as e:
        raise ExtractError(path, f"не удаётся прочитать файл: {e.strerror}") from None
    if path.is_dir():
        raise ExtractError(path, "это папка, а не файл (is a directory)")
    if st.st_size == 0:
        raise ExtractError(path, "пустой файл (empty file)")
    if st.st_size > limit:
        raise FileTooLarge(
            path, f"файл больше допустимого размера: {st.st_size} > {limit} байт (file too large)"
        )
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ExtractError(path, f"не удаётся прочитать файл: {e.strerror}") from None
    fmt = detect_format(path, data)
    if fmt is None:
        raise UnsupportedFormat(path, "формат не поддерживается (unsupported format)")
    try:
        raw = _reader(fmt)(path, data)
    except KbError:
        raise
    except (RecursionError, MemoryError) as e:
        raise ExtractError(path, f"файл слишком сложен для разбора ({type(e).__name__})") from None
    except Exception as e:  # noqa: BLE001 - any parser failure is a bad file, not a crash
        raise ExtractError(path, f"повреждённый или нечитаемый файл {fmt.upper()}: {type(e).__name__}: {e}"[:300]) from None
    title = raw.title.strip() or _first_line(raw.pages) or path.stem
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
    )


def _first_line(pages: list[str]) -> str:
    for page in pages:
        for line in page.splitlines():
            line = line.strip()
            if len(line) >= 3:
                return line[:200]
    return ""


def _extract_or_error(path: Path) -> Document | ExtractError:
    try:
        return extract(path)
    except ExtractError as e:
        return e


def iter_files(root: str | Path) -> list[Path]:
    """Files under `root` that kb reads, sorted, skipping hidden files and sidecars."""
    root = Path(root)
    if root.is_file():
        return [root]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or ".meta." in name:
                continue
            suffix = Path(name).suffix.lower()
            if suffix in SUPPORTED_SUFFIXES:
                out.append(Path(dirpath) / name)
            elif suffix in RECORD_SUFFIXES and is_consultations_file(Path(dirpath) / name):
                out.append(Path(dirpath) / name)     # consultation records (CSV, JSON Lines)
    return out


def extract_many(
    paths: Iterable[Path], *, workers: int = 1
) -> Iterator[tuple[Path, Document | ExtractError]]:
    """Extract each path; failures come back as `ExtractError` values, the batch goes on.

    With workers > 1, results come in order of completion, and the largest files start
    first: a 300-page PDF started last would leave the other workers idle at the end."""
    paths = list(paths)
    if workers <= 1 or len(paths) < 2:
        for p in paths:
            yield p, _extract_or_error(p)
        return

    def size(p: Path) -> int:
        try:
            return p.stat().st_size * (4 if p.suffix.lower() == ".pdf" else 1)
        except OSError:
            return 0

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_extract_or_error, p): p for p in sorted(paths, key=size, reverse=True)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
