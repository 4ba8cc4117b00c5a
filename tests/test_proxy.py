"""`kb serve --proxy`: a real server behind a (simulated) reverse proxy takes the client's address,
scheme and host from X-Forwarded-For/-Proto/-Host; without --proxy it ignores them.

The "proxy" here is the test itself: it sends the headers nginx would set. Each test runs the
real `kb serve` (tests/test_serve_workers.Server), so waitress's own handling of the headers
is what is tested, in one process and in the workers of `--workers 2`.

The canary suite of tests/test_access.py runs here unchanged against two such servers (the
corpus with staff documents and the reference without): its test functions are imported below,
and pytest runs them in this module with this module's `servers` fixture, whose "apps" answer
over HTTP with forwarded headers, each browser from its own forwarded address.
"""

from __future__ import annotations

import http.client
import ipaddress
import itertools
import json
import os
import re
import shutil
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import test_access as canary
from kb.accounts import Accounts
from kb.audit import AuditLog
from kb.index import update_index
from test_serve_workers import Server

# The canary suite, run again with the `servers` fixture below (see the module's docstring).
from test_access import (  # noqa: F401
    test_bearer_tokens_on_the_api,
    test_every_route_without_a_query,
    test_known_queries,
    test_no_route_reveals_staff_documents,
    test_staff_documents_pages_files_and_api_are_404_for_the_public,
)

HOST = "kb.example.org"
PASSWORD = "пароль-сотрудника"
_addresses = itertools.count(1)


def next_address() -> str:
    """A client address of its own (198.18.0.0/15, kept for tests of networks)."""
    return str(ipaddress.ip_address("198.18.0.0") + next(_addresses))


def forwarded(address: str, proto: str = "https", host: str = HOST) -> dict[str, str]:
    """The headers the nginx of docs/usage.md sets."""
    return {"X-Forwarded-For": address, "X-Forwarded-Proto": proto, "X-Forwarded-Host": host}


class Answer:
    """What the tests read of Flask's test response: status_code, headers, get_data, json."""

    def __init__(self, status: int, headers, body: bytes):
        self.status_code, self.headers, self.data = status, headers, body

    def get_data(self, as_text: bool = False):
        return self.data.decode("utf-8", "replace") if as_text else self.data

    @property
    def json(self):
        if "json" not in (self.headers.get("Content-Type") or ""):
            return None
        return json.loads(self.data)


class Browser:
    """Flask's test client as the canary tests use it (get, post, cookies), but over HTTP to a
    real server, every request carrying the forwarded headers of one client."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port, self.headers, self.cookies = port, dict(headers or {}), {}

    def origin(self) -> str:
        proto = self.headers.get("X-Forwarded-Proto", "http")
        return f"{proto}://{self.headers.get('X-Forwarded-Host', f'127.0.0.1:{self.port}')}"

    def get(self, url: str, query_string: dict | None = None, headers: dict | None = None) -> Answer:
        return self.open("GET", url, query_string=query_string, headers=headers)

    def post(self, url: str, data: dict | None = None, headers: dict | None = None) -> Answer:
        # Flask-WTF checks the Referer of a form posted over https.
        h = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.origin() + url.split("?")[0],
             **(headers or {})}
        return self.open("POST", url, body=urllib.parse.urlencode(data or {}).encode(), headers=h)

    def open(self, method: str, url: str, query_string=None, body=None, headers=None) -> Answer:
        if query_string:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query_string)
        url = urllib.parse.quote(url, safe="/?&=%:+,;@#")
        h = {**self.headers, **(headers or {})}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, url, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        for cookie in r.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";")[0].partition("=")
            if "expires=thu, 01 jan 1970" in cookie.lower() or "max-age=0" in cookie.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return Answer(r.status, r.headers, data)


class Served:
    """A real `kb serve --proxy`, looked at as the canary tests look at a Flask app: its folders
    in `config`, and `test_client()`: a browser from a new forwarded address."""

    def __init__(self, server: Server):
        self.server = server
        self.config = {"KB_INDEX": server.index, "KB_CORPUS": server.corpus}

    def test_client(self) -> Browser:
        return Browser(self.server.port, forwarded(next_address()))


def start(base: Path, tmp: Path, *extra: str, workers: int = 1, env: dict | None = None) -> Server:
    return Server(base, tmp, workers=workers, extra=extra, env=env)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The canary suite's two servers (test_access.servers), each a real `kb serve --proxy`."""
    base = tmp_path_factory.mktemp("proxied")
    running = []
    try:
        for name, with_staff in (("full", True), ("ref", False)):
            canary.write_corpus(base / name / "corpus", with_staff)
            report = update_index(base / name / "corpus", base / name / "index", show_progress=False, workers=1)
            assert not report.failed, report.lines()
            running.append(start(base / name, base / f"{name}-served", "--proxy", "--allowed-host", HOST))
        yield Served(running[0]), Served(running[1])
    finally:
        for s in running:
            s.stop()


