"""`kb serve --workers 2`: two server processes behind one port, supervised by the parent.

Each test runs the real `kb serve` on a small corpus. Which worker answered is in the
X-KB-Worker header; a keep-alive connection stays with the worker that accepted it, so
`per_worker()` holds one connection to each worker and the tests ask each of them in turn.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from test_serve import free_port

KB = Path(sys.executable).with_name("kb")
PASSWORD = "пароль-сотрудника"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A corpus and its index, built once; each server gets a copy."""
    from kb.index import update_index

    base = tmp_path_factory.mktemp("workers")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Договор аренды жилого помещения.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Отчёт о выселении из общежития.\n", encoding="utf-8")
    update_index(corpus, base / "index", show_progress=False, workers=1)
    return base


class Server:
    def __init__(self, built: Path, tmp: Path, workers: int = 2, extra: tuple[str, ...] = (), env: dict | None = None):
        """`extra`: more options of kb serve; `env`: more environment variables."""
        shutil.copytree(built / "corpus", tmp / "corpus")
        shutil.copytree(built / "index", tmp / "index")
        self.corpus, self.index, self.port = tmp / "corpus", tmp / "index", free_port()
        self.log_path = tmp / "serve.log"
        cmd = [str(KB) if KB.exists() else sys.executable, *([] if KB.exists() else ["-m", "kb.cli"]),
               "serve", "--corpus", str(self.corpus), "--index", str(self.index), "--port", str(self.port),
               "--rescan", "0", "--workers", str(workers), *extra]
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, f"kb serve exited: {self.log()}"
            try:
                if self.get("/")[0] == 200 and len(self.children("kb-worker")) == (workers if workers > 1 else 0):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"kb serve did not answer in 90 s: {self.log()}"
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path: str, conn=None, headers=None):
        """(status, worker, body) of a GET, on `conn` (kept open) or a new connection."""
        c = conn or self.conn()
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        if conn is None:
            c.close()
        return r.status, r.getheader("X-KB-Worker"), body

    def children(self, prefix: str = "kb-") -> dict[int, str]:
        """pid -> name of the server's children whose name starts with `prefix`."""
        return children(self.proc.pid, prefix)

    def per_worker(self, n: int = 2) -> dict[str, http.client.HTTPConnection]:
        """One open connection to each worker: bursts of connections until every worker took one."""
        found: dict[str, http.client.HTTPConnection] = {}
        for _ in range(50):
            conns = [self.conn() for _ in range(8)]
            for c in conns:
                c.connect()
            with ThreadPoolExecutor(8) as ex:
                workers = list(ex.map(lambda c: self.get("/", conn=c)[1], conns))
            for c, w in zip(conns, workers):
                if w in found:
                    c.close()
                else:
                    found[w] = c
            if len(found) == n:
                return found
        raise AssertionError(f"only workers {sorted(found)} answered")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def children(pid: int, prefix: str = "kb-") -> dict[int, str]:
    out = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for k in kids:
            try:
                name = Path(f"/proc/{k}/comm").read_text().strip()
            except OSError:
                continue
            if name.startswith(prefix):
                out[int(k)] = name
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(cond, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, what
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    s = Server(built, tmp_path_factory.mktemp("server"))
    yield s
    s.stop()


def test_two_workers_and_one_keeper_serve_one_port(server):
    names = sorted(server.children().values())
    assert names == ["kb-keeper", "kb-worker-1", "kb-worker-2"], names
    conns = server.per_worker()
    assert sorted(conns) == ["1", "2"]
    q = urllib.parse.quote("выселения")
    for w, c in conns.items():
        status, worker, body = server.get(f"/api/search?q={q}", conn=c)
        assert status == 200 and worker == w and json.loads(body)["total_docs"] == 1
    assert "рабочих процессов: 2" in server.log()


def test_a_rebuild_is_seen_by_every_worker(server):
    conns = server.per_worker()
    q = urllib.parse.quote("наследство")
    for c in conns.values():                  # each worker has the old generation open
        assert json.loads(server.get(f"/api/search?q={q}", conn=c)[2])["total_docs"] == 0
    (server.corpus / "c.txt").write_text("Наследство принимается в течение шести месяцев.\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--rebuild", "--corpus", str(server.corpus),
                           "--index", str(server.index)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for w, c in conns.items():
        status, worker, body = server.get(f"/api/search?q={q}", conn=c)
        assert worker == w and json.loads(body)["total_docs"] == 1, (w, body[:300])


def multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_an_upload_to_one_worker_is_indexed_once_and_its_status_seen_by_every_worker(server):
    from kb.accounts import Accounts

    acc = Accounts(server.index)
    acc.add("robot", PASSWORD, "staff")
    auth = {"Authorization": f"Bearer {acc.create_token('robot')}", "Accept": "application/json"}
    conns = server.per_worker()
    body, kind = multipart({"folder": ""}, [("akt.txt", "Акт проверки котельной.\n".encode())])
    conns["1"].request("POST", "/upload", body=body, headers={**auth, "Content-Type": kind})
    r = conns["1"].getresponse()
    answer = json.loads(r.read())
    assert r.status == 200 and r.getheader("X-KB-Worker") == "1", answer
    path = answer["files"][0]["path"]
    seen: dict[str, set[str]] = {"1": set(), "2": set()}
    end = time.monotonic() + 90
    while True:
        for w, c in conns.items():
            status, worker, out = server.get(f"/upload/status?path={urllib.parse.quote(path)}", conn=c, headers=auth)
            assert status == 200 and worker == w
            seen[w].add(json.loads(out)["files"][path]["status"])
        if all("indexed" in s for s in seen.values()):
            break
        assert time.monotonic() < end, seen
        time.sleep(0.2)
    assert not any("unknown" in s for s in seen.values()), seen      # the status was never lost
    q = urllib.parse.quote("котельной")
    for c in conns.values():
        assert json.loads(server.get(f"/api/search?q={q}", conn=c, headers=auth)[2])["total_docs"] == 1


def test_the_login_lockout_holds_across_workers(server):
    from kb.accounts import Accounts

    Accounts(server.index).add("anna", PASSWORD, "staff")
    conns = server.per_worker()
    conns["1"].request("GET", "/login")
    r = conns["1"].getresponse()
    page = r.read().decode()
    cookie = r.getheader("Set-Cookie").split(";")[0]          # the session the CSRF token belongs to
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def login(worker: str, password: str):
        c = conns[worker]
        body = urllib.parse.urlencode({"username": "anna", "password": password, "csrf_token": token})
        c.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                         "Cookie": cookie})
        r = c.getresponse()
        html = r.read().decode()
        assert r.getheader("X-KB-Worker") == worker
        return r.status, html

    for worker in ("1", "2", "1", "2", "1"):      # five wrong passwords, spread over the workers
        status, html = login(worker, "неверный")
        assert status == 401, html[:500]
    status, html = login("2", PASSWORD)        # the right one, at the other worker: locked
    assert status == 429 and "заблокирован" in html
    status, html = login("1", PASSWORD)
    assert status == 429


