"""The real format of a file, from its first bytes, checked against its extension."""

from __future__ import annotations

import zipfile
import io
from pathlib import Path

from kb.errors import ExtractError

_MAGIC = [
    (b"%PDF-", "pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "doc"),  # OLE2 compound file: legacy Word
    (b"{\\rtf", "rtf"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"GIF8", "gif"),
    (b"PK\x03\x04", "zip"),
    (b"Rar!", "rar"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf", "7z"),
]

_BY_SUFFIX = {
    ".pdf": "pdf", ".docx": "docx", ".doc": "doc", ".rtf": "rtf",
    ".html": "html", ".htm": "html", ".txt": "txt", ".md": "txt",
    ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff",
}
# Scans and photos: read by OCR (kb.extract.image) when named as images.
IMAGE_FORMATS = {"jpeg", "png", "tiff"}

_NOT_DOCUMENTS = {"jpeg": "изображение JPEG", "png": "изображение PNG", "gif": "изображение GIF",
                  "tiff-other": "изображение TIFF",
                  "zip": "ZIP-архив", "rar": "RAR-архив", "gzip": "архив gzip", "7z": "архив 7z"}


def _magic(data: bytes) -> str | None:
    head = data[:16]
    # PDFs may carry a few junk bytes before the header; readers accept it within 1 KiB.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    for sig, name in _MAGIC:
        if head.startswith(sig):
            return name
    return None


def detect_format(path: Path, data: bytes) -> str | None:
    """kb's reader name for this file, or raise when content and extension disagree."""
    by_suffix = _BY_SUFFIX.get(path.suffix.lower())
    found = _magic(data)
    if found == "zip":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            raise ExtractError(path, "повреждённый ZIP/DOCX-архив (corrupt zip)") from None
        found = "docx" if "word/document.xml" in names else "zip"
    if found in IMAGE_FORMATS and by_suffix in IMAGE_FORMATS:
        return found            # a .jpg that is really a PNG is still a picture to read
    if by_suffix in IMAGE_FORMATS:
        raise ExtractError(path, f"не является изображением {path.suffix}: нет подписи формата "
                                 "(corrupt or renamed file)")
    if found == "tiff":
        found = "tiff-other"
    if found in _NOT_DOCUMENTS:
        what = _NOT_DOCUMENTS[found]
        raise ExtractError(path, f"это {what}, а не документ {path.suffix or ''} (not a document)".replace("  ", " "))
    if found is not None:
        if by_suffix in (None, "txt", "html") or by_suffix == found:
            return found
        # A .docx that is really an RTF or DOC is common in legal databases: trust the content.
        if by_suffix in ("doc", "docx", "rtf") and found in ("doc", "docx", "rtf"):
            return found
        raise ExtractError(path, f"содержимое не совпадает с расширением: {found.upper()}, а не {path.suffix} (content does not match extension)")
    if by_suffix in ("pdf", "docx", "doc"):
        kind = {"pdf": "PDF", "docx": "DOCX", "doc": "DOC"}[by_suffix]
        raise ExtractError(path, f"не является файлом {kind}: нет подписи формата (missing {kind} header; corrupt or renamed file)")
    if by_suffix == "rtf":
        raise ExtractError(path, "не является файлом RTF: нет заголовка {\\rtf (corrupt or renamed file)")
    if by_suffix == "txt":
        head = data[:2048].lstrip(b"\xef\xbb\xbf").lower()
        return "html" if head.lstrip().startswith((b"<!doctype html", b"<html")) else "txt"
    return by_suffix
