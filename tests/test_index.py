"""Incremental indexing, the write lock, interrupted runs, rebuilds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.errors import IndexLocked
from kb.index import Manifest, update_index
from kb.index.lock import WriteLock
from kb.search import search


def write(p: Path, text: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def run(corpus: Path, index: Path):
    return update_index(corpus, index, show_progress=False, workers=1)


@pytest.fixture
def corpus(tmp_path) -> Path:
    c = tmp_path / "corpus"
    write(c / "a.txt", "Отчёт о защите прав на жилье в Бишкеке.")
    write(c / "b.txt", "Исследование о земельных участках и аренде.")
    return c


def test_first_run_adds_everything_then_nothing_changes(corpus, tmp_path):
    idx = tmp_path / "idx"
    r = run(corpus, idx)
    assert sorted(r.added) == ["a.txt", "b.txt"] and not r.failed and r.passages == 2
    r2 = run(corpus, idx)
    assert not r2.changed and r2.unchanged == 2 and r2.passages == 0


def test_change_delete_rename_between_runs(corpus, tmp_path):
    idx = tmp_path / "idx"
    run(corpus, idx)
    write(corpus / "a.txt", "Отчёт о выселении за неуплату.")
    (corpus / "sub").mkdir()
    (corpus / "b.txt").rename(corpus / "sub" / "b2.txt")
    write(corpus / "c.txt", "Новая консультация о наследстве.")
    r = run(corpus, idx)
    assert r.updated == ["a.txt"]
    assert r.renamed == [("b.txt", "sub/b2.txt")]
    assert r.added == ["c.txt"] and r.removed == []
    assert [g.path for g in search(idx, "выселение").groups] == ["a.txt"]
    assert search(idx, "защита жилья").total_docs == 0          # old text of a.txt is gone
    assert [g.path for g in search(idx, "аренда").groups] == ["sub/b2.txt"]
    (corpus / "c.txt").unlink()
    r = run(corpus, idx)
    assert r.removed == ["c.txt"]
    assert search(idx, "наследство").total_docs == 0
    assert set(Manifest.load(idx).files) == {"a.txt", "sub/b2.txt"}


def test_touched_but_same_content_is_not_reindexed(corpus, tmp_path):
    idx = tmp_path / "idx"
    run(corpus, idx)
    os.utime(corpus / "a.txt", (time.time() + 100, time.time() + 100))
    r = run(corpus, idx)
    assert not r.changed and r.unchanged == 2


def test_bad_file_is_reported_and_keeps_its_old_version(corpus, tmp_path):
    idx = tmp_path / "idx"
    write(corpus / "broken.pdf", "это не PDF")
    r = run(corpus, idx)
    assert [p for p, _ in r.failed] == ["broken.pdf"] and "PDF" in r.failed[0][1]
    assert sorted(r.added) == ["a.txt", "b.txt"]
    # a once-good file that turns bad keeps what was indexed
    (corpus / "a.txt").write_bytes(b"\x00\x01\x02" * 500)
    r = run(corpus, idx)
    assert "a.txt" in dict(r.failed)
    assert [g.path for g in search(idx, "жилье").groups] == ["a.txt"]


def test_extraction_cache_is_reused_after_rebuild(corpus, tmp_path, monkeypatch):
    idx = tmp_path / "idx"
    run(corpus, idx)
    man = Manifest.load(idx)
    man.version = "schema 0, analyzer old"
    man.save(idx)
    import kb.index.build as build

    calls = []
    monkeypatch.setattr(build, "extract_many", lambda paths, workers=1: calls.append(list(paths)) or iter(()))
    r = run(corpus, idx)
    assert r.rebuilt and "версия" in r.rebuilt
    assert sorted(r.added) == ["a.txt", "b.txt"]
    assert calls == [[]]                       # nothing re-extracted: all from the cache


def test_second_writer_is_refused_with_a_clear_message(corpus, tmp_path):
    idx = tmp_path / "idx"
    run(corpus, idx)
    with WriteLock(idx):
        with pytest.raises(IndexLocked) as e:
            run(corpus, idx)
        assert "другой процесс" in str(e.value)
        # readers keep working while a writer holds the lock
        assert search(idx, "аренда").total_docs == 1
    assert run(corpus, idx).unchanged == 2


def test_second_kb_index_process_exits_with_message(corpus, tmp_path):
    idx = tmp_path / "idx"
    run(corpus, idx)
    with WriteLock(idx):
        p = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--corpus", str(corpus), "--index", str(idx)],
                           capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "другой процесс" in p.stderr and "Traceback" not in p.stderr


def test_kill_during_indexing_leaves_last_committed_index(corpus, tmp_path):
    idx = tmp_path / "idx"
    run(corpus, idx)
    for i in range(400):
        write(corpus / "many" / f"{i:03d}.txt", f"Документ номер {i} о земле, воде и праве собственности. " * 20)
    p = subprocess.Popen([sys.executable, "-m", "kb.cli", "index", "--corpus", str(corpus), "--index", str(idx),
                          "--workers", "1"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        line = p.stderr.readline()          # the first progress line: it is working
        assert "Индексация" in line
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    # the last committed index is readable and intact
    assert [g.path for g in search(idx, "аренда").groups] == ["b.txt"]
    assert search(idx, "собственности").total_docs == 0
    r = run(corpus, idx)                    # and the next run finishes the job
    assert len(r.added) == 400 and not r.failed
    assert search(idx, "собственности").total_docs == 400


def test_missing_corpus_is_a_clear_error(tmp_path, capsys):
    from kb.cli import main

    assert main(["index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "не найдена" in err


def test_is_stale_follows_the_corpus(corpus, tmp_path):
    from kb.index import is_stale

    idx = tmp_path / "idx"
    assert is_stale(corpus, idx)
    run(corpus, idx)
    assert not is_stale(corpus, idx)
    write(corpus / "bad.pdf", "не PDF")          # a file that fails stays failed, not stale
    run(corpus, idx)
    assert not is_stale(corpus, idx)
    write(corpus / "new.txt", "Новый документ.")
    assert is_stale(corpus, idx)
    run(corpus, idx)
    (corpus / "a.txt").unlink()
    assert is_stale(corpus, idx)
    run(corpus, idx)
    assert not is_stale(corpus, idx)
    # The failed file fixed in place: stale again, and the next run takes it.
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(corpus / "bad.pdf"))
    c.drawString(72, 720, "Report 2020")
    c.save()
    later = time.time() + 5
    os.utime(corpus / "bad.pdf", (later, later))
    assert is_stale(corpus, idx)
    r = run(corpus, idx)
    assert r.added == ["bad.pdf"] and not r.failed
    assert not is_stale(corpus, idx)


def test_sidecar_edit_reindexes_its_document(tmp_path):
    from kb.index import is_stale
    from kb.search import catalog

    corpus, index = tmp_path / "c", tmp_path / "i"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Годовой отчет о работе юристов.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Другой документ.\n", encoding="utf-8")
    side = corpus / "a.txt.meta.json"
    side.write_text('{"title": "Отчет 2020"}', encoding="utf-8")
    update_index(corpus, index, show_progress=False, workers=1)
    title = lambda: {d.path: d.title for d in catalog(index).all()}["a.txt"]
    assert title() == "Отчет 2020" and not is_stale(corpus, index)

    side.write_text('{"title": "Отчет за 2021 год"}', encoding="utf-8")
    os.utime(side, (time.time() + 5, time.time() + 5))
    assert is_stale(corpus, index)
    r = update_index(corpus, index, show_progress=False, workers=1)
    assert r.updated == ["a.txt"] and r.unchanged == 1
    assert title() == "Отчет за 2021 год" and not is_stale(corpus, index)

    side.unlink()                                   # no sidecar any more: back to the file's own title
    r = update_index(corpus, index, show_progress=False, workers=1)
    assert r.updated == ["a.txt"] and title() != "Отчет за 2021 год"
    assert update_index(corpus, index, show_progress=False, workers=1).unchanged == 2