# --- limits, lockout, audit and links keyed by the forwarded client ---------------------------------

# Loaded by every Python the server starts (PYTHONPATH): a search waits while the file `closed`
# is in the gate folder, after leaving a file `in-*` there, so that a test can hold searches in
# flight in the server's processes.
GATE = '''
import os, time, uuid
from pathlib import Path

import kb.web.api, kb.web.views

_gate = Path(os.environ["KB_TEST_GATE"])
_search = kb.web.api.search


def _held(*a, **k):
    (_gate / ("in-" + uuid.uuid4().hex)).touch()
    while (_gate / "closed").exists():
        time.sleep(0.02)
    return _search(*a, **k)


kb.web.api.search = kb.web.views.search = _held
'''


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("small")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Договор аренды жилого помещения.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Отчёт о выселении из общежития.\n", encoding="utf-8")
    update_index(corpus, base / "index", show_progress=False, workers=1)
    Accounts(base / "index").add("anna", PASSWORD, "staff")
    return base


@pytest.fixture(scope="module")
def behind(small, tmp_path_factory):
    """`kb serve --proxy --workers 2` with held searches (GATE)."""
    tmp = tmp_path_factory.mktemp("behind")
    gate = tmp / "gate"
    gate.mkdir()
    (gate / "sitecustomize.py").write_text(GATE, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(gate), os.environ.get("PYTHONPATH", "")) if p)
    s = start(small, tmp / "server", "--proxy", "--allowed-host", HOST, workers=2,
              env={"PYTHONPATH": path, "KB_TEST_GATE": str(gate)})
    s.gate = gate
    yield s
    s.stop()


def login(browser: Browser, name: str, password: str) -> Answer:
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return browser.post("/login", data={"username": name, "password": password, "csrf_token": token})


def audit(server: Server, action: str) -> list[str | None]:
    return [e.address for e in AuditLog(server.index).read(limit=1000, action=action)]


def test_per_client_limit_counts_each_forwarded_client(behind):
    (behind.gate / "closed").touch()
    entered = lambda: len(list(behind.gate.glob("in-*")))     # noqa: E731
    before = entered()
    a, b = forwarded(next_address()), forwarded(next_address())
    results: list[int] = []
    other = None

    def search_as(headers):
        results.append(Browser(behind.port, headers).get("/api/search", {"q": "договор"}).status_code)

    held = [threading.Thread(target=search_as, args=(a,)) for _ in range(2)]
    try:
        for t in held:
            t.start()
        deadline = time.monotonic() + 30
        while entered() < before + 2:
            assert time.monotonic() < deadline, "the two searches did not start"
            time.sleep(0.05)
        # A third search of the same client: refused at once, whichever worker takes it.
        third = Browser(behind.port, a).get("/api/search", {"q": "договор"})
        assert third.status_code == 429 and "одновременных запросов" in third.json["error"]["message_ru"]
        # Another client behind the same proxy is let in (before the fix every client was the proxy).
        other = threading.Thread(target=search_as, args=(b,))
        other.start()
        while entered() < before + 3:
            assert time.monotonic() < deadline, "another client's search was not let in: " + repr(results)
            time.sleep(0.05)
    finally:
        (behind.gate / "closed").unlink()
    for t in [*held, other]:
        if t is not None:
            t.join(30)
    assert results == [200, 200, 200]


def test_failed_logins_lock_the_forwarded_address_not_the_proxy(behind):
    # Twenty clients fail once each (under twenty names: the per-name limit is not the point).
    many = [next_address() for _ in range(20)]
    for n, address in enumerate(many):
        r = login(Browser(behind.port, forwarded(address)), f"nobody{n}", "неверный-пароль")
        assert r.status_code == 401, r.get_data(as_text=True)[:300]
    # A 21st client signs in: nobody locked it.
    fine = next_address()
    r = login(Browser(behind.port, forwarded(fine)), "anna", PASSWORD)
    assert r.status_code == 302
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    # One client failing 20 times locks itself: its 21st attempt, right password or not, is 429.
    one = next_address()
    for n in range(20):
        assert login(Browser(behind.port, forwarded(one)), f"guess{n}", "неверный-пароль").status_code == 401
    r = login(Browser(behind.port, forwarded(one)), "anna", PASSWORD)
    assert r.status_code == 429 and "этого адреса" in r.get_data(as_text=True)
    # ... and only itself.
    assert login(Browser(behind.port, forwarded(next_address())), "anna", PASSWORD).status_code == 302
    # The audit log names the clients, never the proxy.
    failed = audit(behind, "login.failed")
    assert set(many) | {one} <= set(failed) and "127.0.0.1" not in failed
    assert fine in audit(behind, "login") and "127.0.0.1" not in audit(behind, "login")
    assert audit(behind, "login.locked") == [one]


