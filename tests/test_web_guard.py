"""What `kb serve` puts in front of the pages: the Host check, the per-client limit on searches
in flight (with real concurrent requests to a waitress server), and the access log."""

from __future__ import annotations

import http.client
import io
import json
import re
import shutil
import threading
import time

import pytest

from kb.index import update_index
from kb.web import create_app, guard
from kb.web.accesslog import AccessLog

from conftest import ROOT


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    base = tmp_path_factory.mktemp("guard")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    update_index(corpus, base / "index", show_progress=False)
    return corpus, base / "index"


# --- Host ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loopback_app(paths):
    app = create_app(*paths, allowed_hosts=guard.allowed_hosts("127.0.0.1", ["kb.example", "Docs.Local:8080"]))
    app.testing = True
    return app


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:8080", "[::1]:5000", "[::1]",
                                  "kb.example", "KB.EXAMPLE:80", "docs.local:5000"])
def test_loopback_and_allowed_names_pass(loopback_app, host):
    c = loopback_app.test_client()
    assert c.get("/", headers={"Host": host}).status_code == 200
    assert c.get("/api/search?q=жилье", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "127.0.0.1.evil.example",
                                  "kb.example.evil", "localhost:abc", "[::2]:5000", "192.168.0.10"])
@pytest.mark.parametrize("url", ["/", "/search?q=жилье", "/static/kb.css", "/nope"])
def test_other_names_are_400(loopback_app, host, url):
    r = loopback_app.test_client().get(url, headers={"Host": host})
    assert r.status_code == 400
    assert "неизвестное имя сервера в заголовке Host" in r.get_data(as_text=True)


def test_other_names_are_400_in_json(loopback_app):
    r = loopback_app.test_client().get("/api/search?q=жилье", headers={"Host": "evil.example"})
    assert r.status_code == 400 and r.json["error"]["message_en"] == "unknown server name in the Host header"


def test_allowed_hosts_by_bind_address():
    assert guard.allowed_hosts("0.0.0.0") is None                     # open on purpose: no names, no check
    assert guard.allowed_hosts("192.168.1.5") is None
    assert guard.allowed_hosts("0.0.0.0", ["kb.lan"]) >= {"kb.lan", "localhost"}
    assert "192.168.1.5" in guard.allowed_hosts("192.168.1.5", ["kb.lan"])
    assert guard.allowed_hosts("::1") == {"localhost", "127.0.0.1", "[::1]"}
    assert "127.0.0.2" in guard.allowed_hosts("127.0.0.2")
    assert guard.allowed_hosts("localhost") == {"localhost", "127.0.0.1", "[::1]"}


def test_serve_options_reach_the_app(monkeypatch, tmp_path):
    """kb serve --allowed-host (and KB_ALLOWED_HOSTS) on the default loopback address."""
    import importlib

    from kb.cli import main

    serve_module = importlib.import_module("kb.web.serve")      # kb.web.serve is also the function
    seen = {}

    def fake_serve(app, **kw):
        seen["app"] = app

    monkeypatch.setattr(serve_module, "prepare_index", lambda *a, **k: None)
    monkeypatch.setattr("waitress.serve", fake_serve)
    monkeypatch.setattr("kb.web.workers.bind", lambda host, port: [])     # no port taken by a test
    monkeypatch.setenv("KB_ALLOWED_HOSTS", "one.example, two.example")
    monkeypatch.setenv("KB_MAX_PER_CLIENT", "3")
    log = tmp_path / "access.log"
    assert main(["serve", "--corpus", str(tmp_path), "--index", str(tmp_path / "i"), "--rescan", "0",
                 "--allowed-host", "kb.example", "--access-log", str(log), "--workers", "1"]) == 0
    app = seen["app"]
    assert app.config["KB_ALLOWED_HOSTS"] >= {"kb.example", "one.example", "two.example", "localhost"}
    assert app.config["KB_MAX_PER_CLIENT"] == 3
    c = app.test_client()
    with c.get("/", headers={"Host": "evil.example"}) as r:
        assert r.status_code == 400
    with c.get("/", headers={"Host": "two.example"}) as r:
        assert r.status_code == 200
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [ln.split()[1] for ln in lines] == ["400", "200"]


