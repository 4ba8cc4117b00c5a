"""The README's main job: `kb serve` on a fresh copy of corpus/ indexes it and answers searches over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import ROOT

KB = Path(sys.executable).with_name("kb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10.0, headers: dict | None = None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_kb_serve_indexes_and_answers(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    port = free_port()
    cmd = [str(KB) if KB.exists() else sys.executable, *([] if KB.exists() else ["-m", "kb.cli"]),
           "serve", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--port", str(port),
           "--allowed-host", "kb.example", "--access-log", str(tmp_path / "access.log")]
    from kb.accounts import Accounts

    acc = Accounts(tmp_path / "index")
    acc.add("staffer", "пароль-сотрудника", "staff")
    token = acc.create_token("staffer")
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"kb serve exited: {(tmp_path / 'serve.log').read_text()}"
            try:
                status, _, _ = get(base + "/", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise AssertionError("kb serve did not answer in 120 s: " + (tmp_path / "serve.log").read_text())
                time.sleep(0.3)
        assert status == 200

        q = urllib.parse.quote("общежитии")
        status, headers, body = get(f"{base}/api/search?q={q}")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        j = json.loads(body)
        assert j["total_docs"] >= 1
        paths = {h["path"] for h in j["hits"]}
        # The consultation record is a staff document: not for anonymous visitors, found with a token.
        assert "consultation-17.txt" not in paths and "godovoy-otchet-2023.pdf" in paths
        assert any("<mark>" in h["snippet"] for h in j["hits"])
        status, _, body = get(f"{base}/api/search?q={q}", headers={"Authorization": f"Bearer {token}"})
        assert "consultation-17.txt" in {h["path"] for h in json.loads(body)["hits"]}

        status, headers, body = get(f"{base}/search?q={q}")
        page = body.decode("utf-8")
        assert status == 200 and "Запись юридической консультации № 17" not in page and "<mark>" in page

        # Bound to loopback: a page of another site reaching it by DNS rebinding is refused.
        status, _, body = get(f"{base}/api/search?q={q}", headers={"Host": "evil.example"})
        assert status == 400 and "Host" in json.loads(body)["error"]["message_ru"]
        assert get(f"{base}/api/search?q={q}", headers={"Host": f"kb.example:{port}"})[0] == 200
        assert get(f"{base}/nope")[0] == 404

        out = (tmp_path / "serve.log").read_text()
        assert "добавлен" in out and "127.0.0.1" in out   # indexed first, then served on loopback
        # A line is written once the server has closed the answer, just after the client read it.
        deadline = time.monotonic() + 10
        while True:
            access = (tmp_path / "access.log").read_text(encoding="utf-8").splitlines()
            if any(ln.endswith(" GET /nope") for ln in access) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert any(" 200 " in ln and ln.endswith(" GET /api/search?q=…") for ln in access)
        assert any(" 400 " in ln and ln.endswith(" GET /api/search?q=…") for ln in access)
        assert any(" 404 " in ln and ln.endswith(" GET /nope") for ln in access)
        assert "общежит" not in "\n".join(access), access
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_watch_corpus_indexes_a_file_added_while_serving(tmp_path):
    """The watcher of `kb serve` (one round here) re-indexes after a file is added."""
    import io

    from kb.index import update_index
    from kb.search import search
    from kb.web.serve import watch_corpus

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Договор аренды жилого помещения.\n", encoding="utf-8")
    update_index(corpus, index, show_progress=False, workers=1)
    assert search(index, "наследство").total_docs == 0
    (corpus / "b.txt").write_text("Наследство принимается в течение шести месяцев.\n", encoding="utf-8")
    out = io.StringIO()
    watch_corpus(corpus, index, 0.01, out=out, rounds=1)
    assert "обновляю индекс" in out.getvalue() and "добавлено 1" in out.getvalue()
    res = search(index, "наследства")          # the running process sees the new index
    assert [g.path for g in res.groups] == ["b.txt"]
    out = io.StringIO()
    watch_corpus(corpus, index, 0.01, out=out, rounds=1)
    assert out.getvalue() == ""                  # nothing changed: nothing done


def test_kb_serve_refuses_negative_rescan(tmp_path, capsys):
    from kb.cli import main

    assert main(["serve", "--corpus", str(tmp_path), "--index", str(tmp_path / "i"), "--rescan", "-1"]) == 1
    assert "--rescan" in capsys.readouterr().err
