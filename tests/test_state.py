"""kb.state: the server's state through one interface, each test against both backends (the
SQLite files of the index folder, and a new database of a throwaway PostgreSQL cluster,
tests/pgcluster.py): accounts and tokens, session versions, the audit log, the login
counters, the upload queue, saved searches, the session key, the schema's versions, and what
happens when the database cannot be reached."""

from __future__ import annotations

import threading
import time

import pytest

from kb import state
from kb.accounts import AccountError, Accounts
from kb.audit import AuditLog
from kb.errors import QueryError
from kb.search.saved import MAX_PER_OWNER, store_for
from kb.state import StateUnavailable
from kb.web import limitstore
from kb.web.auth import secret_key
from kb.web.jobs import JobStore

PW = "пароль-длинный"


def test_accounts_tokens_and_session_versions(tmp_path, backend):
    acc = Accounts(tmp_path)
    assert not acc.has_admin()
    anna = acc.add("Anna", PW, "admin")
    assert acc.has_admin() and acc.find("ＡＮＮＡ").id == anna.id          # one normal form
    with pytest.raises(AccountError, match="уже есть"):
        acc.add("anna", PW, "staff")
    assert acc.check_password("anna", PW).name == "Anna"
    assert acc.check_password("anna", "не-тот-пароль") is None and acc.check_password("nobody", PW) is None
    token = acc.create_token("Anna")
    assert acc.check_token(token).id == anna.id and acc.tokens()[0].prefix == token[:10]
    before = acc.by_id(anna.id).session_version
    acc.end_sessions(anna.id)
    assert acc.by_id(anna.id).session_version != before
    assert acc.check_token(token) is not None                             # tokens are not sessions
    assert acc.revoke_token(token[:10]) == 1 and acc.check_token(token) is None
    second = acc.create_token("anna")
    boris = acc.add("boris", PW, "staff")
    acc.remove("boris")
    acc.remove("Anna")
    assert acc.check_token(second) is None and acc.users() == []          # its tokens went with it
    assert acc.add("clara", PW, "reader").id > boris.id                    # removed ids never given again


