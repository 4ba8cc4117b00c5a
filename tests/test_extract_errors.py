"""Bad input: each case is one `ExtractError` (or subclass) that names the file and the cause."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from kb import config
from kb.errors import ExtractError, FileTooLarge, KbError
from kb.extract import extract

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200


def _docx_bytes() -> bytes:
    import docx

    buf = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("Текст")
    d.save(buf)
    return buf.getvalue()


def _raises(path: Path, *words: str, kind=ExtractError, **kw) -> ExtractError:
    with pytest.raises(kind) as e:
        extract(path, **kw)
    msg = str(e.value)
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, msg
    assert "\n" not in msg  # one line, fit for a CLI message
    return e.value


@pytest.mark.parametrize("name", ["empty.txt", "empty.docx", "empty.pdf", "empty.html"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    _raises(path, "пустой файл")


@pytest.mark.parametrize("name", ["photo.docx", "photo.pdf", "photo.doc", "photo.rtf"])
def test_jpeg_renamed(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(JPEG)
    _raises(path, "JPEG", "not a document")


@pytest.mark.parametrize("name", ["archive.docx", "archive.pdf"])
def test_zip_renamed(tmp_path, name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a document")
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    _raises(path, "ZIP")


def test_docx_zip_bomb_by_total_size(tmp_path, monkeypatch):
    # A real bomb would unpack to gigabytes; the same check with a 1 MiB limit costs nothing.
    monkeypatch.setattr(config, "MAX_UNPACKED_BYTES", 1024 * 1024)
    buf = io.BytesIO(_docx_bytes())
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/zeros.bin", b"\0" * (2 * 1024 * 1024))
    path = tmp_path / "bomb.docx"
    path.write_bytes(buf.getvalue())
    _raises(path, "zip bomb", kind=FileTooLarge)


def test_docx_zip_bomb_by_ratio(tmp_path):
    # 32 MiB of zeros compress ~1000:1: under the size limit, but no document does that.
    buf = io.BytesIO(_docx_bytes())
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document2.xml", b"\0" * (32 * 1024 * 1024))
    path = tmp_path / "ratio.docx"
    path.write_bytes(buf.getvalue())
    assert path.stat().st_size < 200_000
    _raises(path, "zip bomb", "word/document2.xml", kind=FileTooLarge)


def test_corrupt_docx_garbage_document_xml(tmp_path):
    src = zipfile.ZipFile(io.BytesIO(_docx_bytes()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for item in src.infolist():
            data = b"<w:document>\x00garbage<<<" if item.filename == "word/document.xml" else src.read(item)
            z.writestr(item, data)
    path = tmp_path / "corrupt.docx"
    path.write_bytes(buf.getvalue())
    _raises(path, "DOCX")


def test_truncated_docx(tmp_path):
    path = tmp_path / "truncated.docx"
    path.write_bytes(_docx_bytes()[:300])
    _raises(path, "zip")


def test_file_over_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("слово " * 100, encoding="utf-8")
    _raises(path, "too large", kind=FileTooLarge, max_bytes=100)
    assert extract(path, max_bytes=10_000).pages == [("слово " * 100).strip()]


def test_missing_file(tmp_path):
    _raises(tmp_path / "нет такого.txt", "не найден")


def test_directory(tmp_path):
    d = tmp_path / "папка.txt"
    d.mkdir()
    _raises(d, "папка")


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("тайна", encoding="utf-8")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            # Running as root: chmod does not stop root from reading, so make the read fail
            # the way the kernel would for anyone else.
            real_open = os.open

            def denied(file, *a, **k):
                if os.fspath(file) == str(path):
                    raise PermissionError(13, "Permission denied", str(file))
                return real_open(file, *a, **k)

            monkeypatch.setattr(os, "open", denied)
        _raises(path, "не удаётся прочитать", "Permission denied")
    finally:
        path.chmod(0o644)


def test_binary_garbage_named_txt(tmp_path):
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(256)) * 40)
    _raises(path, "не текстовый файл")


def test_nul_padded_text_named_txt(tmp_path):
    path = tmp_path / "nul.txt"
    path.write_bytes("текст".encode("cp1251") + b"\0" * 100)
    _raises(path, "не текстовый файл")


def test_rtf_without_header(tmp_path):
    path = tmp_path / "fake.rtf"
    path.write_bytes("просто текст".encode("utf-8"))
    _raises(path, "RTF")


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"something")
    _raises(path, "не поддерживается")


def test_every_error_is_a_kb_error():
    assert issubclass(ExtractError, KbError) and issubclass(FileTooLarge, ExtractError)