# --- in flight per client -----------------------------------------------------------------------

@pytest.fixture()
def blocking_server(paths, monkeypatch):
    """A waitress server (8 threads, as kb serve) whose searches wait until released."""
    from waitress.server import create_server

    import kb.web.api
    import kb.web.views

    entered = threading.Semaphore(0)
    release = threading.Event()
    real = kb.web.api.search

    def slow_search(*a, **k):
        entered.release()
        release.wait(30)
        return real(*a, **k)

    monkeypatch.setattr(kb.web.api, "search", slow_search)
    monkeypatch.setattr(kb.web.views, "search", slow_search)
    app = create_app(*paths)
    log = io.StringIO()
    app.wsgi_app = AccessLog(app.wsgi_app, log)
    server = create_server(app, host="127.0.0.1", port=0, threads=8)

    def run():
        try:
            server.run()
        except (OSError, ValueError):   # its sockets closed under select() at teardown
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield server.effective_port, entered, release, log
    release.set()
    server.close()
    thread.join(5)


def _get(port: int, path: str, source: str = "127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def test_one_client_gets_429_beyond_its_share_while_others_are_served(blocking_server):
    port, entered, release, log = blocking_server
    results = []
    threads = [threading.Thread(target=lambda: results.append(_get(port, "/api/search?q=%D0%B6%D0%B8%D0%BB%D1%8C%D0%B5")))
               for _ in range(guard.MAX_PER_CLIENT)]
    for t in threads:
        t.start()
    for _ in range(guard.MAX_PER_CLIENT):           # all of them are inside the search now
        assert entered.acquire(timeout=20)

    t0 = time.monotonic()
    status, headers, body = _get(port, "/api/search?q=%D0%B0%D1%80%D0%B5%D0%BD%D0%B4%D0%B0")
    assert status == 429 and time.monotonic() - t0 < 5
    assert int(headers["Retry-After"]) >= 1
    err = json.loads(body)["error"]
    assert err["status"] == 429 and "одновременных запросов" in err["message_ru"]
    status, headers, body = _get(port, "/search?q=%D0%B0%D1%80%D0%B5%D0%BD%D0%B4%D0%B0")
    assert status == 429 and "Retry-After" in headers and "одновременных запросов" in body.decode("utf-8")
    # Pages that do not search are not limited.
    assert _get(port, "/static/kb.css")[0] == 200
    assert _get(port, "/docs")[0] == 200

    # Another address is served meanwhile (its search waits for the release like any other).
    other = []
    t = threading.Thread(target=lambda: other.append(_get(port, "/api/search?q=%D0%B6%D0%B8%D0%BB%D1%8C%D0%B5",
                                                          source="127.0.0.2")))
    t.start()
    assert entered.acquire(timeout=20)              # it got in: not refused
    release.set()
    t.join(30)
    for th in threads:
        th.join(30)
    assert other[0][0] == 200
    assert [r[0] for r in results] == [200] * guard.MAX_PER_CLIENT
    # The slots are free again.
    assert _get(port, "/api/search?q=%D0%B6%D0%B8%D0%BB%D1%8C%D0%B5")[0] == 200
    # Every answer is in the access log, the two 429s included (a line is written once the
    # server has closed the answer, just after the client read it).
    deadline = time.monotonic() + 10
    while len(_lines(log)) < guard.MAX_PER_CLIENT + 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    statuses = [row[0] for row in _lines(log)]
    assert statuses.count("429") == 2 and statuses.count("200") == guard.MAX_PER_CLIENT + 4


def test_no_limit_when_zero(paths):
    app = create_app(*paths, max_per_client=0)
    assert app.test_client().get("/api/search?q=жилье").status_code == 200


# --- access log ---------------------------------------------------------------------------------

class _Closing:
    """A test client whose responses are closed at once: the server closes each body, and
    the access log writes its line then."""

    def __init__(self, client):
        self.client = client

    def get(self, *a, **k):
        r = self.client.get(*a, **k)
        r.close()
        return r


@pytest.fixture()
def logged(paths):
    def make(show_queries=False, **kw):
        app = create_app(*paths, **kw)
        out = io.StringIO()
        app.wsgi_app = AccessLog(app.wsgi_app, out, show_queries=show_queries)
        return _Closing(app.test_client()), out
    return make


LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) (\d{3}) (\d+) ms ([A-Z]+) (\S+)$")


