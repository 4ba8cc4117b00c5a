"""Signing in and out: CSRF, login limits with a lockout that says when, cookies, the session
secret, `kb serve --host 0.0.0.0` without an admin, and --proxy (tests/test_proxy.py: a real server)."""

from __future__ import annotations

import os
import re
import stat

import pytest

from kb.accounts import Accounts
from kb.audit import AuditLog
from kb.cli import main
from kb.index import access, update_index
from kb.web import create_app
from kb.web.auth import safe_next

from conftest import csrf_of, signed_in

PASSWORD = "верный-пароль-1"


@pytest.fixture()
def app(tmp_path, backend):
    """Every test of this module runs twice: with the state in the index folder's SQLite files
    and in a PostgreSQL database (conftest.backend)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Открытый отчет о выселении.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Служебная записка о выселении.\n", encoding="utf-8")
    (corpus / "b.txt.meta.yml").write_text("access: staff\n", encoding="utf-8")
    update_index(corpus, tmp_path / "index", show_progress=False)
    Accounts(tmp_path / "index").add("anna", PASSWORD, "staff")
    a = create_app(corpus, tmp_path / "index")
    a.testing = True
    return a


def login(c, name="anna", password=PASSWORD, token=None):
    if token is None:
        token = csrf_of(c.get("/login").get_data(as_text=True))
    return c.post("/login", data={"username": name, "password": password, "csrf_token": token})


def test_login_shows_staff_documents_and_logout_hides_them(app):
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    assert 'name="username"' in page and 'name="password"' in page and 'name="csrf_token"' in page
    assert c.get("/api/search?q=записка").json["total_docs"] == 0
    r = login(c)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert c.get("/api/search?q=записка").json["total_docs"] == 1
    assert "anna" in c.get("/").get_data(as_text=True)
    token = csrf_of(c.get("/").get_data(as_text=True))
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c.get("/api/search?q=записка").json["total_docs"] == 0
    events = [e.action for e in AuditLog(app.config["KB_INDEX"]).read()]
    assert events[:2] == ["logout", "login"]


def test_posts_without_a_valid_csrf_token_are_refused(app):
    c = app.test_client()
    r = c.post("/login", data={"username": "anna", "password": PASSWORD})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    r = login(c, token="forged")
    assert r.status_code == 400
    assert c.get("/api/search?q=записка").json["total_docs"] == 0
    c = signed_in(app, "anna", password=PASSWORD)
    assert c.post("/logout").status_code == 400                   # logout needs its token too
    assert c.get("/api/search?q=записка").json["total_docs"] == 1


def test_wrong_password_five_times_locks_the_account_and_says_until_when(app):
    c = app.test_client()
    token = csrf_of(c.get("/login").get_data(as_text=True))
    for _ in range(5):
        r = login(c, password="неверный", token=token)
        assert r.status_code == 401 and "Неверное имя или пароль" in r.get_data(as_text=True)
    r = login(c, token=token)                         # the right password, but locked
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 60
    assert "заблокирован" in html and "попробуйте снова после" in html and "мин" in html
    assert "учётной записи" in html
    # Another account from another address is not locked by it.
    Accounts(app.config["KB_INDEX"]).add("boris", PASSWORD, "staff")
    other = app.test_client()
    r = other.post("/login", data={"username": "boris", "password": PASSWORD,
                                   "csrf_token": csrf_of(other.get("/login").get_data(as_text=True))},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 302
    actions = [e.action for e in AuditLog(app.config["KB_INDEX"]).read()]
    assert actions.count("login.failed") == 5 and "login.locked" in actions


def test_the_lockout_is_shared_by_apps_over_one_index_and_outlives_them(app, backend):
    """Two apps over one index folder are two workers of kb serve; a third one, made after,
    is the server restarted: all count the same failures (INDEX/login-limits.sqlite3)."""
    other = create_app(app.config["KB_CORPUS"], app.config["KB_INDEX"])
    clients = [app.test_client(), other.test_client()]
    tokens = [csrf_of(c.get("/login").get_data(as_text=True)) for c in clients]
    for i in range(5):
        assert login(clients[i % 2], password="неверный", token=tokens[i % 2]).status_code == 401
    assert login(clients[1], token=tokens[1]).status_code == 429
    restarted = create_app(app.config["KB_CORPUS"], app.config["KB_INDEX"]).test_client()
    assert login(restarted).status_code == 429
    if backend == "sqlite":
        assert (app.config["KB_INDEX"] / "login-limits.sqlite3").stat().st_mode & 0o777 == 0o600


def test_limit_counters_start_a_new_window_when_the_old_one_is_over(tmp_path, monkeypatch):
    from kb.web import limitstore

    store = limitstore.CounterStorage(limitstore.uri(tmp_path))
    assert store.incr("k", 60) == 1 and store.incr("k", 60, amount=2) == 3 and store.get("k") == 3
    assert store.get_expiry("k") > limitstore.time.time() + 50
    now = limitstore.time.time()
    monkeypatch.setattr(limitstore.time, "time", lambda: now + 61)
    assert store.get("k") == 0 and store.incr("k", 60) == 1
    store.clear("k")
    assert store.get("k") == 0 and store.check()


def test_successful_logins_do_not_count_against_the_account(app):
    for _ in range(7):
        c = app.test_client()
        assert login(c).status_code == 302


def test_cookies_and_session_secret(app, backend):
    c = app.test_client()
    r = login(c)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secret = app.config["KB_INDEX"] / "secret_key"
    if backend == "sqlite":
        assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    else:
        assert not secret.exists()                  # the key is the database's
    # The same key after a restart: the session holds.
    again = create_app(app.config["KB_CORPUS"], app.config["KB_INDEX"])
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_proxy_makes_cookies_secure_and_the_app_alone_trusts_no_forwarded_header(app, tmp_path):
    # Behind a proxy the client's address, scheme and host are set by waitress before the app
    # (kb.web.serve.proxy_settings; tests/test_proxy.py against a real kb serve --proxy).
    behind = create_app(app.config["KB_CORPUS"], app.config["KB_INDEX"], proxy=1)
    behind.testing = True
    c = behind.test_client()
    forged = {"X-Forwarded-For": "203.0.113.7"}
    page = c.get("/login", headers=forged)
    r = c.post("/login", headers=forged,
               data={"username": "anna", "password": PASSWORD, "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"]
    assert AuditLog(app.config["KB_INDEX"]).read(action="login")[0].address == "127.0.0.1"
    c = app.test_client()
    r = login(c)
    assert "Secure" not in r.headers["Set-Cookie"]
    assert AuditLog(app.config["KB_INDEX"]).read(action="login")[0].address == "127.0.0.1"


@pytest.mark.parametrize("target,expected", [("/search?q=1", "/search?q=1"), ("//evil.example/", "/"),
                                             ("https://evil.example/", "/"), ("/\\evil", "/"), ("", "/"),
                                             ("javascript:alert(1)", "/")])
def test_next_stays_on_this_site(target, expected):
    assert safe_next(target) == expected


def test_serve_beyond_loopback_needs_an_admin(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    code = main(["serve", "--corpus", str(corpus), "--index", str(tmp_path / "ix"), "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert code == 1 and "kb user add ИМЯ --role admin" in err and "Traceback" not in err
    Accounts(tmp_path / "ix").add("staffer", PASSWORD, "staff")
    assert main(["serve", "--corpus", str(corpus), "--index", str(tmp_path / "ix"), "--host", "0.0.0.0"]) == 1
    from kb.web.serve import require_admin_for

    require_admin_for("127.0.0.1", tmp_path / "nothing")        # loopback: no account needed
    Accounts(tmp_path / "ix").add("root", PASSWORD, "admin")
    require_admin_for("0.0.0.0", tmp_path / "ix")


def test_audit_page_is_for_admins(app):
    anon = app.test_client()
    assert anon.get("/admin/audit").status_code == 302
    staff = signed_in(app, "anna", password=PASSWORD)
    assert staff.get("/admin/audit").status_code == 403
    admin = signed_in(app, "root", role="admin")
    (staff_doc,) = access.staff_ids(app.config["KB_INDEX"])
    assert staff.get(f"/doc/{staff_doc}").status_code == 200
    html = admin.get("/admin/audit").get_data(as_text=True)
    assert "Журнал действий" in html and "<td>login</td>" in html and "<td>view.staff</td>" in html
    assert "<td>view.staff</td>" not in admin.get("/admin/audit?action=login").get_data(as_text=True)


def test_saved_searches_page(app):
    assert app.test_client().get("/me").status_code == 302            # sign in first
    c = signed_in(app, "anna", password=PASSWORD)
    html = c.get("/search?q=выселение").get_data(as_text=True)
    assert "Сохранить поиск" in html
    token = csrf_of(html.split('class="inline save-search"', 1)[1])
    assert c.post("/me/searches", data={"q": "записка", "csrf_token": token}).status_code == 302
    assert c.post("/me/searches", data={"q": "записка"}).status_code == 400          # no CSRF token
    page = c.get("/me").get_data(as_text=True)
    assert "записка" in page and "новых нет" in page
    (sid,) = re.findall(r"/me/searches/([0-9a-f]+)\"", page)
    r = c.get(f"/me/searches/{sid}")
    assert r.status_code == 302 and "/search?q=" in r.headers["Location"]
    # Another person neither sees nor opens it.
    other = signed_in(app, "boris2", password=PASSWORD)
    assert "записка" not in other.get("/me").get_data(as_text=True)
    assert other.get(f"/me/searches/{sid}").status_code == 404
    assert c.post(f"/me/searches/{sid}/delete", data={"csrf_token": token}).status_code == 302
    assert "записка" not in c.get("/me").get_data(as_text=True)


def test_many_failures_from_one_address_lock_the_address(app):
    c = app.test_client()
    token = csrf_of(c.get("/login").get_data(as_text=True))
    for n in range(20):                       # a different name each time: no account is locked
        assert login(c, name=f"guess{n}", password="неверный", token=token).status_code == 401
    r = login(c, token=token)
    assert r.status_code == 429 and "этого адреса" in r.get_data(as_text=True)
    other = app.test_client()
    r = other.post("/login", data={"username": "anna", "password": PASSWORD,
                                   "csrf_token": csrf_of(other.get("/login").get_data(as_text=True))},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 302


# --- sessions end, names in one form -------------------------------------------------------------------

@pytest.mark.parametrize("how", ["logout", "passwd", "role", "remove"])
def test_a_copied_session_cookie_ends_with_the_session(app, how):
    c = app.test_client()
    assert login(c).status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", c.get_cookie("session").value)
    assert copy.get("/api/search?q=записка").json["total_docs"] == 1        # the copy works, for now
    acc = app.config["KB_ACCOUNTS"]
    bearer = {"Authorization": f"Bearer {acc.create_token('anna')}"}
    if how == "logout":
        assert c.post("/logout", data={"csrf_token": csrf_of(c.get("/").get_data(as_text=True))}).status_code == 302
    elif how == "passwd":
        acc.passwd("anna", "новый-пароль-1")
    elif how == "role":
        acc.set_role("anna", "admin")
    else:
        acc.remove("anna")
    for client in (copy, c):
        assert client.get("/api/search?q=записка").json["total_docs"] == 0
        assert client.get("/me").status_code == 302                       # to the login page
    # API tokens last until revoked (removal revokes them).
    r = c.get("/api/search?q=записка", headers=bearer)
    assert r.status_code == 401 if how == "remove" else r.json["total_docs"] == 1
    if how in ("logout", "role"):                                         # signing in again works
        assert login(c).status_code == 302 and c.get("/api/search?q=записка").json["total_docs"] == 1
        assert copy.get("/api/search?q=записка").json["total_docs"] == 0


def test_a_session_from_before_versions_is_anonymous(app):
    c = app.test_client()
    assert login(c).status_code == 302
    with c.session_transaction() as s:
        s.pop("kb_sv")
    assert c.get("/api/search?q=записка").json["total_docs"] == 0


def test_any_form_of_a_name_signs_in_and_counts_against_one_lockout(app):
    assert login(app.test_client(), name="ＡＮＮＡ").status_code == 302
    assert login(app.test_client(), name="Anna").status_code == 302
    c = app.test_client()
    token = csrf_of(c.get("/login").get_data(as_text=True))
    for form in ("Anna", "ANNA", "ａｎｎａ", "anna", "aNNa"):
        assert login(c, name=form, password="неверный", token=token).status_code == 401
    r = login(c, name="anna", token=token)
    assert r.status_code == 429 and "этой учётной записи" in r.get_data(as_text=True)
