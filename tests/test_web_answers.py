"""What every answer carries whoever asks (issue 26): a 413 for any body over its route's limit,
signed in or not, as a page or as JSON, never a 500; and Cache-Control that keeps pages and
files which depend on the person (or hold staff documents) out of browser and proxy caches."""

from __future__ import annotations

import io

import pytest

from kb.accounts import Accounts
from kb.index import update_index
from kb.web import create_app

from conftest import csrf_of, signed_in

NO_STORE = "private, no-store"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("answers")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Открытый отчет о выселении.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Служебная записка о выселении.\n", encoding="utf-8")
    (corpus / "b.txt.meta.yml").write_text("access: staff\n", encoding="utf-8")
    update_index(corpus, base / "index", show_progress=False)
    a = create_app(corpus, base / "index")
    a.testing = True
    return a


@pytest.fixture(scope="module")
def token(app) -> str:
    acc = Accounts(app.config["KB_INDEX"])
    acc.add("robot", "пароль-робота-1", "staff")
    return acc.create_token("robot")


def _ids(c) -> dict[str, str]:
    return {d["path"]: d["doc_id"] for d in c.get("/api/documents").json["documents"]}


# --- 413 -----------------------------------------------------------------------------------------

def _assert_413(r, *, as_json: bool):
    assert r.status_code == 413, (r.status_code, r.get_data(as_text=True)[:300])
    if as_json:
        assert r.is_json and r.json["error"]["status"] == 413
        assert r.json["error"]["message_ru"].startswith("Слишком большой запрос")
    else:
        html = r.get_data(as_text=True)
        assert r.mimetype == "text/html" and "Слишком большой запрос" in html and "Traceback" not in html


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_five_large_uploads_are_a_413_not_a_500(app, monkeypatch, who):
    # The route's limit (4 files of the size limit) made small, so the test sends 6 MB, not 250.
    from kb.web import upload as web_upload

    monkeypatch.setattr(web_upload, "MAX_UPLOAD_MB", 1)
    c = signed_in(app) if who == "staff" else app.test_client()
    token = csrf_of(c.get("/upload" if who == "staff" else "/login").get_data(as_text=True))
    body = b"%PDF-1.4\n" + b"0" * (1200 * 1024)
    for accept, as_json in (("text/html", False), ("application/json", True)):
        r = c.post("/upload", data={"csrf_token": token,
                                    "files": [(io.BytesIO(body), f"big{i}.pdf") for i in range(5)]},
                   content_type="multipart/form-data", headers={"Accept": accept})
        _assert_413(r, as_json=as_json)
        if as_json:
            assert "5 МБ" in r.json["error"]["message_ru"]
    if who == "staff":
        assert "Выйти" in c.get("/").get_data(as_text=True)          # still signed in


@pytest.mark.parametrize("who", ["anonymous", "staff", "token"])
@pytest.mark.parametrize("path", ["/logout", "/login", "/me/searches", "/doc/0123456789ab/delete",
                                  "/admin/trash/empty", "/search", "/api/search", "/api/documents", "/nowhere"])
def test_any_post_over_64_kb_is_a_413(app, token, who, path):
    c = signed_in(app) if who == "staff" else app.test_client()
    headers = {"Authorization": f"Bearer {token}"} if who == "token" else {}
    form = {"csrf_token": "x", "q": "я" * 40_000}
    r = c.post(path, data=form, headers=headers)
    _assert_413(r, as_json=path.startswith("/api/"))
    r = c.post(path, data=form, headers={**headers, "Accept": "application/json"})
    _assert_413(r, as_json=True)
    r = c.post(path, data=b"x" * 70_000, content_type="application/octet-stream", headers=headers)
    _assert_413(r, as_json=path.startswith("/api/"))


def test_a_form_over_the_limit_without_a_declared_length_is_a_413(app):
    # A chunked body has no Content-Length (waitress passes it de-chunked, marked as ending):
    # werkzeug stops reading it at the limit.
    c = signed_in(app)
    body = io.BytesIO(("csrf_token=x&q=" + "я" * 40_000).encode())
    r = c.post("/logout", input_stream=body, content_type="application/x-www-form-urlencoded",
               environ_overrides={"wsgi.input_terminated": True})
    _assert_413(r, as_json=False)


# --- Cache-Control -------------------------------------------------------------------------------

def _routes(c) -> list[str]:
    ids = _ids(c)
    some = ids["a.txt"]
    return ["/", "/search?q=выселение", f"/doc/{some}", f"/file/{some}", "/api/search?q=выселение",
            "/api/documents", f"/api/documents/{some}", f"/api/documents/{some}/similar",
            "/export?q=выселение&format=csv", "/export?q=выселение&format=xlsx", "/export?q=выселение&format=json",
            "/me", "/upload", "/upload/status?path=a.txt", "/admin/trash", "/admin/audit", "/docs", "/consult",
            "/login", "/nowhere", f"/doc/{some}?q=выселение"]


@pytest.mark.parametrize("who", ["anonymous", "staff", "admin", "token"])
def test_every_dynamic_answer_is_private_and_not_stored(app, token, who):
    c = {"anonymous": app.test_client, "token": app.test_client,
         "staff": lambda: signed_in(app), "admin": lambda: signed_in(app, "root", role="admin")}[who]()
    headers = {"Authorization": f"Bearer {token}"} if who == "token" else {}
    if who != "anonymous":
        staff_doc = _ids(signed_in(app))["b.txt"]
        extra = [f"/doc/{staff_doc}", f"/file/{staff_doc}", f"/api/documents/{staff_doc}"]
    else:
        extra = []
    for url in _routes(c) + extra:
        r = c.get(url, headers=headers)
        r.close()                                   # an export is streamed: not read here
        assert r.headers.get("Cache-Control") == NO_STORE, (url, r.status_code, r.headers.get("Cache-Control"))
    for url in ("/feed", "/api/openapi.json"):
        r = c.get(url, headers=headers)
        want = "no-cache" if who == "anonymous" else NO_STORE       # kept, but checked again each time
        assert r.headers.get("Cache-Control") == want, (url, r.headers.get("Cache-Control"))
    if who == "staff":
        t = csrf_of(c.get("/").get_data(as_text=True))
        assert c.post("/logout", data={"csrf_token": t}).headers["Cache-Control"] == NO_STORE


def test_static_files_may_be_cached(app):
    r = app.test_client().get("/static/upload.js")
    assert r.status_code == 200 and "no-store" not in (r.headers.get("Cache-Control") or "")
