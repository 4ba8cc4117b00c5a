"""`kb extract`: text or JSON out, one line per failure, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kb.cli import main

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / ".venv" / "bin" / "kb"


def _folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / "закон.txt").write_bytes("Статья 1. Ссуда\nТекст статьи.".encode("cp1251"))
    (d / "sub" / "page.html").write_text("<h1>Заголовок</h1><p>Абзац</p>", encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "photo.docx").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)
    (d / ".hidden.txt").write_text("skip me", encoding="utf-8")
    (d / "image.gif").write_bytes(b"GIF89a")  # not a suffix kb reads: not even tried
    return d


def test_extract_one_file_text(tmp_path, capsys):
    path = tmp_path / "a.txt"
    path.write_bytes("Привет, мир".encode("koi8-r"))
    assert main(["extract", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "Привет, мир\n" and err == ""


def test_extract_one_file_json(tmp_path, capsys):
    path = tmp_path / "a.html"
    path.write_text("<title>Т</title><h1>Закон о ссуде</h1><p>Текст от 16.11.2019</p>", encoding="utf-8")
    assert main(["extract", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == str(path)
    assert data["format"] == "html"
    assert data["title"] == "Закон о ссуде"
    assert data["pages"] == ["Закон о ссуде\nТекст от 16.11.2019"]
    assert data["warnings"] == []
    assert data["metadata"]["dates"] == ["2019-11-16"]
    assert data["metadata"]["headings"] == ["Закон о ссуде"]


def test_extract_bad_file_one_line_exit_1(tmp_path, capsys):
    path = tmp_path / "photo.pdf"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)
    assert main(["extract", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and str(path) in err and "JPEG" in err
    assert "Traceback" not in err


def test_extract_folder_reports_failures_and_extracts_the_rest(tmp_path, capsys):
    d = _folder(tmp_path)
    assert main(["extract", str(d)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2
    # A folder's own files first, then its subfolders, each sorted.
    assert lines[0].startswith(f"{d / 'закон.txt'}: txt, 1 стр.")
    assert lines[1].startswith(f"{d / 'sub' / 'page.html'}: html, 1 стр.")
    failures = [l for l in err.splitlines() if l.startswith("ошибка:")]
    assert len(failures) == 2
    assert any("empty.txt" in l and "пустой файл" in l for l in failures)
    assert any("photo.docx" in l and "JPEG" in l for l in failures)
    assert "Traceback" not in err


def test_extract_folder_json(tmp_path, capsys):
    d = _folder(tmp_path)
    assert main(["extract", str(d), "--json"]) == 1
    docs = json.loads(capsys.readouterr().out)
    assert [Path(x["path"]).name for x in docs] == ["закон.txt", "page.html"]
    assert docs[0]["pages"] == ["Статья 1. Ссуда\nТекст статьи."]


def test_extract_folder_all_good_exit_0(tmp_path, capsys):
    d = tmp_path / "ok"
    d.mkdir()
    (d / "a.txt").write_text("один", encoding="utf-8")
    (d / "b.txt").write_text("два", encoding="utf-8")
    assert main(["extract", str(d)]) == 0


def test_subprocess_no_traceback_and_exit_code(tmp_path):
    d = _folder(tmp_path)
    kb = [str(KB)] if KB.exists() else [sys.executable, "-m", "kb.cli"]
    for target, code in [(d, 1), (d / "empty.txt", 1), (tmp_path / "нет.txt", 1), (d / "закон.txt", 0)]:
        proc = subprocess.run(kb + ["extract", str(target)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == code, (target, proc.stderr)
        assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stdout == "Статья 1. Ссуда\nТекст статьи.\n"


def test_help_and_usage_errors_are_in_russian(capsys):
    import pytest as _pytest

    from kb.cli import main as kb_main

    with _pytest.raises(SystemExit):
        kb_main(["--help"])
    out = capsys.readouterr().out
    assert "использование: kb" in out and "показать эту справку" in out and "команды" in out
    assert "usage" not in out and "show this help" not in out
    with _pytest.raises(SystemExit) as e:
        kb_main(["user", "frob"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "ошибка: " in err and "недопустимое значение: 'frob'" in err and "invalid" not in err