def test_one_proxy_trusts_only_the_address_it_added(behind):
    # A client's own X-Forwarded-For reaches kb in front of the proxy's entry: only the last counts.
    real = next_address()
    r = login(Browser(behind.port, forwarded(f"10.9.8.7, {real}")), "nobody-x", "неверный-пароль")
    assert r.status_code == 401
    assert audit(behind, "login.failed")[0] == real


def test_links_use_the_forwarded_scheme_and_host(behind):
    b = Browser(behind.port, {**forwarded(next_address()), "X-Forwarded-Port": "8443"})
    feed = b.get("/feed", {"q": "договор"})
    body = feed.get_data(as_text=True)
    assert feed.status_code == 200 and "<feed" in body
    links = re.findall(r'href="([^"]+)"', body) + re.findall(r"<id>([^<]+)</id>", body)
    assert links and all(u.startswith(f"https://{HOST}/") for u in links if "://" in u), links
    assert "127.0.0.1" not in body and ":8443" not in body           # X-Forwarded-Port is not trusted
    assert b.get("/api/openapi.json").json["servers"][0]["url"].startswith(f"https://{HOST}")
    # The forwarded name is checked like a Host header (--allowed-host).
    other = Browser(behind.port, forwarded(next_address(), host="evil.example"))
    assert other.get("/feed", {"q": "договор"}).status_code == 400


def test_two_proxies(small, tmp_path):
    s = start(small, tmp_path / "server", "--proxy", "2", "--allowed-host", HOST)
    try:
        real = next_address()
        b = Browser(s.port, forwarded(f"10.9.8.7, {real}, 10.0.0.2"))
        assert login(b, "nobody-y", "неверный-пароль").status_code == 401
        assert audit(s, "login.failed")[0] == real
    finally:
        s.stop()


def test_without_proxy_forwarded_headers_are_ignored(small, tmp_path):
    s = start(small, tmp_path / "server")
    try:
        # Links: the address the server was reached at, plain http.
        body = Browser(s.port, forwarded(next_address())).get("/feed", {"q": "договор"}).get_data(as_text=True)
        assert f"http://127.0.0.1:{s.port}/" in body and HOST not in body
        # Twenty failures "from" twenty addresses are twenty from this one: the 21st is locked.
        for n in range(20):
            r = login(Browser(s.port, forwarded(next_address())), f"nobody{n}", "неверный-пароль")
            assert r.status_code == 401
        r = login(Browser(s.port, forwarded(next_address())), "anna", PASSWORD)
        assert r.status_code == 429
        assert set(audit(s, "login.failed")) == {"127.0.0.1"}
        assert "Secure" not in (r.headers["Set-Cookie"] or "")
    finally:
        s.stop()


def test_proxy_hop_count_is_checked(tmp_path, capsys):
    from kb.cli import main

    assert main(["serve", "--corpus", str(tmp_path), "--index", str(tmp_path / "i"), "--proxy", "0"]) == 1
    err = capsys.readouterr().err
    assert "--proxy" in err and "Traceback" not in err


def test_a_copied_session_cookie_is_refused_after_logout(behind):
    from conftest import csrf_of

    me = Browser(behind.port, forwarded(next_address()))
    assert login(me, "anna", PASSWORD).status_code == 302
    thief = Browser(behind.port, forwarded(next_address()))
    thief.cookies = dict(me.cookies)
    assert thief.get("/me").status_code == 200
    token = csrf_of(me.get("/").get_data(as_text=True))
    assert me.post("/logout", data={"csrf_token": token}).status_code == 302
    r = thief.get("/me")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_development_server_takes_the_same_headers(small, tmp_path, monkeypatch):
    """`kb serve --debug --proxy N` runs Flask's own server, which has no trusted-proxy
    settings: werkzeug's ProxyFix does the same work there."""
    import importlib

    from kb.cli import main

    serve_module = importlib.import_module("kb.web.serve")       # kb.web.serve is also the function
    monkeypatch.setattr(serve_module, "prepare_index", lambda *a, **k: None)
    small = shutil.copytree(small, tmp_path / "copy")             # the servers' source stays as it was
    seen = {}
    monkeypatch.setattr("flask.Flask.run", lambda self, **kw: seen.setdefault("app", self))
    assert main(["serve", "--corpus", str(small / "corpus"), "--index", str(small / "index"), "--debug",
                 "--proxy", "2", "--allowed-host", HOST]) == 0
    c = seen["app"].test_client()
    login = c.get("/login", headers=forwarded("6.6.6.6, 203.0.113.5, 10.0.0.1"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.get_data(as_text=True)).group(1)
    r = c.post("/login", headers={**forwarded("6.6.6.6, 203.0.113.5, 10.0.0.1"), "Referer": f"https://{HOST}/login"},
               data={"username": "nobody-z", "password": "неверный-пароль", "csrf_token": token})
    assert r.status_code == 401
    assert AuditLog(small / "index").read(action="login.failed")[0].address == "203.0.113.5"
    body = c.get("/feed?q=договор", headers=forwarded(next_address())).get_data(as_text=True)
    assert f'href="https://{HOST}/' in body and "localhost" not in body