def _lines(out: io.StringIO) -> list[tuple[str, str, str]]:
    rows = []
    for line in out.getvalue().splitlines():
        m = LINE.match(line)
        assert m, line
        rows.append((m.group(2), m.group(4), m.group(5)))
    return rows


def test_access_log_hides_query_values(logged):
    c, out = logged()
    c.get("/search?q=выселение+из+общежития&page=1&type=отчёт")
    c.get("/api/search?q=" + "%D1%81%D0%B5%D0%BA%D1%80%D0%B5%D1%82")
    c.get("/search?q=&page=1")
    assert _lines(out) == [("200", "GET", "/search?q=…&page=…&type=…"), ("200", "GET", "/api/search?q=…"),
                           ("302", "GET", "/search?q=&page=…")]
    assert "выселение" not in out.getvalue() and "секрет" not in out.getvalue()


def test_access_log_shows_queries_when_asked(logged):
    c, out = logged(show_queries=True)
    c.get("/search?q=выселение+из+общежития&page=1")
    c.get("/search?q=a%0Ab%26c%3Dd")                            # a newline cannot split the line
    assert _lines(out) == [("200", "GET", "/search?q=выселение%20из%20общежития&page=1"),
                           ("200", "GET", "/search?q=a%0Ab%26c%3Dd")]


def test_access_log_has_errors_too(logged, monkeypatch):
    import kb.web.api

    c, out = logged(allowed_hosts=guard.allowed_hosts("127.0.0.1"), max_per_client=1)
    c.get("/nope/%D0%B6?x=1")
    c.get("/api/search?q=(((((((((((((((((жилье")
    c.get("/", headers={"Host": "evil.example"})

    def boom(*a, **k):
        raise RuntimeError("internals")

    monkeypatch.setattr(kb.web.api, "search", boom)
    c.get("/api/search?q=жилье")
    assert _lines(out) == [("404", "GET", "/nope/%D0%B6?x=…"), ("400", "GET", "/api/search?q=…"),
                           ("400", "GET", "/"), ("500", "GET", "/api/search?q=…")]


def test_the_per_client_limit_counts_across_worker_processes():
    """kb serve --workers 2: a client's searches in flight are counted over both workers (a
    forked process plays worker 2); a restarted worker clears the counts of the one it replaces."""
    import os

    from kb.web.guard import SharedInFlight

    shared = SharedInFlight(2, workers=2)

    def in_worker_2(*clients: str) -> list[bool]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                shared.worker(2)
                os.write(w, bytes(shared.enter(c) for c in clients))
            finally:
                os._exit(0)
        os.close(w)
        got = os.read(r, 100)
        os.close(r)
        os.waitpid(pid, 0)
        return [bool(b) for b in got]

    shared.worker(1)
    assert shared.enter("10.0.0.1")
    # Worker 2 admits one more of this client, not two; other clients are not affected.
    assert in_worker_2("10.0.0.1", "10.0.0.1", "10.0.0.2") == [True, False, True]
    assert not shared.enter("10.0.0.1")            # 1 here + 1 at worker 2
    shared.leave("10.0.0.1")
    assert shared.enter("10.0.0.1")
    assert not shared.enter("10.0.0.1")
    # Worker 2 died with its requests; its replacement (each call here is one) starts from zero.
    assert in_worker_2() == []
    assert shared.enter("10.0.0.1")                # 2 here, none there
    assert in_worker_2("10.0.0.1") == [False]
    shared.leave("10.0.0.1")
    assert in_worker_2("10.0.0.1") == [True]