def test_a_killed_worker_is_replaced_and_the_server_keeps_answering(server):
    before = {name: pid for pid, name in server.children().items()}
    os.kill(before["kb-worker-2"], signal.SIGKILL)
    wait_until(lambda: {n: p for p, n in server.children().items()}.get("kb-worker-2") not in
               (None, before["kb-worker-2"]), 15, "worker 2 was not started again")
    assert "рабочий процесс 2" in server.log() and "сигнал 9" in server.log()
    assert server.children("kb-worker-1") == {before["kb-worker-1"]: "kb-worker-1"}
    assert sorted(server.per_worker()) == ["1", "2"]         # the new one answers too


def test_sigterm_to_the_parent_stops_every_process(built, tmp_path):
    s = Server(built, tmp_path)
    try:
        kids = list(s.children())
        grandchildren = [g for k in kids for g in children(k, "")]
        assert len(kids) == 3
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=15) == 0
        wait_until(lambda: not any(alive(p) for p in kids + grandchildren), 5,
                   f"left running: {[p for p in kids + grandchildren if alive(p)]}")
        assert "сервер остановлен" in s.log()
    finally:
        s.stop()


def test_kill_9_of_the_parent_leaves_no_worker(built, tmp_path):
    s = Server(built, tmp_path)
    try:
        kids = list(s.children())
        assert len(kids) == 3
        s.proc.kill()
        s.proc.wait()
        wait_until(lambda: not any(alive(p) for p in kids), 5, f"left running: {[p for p in kids if alive(p)]}")
    finally:
        s.stop()


def test_a_taken_port_is_one_russian_line(built, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "kb.cli", "serve", "--corpus", str(built / "corpus"),
                               "--index", str(built / "index"), "--port", str(port), "--workers", "2"],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"порт {port}" in done.stderr and "занят" in done.stderr and "Traceback" not in done.stderr


def test_workers_1_serves_in_one_process(built, tmp_path):
    s = Server(built, tmp_path, workers=1)
    try:
        status, worker, _ = s.get("/")
        assert status == 200 and worker is None
        assert s.children() == {} and "рабочих процессов" not in s.log()
    finally:
        s.stop()


def test_a_worker_that_keeps_dying_at_start_stops_the_pool(monkeypatch):
    import io

    from kb.web import workers

    monkeypatch.setattr(workers, "BACKOFF", 0.01)
    out = io.StringIO()
    pool = workers.Pool(1, lambda n: os._exit(3), out=out)
    assert pool.run() == 1
    assert "код 3" in out.getvalue() and "сервер остановлен" in out.getvalue()
    assert out.getvalue().count("запускаю новый") == workers.MAX_QUICK - 1


def test_workers_must_be_at_least_one(tmp_path, capsys):
    from kb.cli import main

    assert main(["serve", "--corpus", str(tmp_path), "--index", str(tmp_path / "i"), "--workers", "0"]) == 1
    assert "--workers" in capsys.readouterr().err