def test_one_name_is_added_once_when_two_add_it_at_once(tmp_path, backend):
    results: list[str] = []

    def add(name: str) -> None:
        try:
            Accounts(tmp_path).add(name, PW, "staff")
            results.append("added")
        except AccountError:
            results.append("refused")

    threads = [threading.Thread(target=add, args=(n,)) for n in ("Vera", "vera", "VERA", "ｖｅｒａ")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["added", "refused", "refused", "refused"]
    assert [u.name for u in Accounts(tmp_path).users()] in (["Vera"], ["vera"], ["VERA"])


def test_audit_log_newest_first_and_filtered(tmp_path, backend):
    log = AuditLog(tmp_path)
    assert log.read() == []
    log.add("login", actor="anna", address="10.0.0.5")
    log.add("login.failed", actor="boris")
    log.add("token.create", actor="anna", target="kb_abc", detail="x")
    assert [e.action for e in log.read()] == ["token.create", "login.failed", "login"]
    assert [e.action for e in log.read(actor="anna")] == ["token.create", "login"]
    assert [e.actor for e in log.read(action="login.failed")] == ["boris"]
    assert abs(log.read(limit=1)[0].at - time.time()) < 60                  # seconds kept whole


def test_login_counters_are_shared_and_windows_end(tmp_path, backend, monkeypatch):
    one = limitstore.CounterStorage(limitstore.uri(tmp_path))
    other = limitstore.CounterStorage(limitstore.uri(tmp_path))             # another worker or node
    assert [one.incr("account:anna", 60), other.incr("account:anna", 60), one.incr("account:anna", 60)] == [1, 2, 3]
    assert other.get("account:anna") == 3 and one.get("nobody") == 0
    assert one.get_expiry("account:anna") > time.time() + 50
    now = time.time()
    monkeypatch.setattr(limitstore.time, "time", lambda: now + 61)
    assert other.get("account:anna") == 0 and one.incr("account:anna", 60) == 1
    other.clear("account:anna")
    assert one.get("account:anna") == 0 and one.check()


def test_upload_queue_statuses(tmp_path, backend):
    jobs = JobStore(tmp_path)
    jobs.queue(["a.pdf", "b.pdf"])
    assert jobs.has_queued() and jobs.status(["a.pdf"])["a.pdf"]["status"] == "queued"
    batch = jobs.take()
    assert batch == {"a.pdf": 1, "b.pdf": 1} and not jobs.has_queued()
    jobs.queue(["b.pdf"])                                     # asked again during the run
    jobs.advance("a.pdf", 1, "extracted", only_from=("indexing",))
    jobs.advance("a.pdf", 1, "indexed")
    jobs.advance("b.pdf", 1, "failed", "не читается")         # the old run's outcome: not applied
    st = JobStore(tmp_path).status(["a.pdf", "b.pdf", "c.pdf"])
    assert st["a.pdf"] == {"status": "indexed", "steps": ["queued", "indexing", "extracted", "indexed"]}
    assert st["b.pdf"]["status"] == "queued" and st["c.pdf"] == {"status": "unknown"}
    assert jobs.take() == {"b.pdf": 2}
    jobs.requeue_unfinished()                                 # a killed runner's file goes back
    assert jobs.status(["b.pdf"])["b.pdf"]["status"] == "queued"


def test_saved_searches(tmp_path, backend):
    store = store_for(tmp_path, "saved-searches.json")
    s = store.add("7", "выселение", {"type": ["отчёт"], "nothing": ["x"]}, "date")
    assert store_for(tmp_path, "saved-searches.json").get(s.id) == s
    assert s.filters == {"type": ["отчёт"]} and s.sort == "date"
    assert [x.id for x in store.list("7")] == [s.id] and store.list("8") == []
    seen = store.visit(s.id, "2030-01-01T00:00:00Z")
    assert seen.last_visit == "2030-01-01T00:00:00Z" == store.get(s.id).last_visit
    assert store.remove(s.id) and not store.remove(s.id) and store.get(s.id) is None
    for i in range(MAX_PER_OWNER):
        store.add("9", f"слово{i}")
    with pytest.raises(QueryError, match="сохранено уже"):
        store.add("9", "ещё")
    assert (tmp_path / "saved-searches.json").exists() == (backend == "sqlite")


def test_a_reachable_state_is_said_so(tmp_path, backend):
    assert state.unavailable() is None


def test_session_key_is_the_servers_and_stays(tmp_path, backend):
    key = secret_key(tmp_path / "a")
    assert len(key) == 32 and secret_key(tmp_path / "a") == key
    # Two nodes over one database share the key; two folders with their own files do not.
    assert (secret_key(tmp_path / "b") == key) == (backend == "postgresql")


def test_schema_versions_are_recorded_and_a_newer_schema_is_refused(tmp_path, backend):
    acc = Accounts(tmp_path)
    acc.add("anna", PW, "staff")
    db = acc._db()
    assert db.execute("SELECT version FROM schema_version WHERE part = 'accounts'").fetchone()[0] == 3
    db.execute("UPDATE schema_version SET version = 99 WHERE part = 'accounts'")
    if backend == "postgresql":
        from kb.state.postgres import PostgresDatabase

        PostgresDatabase.get(state.database_url())._migrated.discard("accounts")   # a process started now
    with pytest.raises(StateUnavailable, match="версии 99"):
        Accounts(tmp_path).users()


def test_an_unreachable_database_is_said_in_russian(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATABASE_URL", f"postgresql://kb@/kb?host={tmp_path}&port=1")
    monkeypatch.setenv("KB_DATABASE_TIMEOUT", "1")
    pytest.importorskip("psycopg_pool")
    t0 = time.monotonic()
    with pytest.raises(StateUnavailable) as e:
        Accounts(tmp_path).check_password("anna", PW)
    assert time.monotonic() - t0 < 10
    assert "недоступна" in str(e.value) and "Поиск работает" in str(e.value) and str(tmp_path) in str(e.value)
    assert "недоступна" in state.unavailable()
    monkeypatch.setenv("KB_DATABASE_URL", "mysql://kb@localhost/kb")
    with pytest.raises(StateUnavailable, match="postgresql://"):
        state.database_url()


def test_a_node_started_without_its_database_stops_saying_why(tmp_path):
    import os
    import subprocess
    import sys

    from test_serve_workers import free_port

    pytest.importorskip("psycopg_pool")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Отчёт о выселении.\n", encoding="utf-8")
    env = {**os.environ, "KB_DATABASE_TIMEOUT": "1", "KB_DATABASE_URL": ""}
    done = subprocess.run([sys.executable, "-m", "kb.cli", "serve", "--corpus", str(corpus), "--index",
                           str(tmp_path / "index"), "--port", str(free_port()), "--rescan", "0", "--workers", "1",
                           "--database", f"postgresql://kb@/kb?host={tmp_path}&port=1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "kb: ошибка: база данных PostgreSQL" in done.stderr and "недоступна" in done.stderr
    assert "Traceback" not in done.stderr


def test_kb_state_copy_moves_a_single_servers_state_into_the_database(tmp_path, pg_cluster, monkeypatch, capsys):
    from kb.cli import main

    monkeypatch.setenv("KB_DATABASE_URL", "")         # main() sets it: put back after the test
    acc = Accounts(tmp_path)
    anna = acc.add("anna", PW, "admin")
    gone = acc.add("gone", PW, "staff")
    acc.remove("gone")
    token = acc.create_token("anna")
    AuditLog(tmp_path).add("login", actor="anna")
    s = store_for(tmp_path, "saved-searches.json").add(str(anna.id), "выселение")
    key = secret_key(tmp_path)

    url = pg_cluster.new_database()
    assert main(["state", "copy", "--index", str(tmp_path), "--database", url]) == 0
    out = capsys.readouterr().out
    assert "учётных записей 1" in out and "токенов 1" in out and "сохранённых поисков 1" in out
    assert state.database_url() == url
    shared = Accounts(tmp_path / "elsewhere")
    assert shared.check_password("anna", PW).id == anna.id and shared.check_token(token).name == "anna"
    assert shared.add("new", PW, "staff").id > gone.id                      # a removed id stays unused
    assert [e.action for e in AuditLog(tmp_path / "elsewhere").read()] == ["login"]
    assert store_for(tmp_path / "elsewhere", "saved-searches.json").list(str(anna.id)) == [s]
    assert secret_key(tmp_path / "elsewhere") == key
    shared.create_token("new")                                               # ids go on after the copied ones
    # Only into an empty database.
    assert main(["state", "copy", "--index", str(tmp_path), "--database", url]) == 1
    assert "уже не пуста" in capsys.readouterr().err
