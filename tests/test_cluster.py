"""Several `kb serve` nodes over one index folder and one PostgreSQL (kb.state): three real
servers on this machine, each its own process with its own connection pool, the state in a
throwaway cluster (tests/pgcluster.py; skipped locally when PostgreSQL is not installed,
required in CI by KB_REQUIRE_POSTGRES).

Sessions signed on one node are read on the others (the session key is in the database);
failed logins count together; a token revoked anywhere is refused everywhere; a node killed
with SIGKILL leaves the others answering; a restart of PostgreSQL loses nothing and the
nodes reconnect by themselves; the canary suite of tests/test_access.py (no staff document
for anonymous visitors) passes against every node.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import test_access as canary
from conftest import csrf_of
from kb.index import update_index
from test_proxy import Browser
from test_serve_workers import KB, free_port

# The canary suite, run again with the `servers` fixture below: once per node.
from test_access import (  # noqa: F401
    test_bearer_tokens_on_the_api,
    test_every_route_without_a_query,
    test_known_queries,
    test_no_route_reveals_staff_documents,
    test_staff_documents_pages_files_and_api_are_404_for_the_public,
)

PASSWORD = "пароль-сотрудника"
STAFF_WORD = "квакозябрия"          # only in a staff document of the canary corpus


def kb_cmd(*args: str) -> list[str]:
    return [str(KB) if KB.exists() else sys.executable, *([] if KB.exists() else ["-m", "kb.cli"]), *args]


class Node:
    """One `kb serve` of the cluster: its own process and port, the shared index folder and database."""

    def __init__(self, name: str, corpus: Path, index: Path, url: str, log_dir: Path, workers: int = 1):
        self.name, self.corpus, self.index, self.url, self.workers = name, corpus, index, url, workers
        self.port = free_port()
        self.log_path = log_dir / f"node-{name}.log"
        self.start()

    def start(self) -> None:
        self._log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            kb_cmd("serve", "--corpus", str(self.corpus), "--index", str(self.index), "--port", str(self.port),
                   "--rescan", "0", "--workers", str(self.workers), "--database", self.url),
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, f"node {self.name} exited: {self.log()}"
            try:
                if self.browser().get("/").status_code == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"node {self.name} did not answer in 90 s: {self.log()}"
            time.sleep(0.2)

    def browser(self, cookies: dict | None = None) -> Browser:
        b = Browser(self.port)
        b.cookies = dict(cookies or {})
        return b

    # What the canary suite reads of an app.
    @property
    def config(self) -> dict:
        return {"KB_INDEX": self.index, "KB_CORPUS": self.corpus}

    def test_client(self) -> Browser:
        return self.browser()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture(scope="module")
def cluster(pg_cluster, tmp_path_factory):
    """Nodes A, B and C (C with --workers 2) over one index of the canary corpus (with staff documents), and a
    reference node over the corpus without them; every one on the same database, which this
    test process uses too (its Accounts are the nodes' accounts)."""
    url = pg_cluster.new_database()
    mp = pytest.MonkeyPatch()
    mp.setenv("KB_DATABASE_URL", url)
    base = tmp_path_factory.mktemp("cluster")
    nodes: dict[str, Node] = {}
    try:
        for name, with_staff in (("full", True), ("ref", False)):
            canary.write_corpus(base / name / "corpus", with_staff)
            report = update_index(base / name / "corpus", base / name / "index", show_progress=False, workers=1)
            assert not report.failed, report.lines()
        for name in ("A", "B", "C"):
            # C runs two worker processes: each makes its own pool after the fork.
            nodes[name] = Node(name, base / "full" / "corpus", base / "full" / "index", url, base,
                               workers=2 if name == "C" else 1)
        nodes["ref"] = Node("ref", base / "ref" / "corpus", base / "ref" / "index", url, base)
        yield nodes
    finally:
        for n in nodes.values():
            n.stop()
        mp.undo()


@pytest.fixture(scope="module", params=["A", "B", "C"])
def servers(request, cluster):
    """The canary suite's (full, reference) pair: each node of the cluster in turn."""
    return cluster[request.param], cluster["ref"]


def account(name: str, role: str = "staff") -> None:
    from kb.accounts import Accounts

    acc = Accounts(Path("/nonexistent"))           # the shared database: no folder is read
    if acc.get(name) is None:
        acc.add(name, PASSWORD, role)


def login(b: Browser, name: str, password: str = PASSWORD):
    token = csrf_of(b.get("/login").get_data(as_text=True))
    return b.post("/login", data={"username": name, "password": password, "csrf_token": token})


def staff_hits(b: Browser) -> int:
    r = b.get("/api/search", query_string={"q": STAFF_WORD})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.json["total_docs"]


def test_a_session_signed_in_on_a_works_on_b_and_ends_everywhere_at_logout(cluster):
    account("sess-anna")
    a = cluster["A"].browser()
    assert staff_hits(a) == 0
    assert login(a, "sess-anna").status_code == 302
    b = cluster["B"].browser(a.cookies)
    assert staff_hits(a) == 1 and staff_hits(b) == 1
    # Logout on B (its form's CSRF token comes from the shared session) ends the copy on C too.
    c = cluster["C"].browser(a.cookies)
    token = csrf_of(b.get("/").get_data(as_text=True).split('action="/logout"', 1)[1])
    assert b.post("/logout", data={"csrf_token": token}).status_code == 302
    assert staff_hits(c) == 0 and staff_hits(cluster["A"].browser(a.cookies)) == 0


def test_five_wrong_passwords_over_three_nodes_lock_the_account(cluster):
    account("lock-boris")
    for name in ("A", "B", "C", "A", "B"):
        r = login(cluster[name].browser(), "lock-boris", "неверный-пароль")
        assert r.status_code == 401, (name, r.status_code)
    r = login(cluster["C"].browser(), "lock-boris")                 # the right password, too late
    assert r.status_code == 429 and "заблокирован" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) > 60


