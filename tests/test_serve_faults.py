"""`kb serve` keeps answering while the index changes under it: 8 web clients through a
`--rescan` re-index of a changed file and through a full rebuild, 0 errors."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse

import pytest

import fault_cases as faults
from conftest import ROOT
from test_serve import free_port

QUERIES = ["право на жилище", "выселение", "персональные данные", "семья", "вода", "жил*",
           "\"общего имущества\"", "ст. 5", "брак И развод", "конституция"]


class Clients:
    """N clients, each from its own loopback address (127.0.0.N: the per-client limit of kb serve
    counts addresses), asking the API and the results page in turn."""

    def __init__(self, port: int, n: int = 8):
        self.port, self.n = port, n
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.done = 0
        self.lock = threading.Lock()

    def _run(self, i: int) -> None:
        k = 0
        while not self.stop.is_set():
            q = QUERIES[(i + k) % len(QUERIES)]
            path = ("/api/search?q=" if k % 2 else "/search?q=") + urllib.parse.quote(q)
            k += 1
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                               source_address=(f"127.0.0.{i + 2}", 0))
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status != 200:
                    raise AssertionError(f"{r.status} {path}: {body[:200]!r}")
            except Exception as e:      # noqa: BLE001 - every failure is counted and shown
                with self.lock:
                    self.errors.append(f"{path}: {e!r}")
            else:
                with self.lock:
                    self.done += 1

    def __enter__(self):
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(self.n)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def api(port: int, q: str) -> dict:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/api/search?q=" + urllib.parse.quote(q))
    r = c.getresponse()
    return json.loads(r.read())


@pytest.mark.shared_data
def test_eight_clients_through_a_rescan_and_a_rebuild_get_no_errors(shared_data, tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    faults.copy_real(shared_data, corpus, faults.REAL[:6])
    shutil.copytree(ROOT / "corpus", corpus / "demo")
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([*faults.kb_cmd(), "serve", "--corpus", str(corpus), "--index", str(index),
                             "--port", str(port), "--rescan", "1"], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if api(port, "жилище")["total_docs"] > 0:
                    break
            except (OSError, ValueError, http.client.HTTPException):
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)

        with Clients(port) as clients:
            time.sleep(2)
            # A changed file: the watcher re-indexes it while the clients search.
            memo = corpus / "demo" / "tenant-memo.txt"
            memo.write_text(memo.read_text(encoding="utf-8") + "\nКвазиарендатор уведомлён письменно.\n",
                            encoding="utf-8")
            deadline = time.monotonic() + 240
            while api(port, "квазиарендатор")["total_docs"] == 0:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.5)
            during_rescan = clients.done
            # A full rebuild from the command line, beside the running server.
            r = faults.kb("index", "--corpus", str(corpus), "--index", str(index), "--rebuild")
            assert r.returncode == 0, r.stderr
            time.sleep(2)
        assert not clients.errors, clients.errors[:5]
        assert during_rescan > 20 and clients.done > during_rescan
        assert api(port, "квазиарендатор")["total_docs"] == 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
