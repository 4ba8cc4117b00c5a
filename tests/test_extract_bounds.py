"""Bounds that name the file, checked before the expensive parse (issue 9): zip bombs,
XML depth and entity expansion in DOCX, HTML nesting and element count. The issue's "done
when": a decompression bomb and deep nesting each refused in under 30 s, under 1 GB."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from kb import config
from kb.errors import FileTooLarge, TooComplex
from kb.extract import extract
from hostile_files import bomb_docx, docx_bytes, nested_html

def test_docx_deep_xml_is_refused_at_once(tmp_path):
    path = tmp_path / "deep.docx"
    path.write_bytes(docx_bytes(b"<w:sdt><w:sdtContent>" * 50_000 + b"</w:sdtContent></w:sdt>" * 50_000))
    t = time.monotonic()
    with pytest.raises(TooComplex) as e:
        extract(path)
    assert time.monotonic() - t < 5
    assert str(e.value) == f"{path}: слишком глубокая вложенность XML в DOCX: больше 256 уровней (XML nesting too deep)"


def test_docx_billion_laughs_is_refused_at_once(tmp_path):
    entities = b"".join(b'<!ENTITY e%d "%s">' % (k + 1, b"&e%d;" % k * 10) for k in range(9))
    doctype = b'<!DOCTYPE w:document [<!ENTITY e0 "' + "ха".encode() * 500 + b'">' + entities + b"]>"
    data = docx_bytes(b"<w:p><w:r><w:t>&e9;</w:t></w:r></w:p>")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            part = src.read(item)
            if item.filename == "word/document.xml":
                j = part.index(b"?>") + 2
                part = part[:j] + doctype + part[j:]
            z.writestr(item, part)
    path = tmp_path / "laughs.docx"
    path.write_bytes(out.getvalue())
    t = time.monotonic()
    with pytest.raises(TooComplex) as e:
        extract(path)
    assert time.monotonic() - t < 5
    assert "entity expansion" in str(e.value) and str(path) in str(e.value)


def test_docx_big_entry_compressed_150x_is_refused(tmp_path):
    # Between the old rule (300x) and deflate's ceiling: real parts reach ~23x.
    rng = random.Random(3)
    runs = b"".join(b"a" * rng.randrange(1000) + b"<" for _ in range(17_000))[:8 * 1024 * 1024]
    buf = io.BytesIO(docx_bytes())
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/runs.bin", runs)
    info = zipfile.ZipFile(io.BytesIO(buf.getvalue())).getinfo("word/media/runs.bin")
    assert 100 < info.file_size / info.compress_size < 300
    path = tmp_path / "ratio.docx"
    path.write_bytes(buf.getvalue())
    with pytest.raises(FileTooLarge) as e:
        extract(path)
    assert "подозрительное сжатие в DOCX: word/media/runs.bin сжат в" in str(e.value)


def test_real_docx_parts_pass_the_archive_checks(shared_data):
    from kb.extract.docx import check_zip_bomb

    files = sorted((shared_data / "rf-housing-docx").glob("*.docx"))
    assert len(files) == 18
    for path in files:
        check_zip_bomb(path, path.read_bytes())


def test_html_nesting_bound_is_exact(tmp_path):
    # <html> and <body> count: 254 <div> make 256 levels, accepted; one more is refused.
    ok = tmp_path / "ok.html"
    ok.write_text(nested_html(254), encoding="utf-8")
    assert extract(ok).text == "глубоко"
    deep = tmp_path / "deep.html"
    deep.write_text(nested_html(255), encoding="utf-8")
    with pytest.raises(TooComplex) as e:
        extract(deep)
    assert str(e.value) == f"{deep}: слишком глубокая вложенность HTML: больше 256 уровней (nesting too deep)"


def test_html_implied_end_tags_are_not_nesting(tmp_path):
    # Sloppy real HTML never closes <p> or <li>: that is no depth.
    path = tmp_path / "sloppy.html"
    path.write_text("<html><body>" + "<p>абзац <b>жирный</b>\n" * 2000 + "<ul>" + "<li>пункт\n" * 2000,
                    encoding="utf-8")
    assert extract(path).text.count("пункт") == 2000


def test_html_element_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "HTML_MAX_ELEMENTS", 1000)
    path = tmp_path / "wide.html"
    path.write_text("<html><body>" + "<p>слово</p>" * 1001 + "</body></html>", encoding="utf-8")
    with pytest.raises(TooComplex) as e:
        extract(path)
    assert "слишком много элементов HTML: больше 1000" in str(e.value)
    path.write_text("<html><body>" + "<p>слово</p>" * 990 + "</body></html>", encoding="utf-8")
    assert extract(path).text.count("слово") == 990


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.docx"
    bomb_docx(path)
    return path


# This process's own peak is read from VmHWM, not getrusage(RUSAGE_SELF): Linux carries
# ru_maxrss across fork and exec, so a fresh interpreter started by a pytest process that once
# held 1.2 GB (the onnx engine's tests) reported 1.2 GB before doing anything. Its workers,
# forked from this small interpreter, are measured by RUSAGE_CHILDREN as before.
_MEASURE = """
import re, resource, sys, time
from kb.cli import main
t = time.monotonic()
code = main(["extract", sys.argv[1]])
seconds = time.monotonic() - t
own = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) // 1024
print(f"MEASURED {code} {seconds:.2f} {peak}", file=sys.stderr)
"""


def _measure(path: Path) -> tuple[int, float, int, str]:
    """`kb extract path` in a fresh interpreter: exit code, seconds, peak RSS (MB) of it and
    its workers, stderr."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True,
                          text=True, timeout=120)
    line = [l for l in proc.stderr.splitlines() if l.startswith("MEASURED ")][-1]
    code, seconds, peak = line.split()[1:]
    return int(code), float(seconds), int(peak), proc.stderr


def test_zip_bomb_is_refused_quickly_and_small(bomb):
    # The file: 7.7 minutes and 3.2 GB before; "done when" < 30 s and < 1 GB.
    assert bomb.stat().st_size < 3 * 1024 * 1024
    assert sum(i.file_size for i in zipfile.ZipFile(bomb).infolist()) > 400 * 1024 * 1024
    code, seconds, peak, err = _measure(bomb)
    assert code == 1 and "распакованный DOCX слишком велик" in err and str(bomb) in err, err
    assert seconds < 30 and peak < 1024, (seconds, peak)


def test_nested_html_50mb_is_refused_quickly_and_small(tmp_path):
    # The file: 170 s and 5.3 GB before its RecursionError.
    path = tmp_path / "nested.html"
    with open(path, "w", encoding="utf-8") as f:
        f.write("<html><body>")
        for _ in range(50):
            f.write("<div><span>текст " * (1024 * 1024 // 23))
    assert path.stat().st_size > 50_000_000
    code, seconds, peak, err = _measure(path)
    assert code == 1 and "слишком глубокая вложенность HTML: больше 256 уровней" in err, err
    assert seconds < 30 and peak < 1024, (seconds, peak)