def test_a_token_revoked_on_a_is_refused_on_c(cluster):
    account("tok-vera")
    env = {**os.environ, "KB_DATABASE_URL": ""}
    idx = str(cluster["A"].index)
    made = subprocess.run(kb_cmd("token", "create", "tok-vera", "--index", idx, "--database", cluster["A"].url),
                          capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    bearer = {"Authorization": f"Bearer {token}"}
    c = cluster["C"].browser()
    assert c.get("/api/search", query_string={"q": STAFF_WORD}, headers=bearer).json["total_docs"] == 1
    done = subprocess.run(kb_cmd("token", "revoke", token[:10], "--index", idx, "--database", cluster["A"].url),
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert c.get("/api/search", query_string={"q": STAFF_WORD}, headers=bearer).status_code == 401


def test_postgres_restart_loses_nothing_and_the_nodes_reconnect(cluster, pg_cluster):
    from kb.audit import AuditLog

    account("pg-gleb")
    a = cluster["A"].browser()
    assert login(a, "pg-gleb").status_code == 302
    before = len(AuditLog(Path("/nonexistent")).read(limit=10_000))
    pg_cluster.restart()
    # Each node's pooled connections died with the server: the first request gets a new one.
    for name in ("A", "B", "C"):
        assert staff_hits(cluster[name].browser(a.cookies)) == 1, cluster[name].log()[-2000:]
    assert login(cluster["B"].browser(), "pg-gleb").status_code == 302
    events = AuditLog(Path("/nonexistent")).read(limit=10_000)
    assert len(events) == before + 1 and events[0].action == "login" and events[0].actor == "pg-gleb"


def test_without_the_database_search_goes_on_and_sign_in_says_why(cluster, pg_cluster):
    account("down-dina")
    a = cluster["A"].browser()
    assert login(a, "down-dina").status_code == 302
    pg_cluster.stop()
    try:
        anon = cluster["B"].browser()
        r = anon.get("/api/search", query_string={"q": "выселение"})
        assert r.status_code == 200 and r.json["total_docs"] > 0
        # A session cannot be checked: the person is anonymous (public documents), and told why.
        page = cluster["A"].browser(a.cookies).get("/search", query_string={"q": STAFF_WORD})
        assert page.status_code == 200 and "База учётных записей сейчас недоступна" in page.get_data(as_text=True)
        assert staff_hits(cluster["A"].browser(a.cookies)) == 0
        r = login(cluster["C"].browser(), "down-dina")
        body = r.get_data(as_text=True)
        assert r.status_code == 503 and "недоступна" in body and "Traceback" not in body
        r = anon.get("/api/search", query_string={"q": STAFF_WORD}, headers={"Authorization": "Bearer kb_x" + "y" * 40})
        assert r.status_code == 503 and "недоступна" in r.json["error"]["message_ru"]
    finally:
        pg_cluster.start()
    assert staff_hits(cluster["A"].browser(a.cookies)) == 1
    assert login(cluster["C"].browser(), "down-dina").status_code == 302
    # The node's log says when the database went away and when it came back, once each.
    log = cluster["A"].log()
    assert log.count("(state database unreachable)") >= 1
    assert log.count("снова отвечает") == log.count("(state database unreachable)")


def test_kill_9_of_one_node_leaves_the_others_answering(cluster):
    account("kill-ivan")
    a = cluster["A"].browser()
    assert login(a, "kill-ivan").status_code == 302
    cluster["B"].kill()
    try:
        for name in ("A", "C"):
            assert staff_hits(cluster[name].browser(a.cookies)) == 1
        assert login(cluster["C"].browser(), "kill-ivan").status_code == 302
    finally:
        cluster["B"].start()
    assert staff_hits(cluster["B"].browser(a.cookies)) == 1


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "kb-test-boundary-7c1f"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_an_upload_through_b_is_queued_indexed_and_found_on_c(pg_cluster, cluster, tmp_path):
    """Two nodes over an index folder of their own (the canary's must stay as it is): the file
    is sent to B, its status asked of C (the queue is in the database), then found on C."""
    from kb.accounts import Accounts

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Открытый отчёт о выселении.\n", encoding="utf-8")
    update_index(corpus, index, show_progress=False, workers=1)
    url = cluster["A"].url
    nodes = [Node(n, corpus, index, url, tmp_path) for n in ("B2", "C2")]
    try:
        acc = Accounts(index)
        if acc.get("up-robot") is None:
            acc.add("up-robot", PASSWORD, "staff")
        bearer = {"Authorization": f"Bearer {acc.create_token('up-robot')}"}
        body, ctype = multipart("akt-zyuzyublik.txt", "Акт проверки: зюзюблик в котельной.\n".encode())
        b, c = nodes[0].browser(), nodes[1].browser()
        r = b.open("POST", "/upload", body=body, headers={**bearer, "Content-Type": ctype, "Accept": "application/json"})
        assert r.status_code == 200 and r.json["files"][0]["status"] == "queued", r.get_data(as_text=True)[:300]
        path = r.json["files"][0]["path"]
        deadline = time.monotonic() + 120
        while True:
            st = c.get("/upload/status", query_string={"path": path}, headers=bearer).json["files"][path]
            if st["status"] in ("indexed", "failed"):
                break
            assert time.monotonic() < deadline, st
            time.sleep(0.5)
        assert st["status"] == "indexed" and st["steps"][0] == "queued", st
        found = c.get("/api/search", query_string={"q": "зюзюблик"}, headers=bearer)
        assert found.json["total_docs"] == 1
    finally:
        for n in nodes:
            n.stop()
