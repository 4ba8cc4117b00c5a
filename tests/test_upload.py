"""Upload, replace and delete from the browser's forms (Flask test client): staff only, CSRF,
formats checked by content, no path traversal, no overwrite without asking, indexing status
until searchable, deleted originals in the trash an admin empties."""

from __future__ import annotations

import io
import time

import pytest

from kb.accounts import Accounts
from kb.audit import AuditLog
from kb.index import update_index
from kb.uploads import UploadError, clean_name, folder_path
from kb.web import create_app

from conftest import csrf_of, signed_in

PASSWORD = "пароль-сотрудника"


@pytest.fixture()
def app(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Открытый отчет о выселении.\n", encoding="utf-8")
    update_index(corpus, tmp_path / "index", show_progress=False)
    a = create_app(corpus, tmp_path / "index")
    a.testing = True
    return a


def token_of(c) -> str:
    return csrf_of(c.get("/upload").get_data(as_text=True))


def upload(c, files, **form):
    data = {"csrf_token": token_of(c), **form,
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return c.post("/upload", data=data, content_type="multipart/form-data", headers={"Accept": "application/json"})


def wait_indexed(c, paths, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        got = c.get("/upload/status", query_string=[("path", p) for p in paths]).json["files"]
        if all(s["status"] in ("indexed", "failed", "removed") for s in got.values()):
            return got
        time.sleep(0.5)
    raise AssertionError(got)


def test_upload_is_for_staff_only(app):
    assert app.test_client().get("/upload").status_code == 302
    Accounts(app.config["KB_INDEX"]).add("reader1", PASSWORD, "reader")
    assert signed_in(app, "reader1", password=PASSWORD).get("/upload").status_code == 403
    c = signed_in(app)
    r = c.post("/upload", data={"files": [(io.BytesIO(b"text"), "x.txt")]}, content_type="multipart/form-data")
    assert r.status_code == 400                      # no CSRF token


def test_upload_index_find_replace_delete(app):
    c = signed_in(app)
    page = c.get("/upload").get_data(as_text=True)
    assert "До 50 МБ" in page and ".pdf" in page and ".docx" in page
    r = upload(c, [("zapiska.txt", "Служебная записка о капремонте крыши.\n".encode()),
                   ("fake.pdf", b"not really a pdf")], folder_new="internal/2024", access="staff",
               title="Записка о крыше")
    files = {f["name"]: f for f in r.json["files"]}
    assert files["fake.pdf"]["status"] == "failed" and "PDF" in files["fake.pdf"]["reason"]
    assert files["zapiska.txt"]["status"] == "queued"
    path = files["zapiska.txt"]["path"]
    assert path == "internal/2024/zapiska.txt"
    done = wait_indexed(c, [path])[path]
    assert done["status"] == "indexed"
    assert done["steps"] == ["queued", "indexing", "extracted", "indexed"]      # read, then in the index
    assert c.get("/api/search?q=капремонт").json["total_docs"] == 1
    assert app.test_client().get("/api/search?q=капремонт").json["total_docs"] == 0     # access: staff
    hit = c.get("/api/search?q=капремонт").json["hits"][0]
    assert hit["title"] == "Записка о крыше"

    # The same name again: refused unless asked.
    r = upload(c, [("zapiska.txt", "Другое.\n".encode())], folder="internal/2024")
    assert r.json["files"][0]["status"] == "exists"
    # Replace from the document's page.
    doc = c.get(f"/doc/{hit['doc_id']}").get_data(as_text=True)
    assert "Заменить" in doc and "Удалить" in doc
    r = upload(c, [("new.txt", "Служебная записка о ремонте подвала.\n".encode())], replace_doc=hit["doc_id"])
    assert r.status_code == 400 and "подтвердите замену" in r.json["files"][-1]["reason"]
    r = upload(c, [("new.txt", "Служебная записка о ремонте подвала.\n".encode())], replace_doc=hit["doc_id"], confirm="1")
    assert r.json["files"][0]["path"] == path
    wait_indexed(c, [path])
    assert c.get("/api/search?q=подвал").json["total_docs"] == 1
    assert c.get("/api/search?q=капремонт").json["total_docs"] == 0

    # Delete: confirmation required, then the original goes to the trash.
    token = token_of(c)
    assert c.post(f"/doc/{hit['doc_id']}/delete", data={"csrf_token": token}).status_code == 400
    r = c.post(f"/doc/{hit['doc_id']}/delete", data={"csrf_token": token, "confirm": "1"})
    assert r.status_code == 302
    wait_indexed(c, [path])
    assert c.get("/api/search?q=подвал").json["total_docs"] == 0
    assert not (app.config["KB_CORPUS"] / path).exists()
    admin = signed_in(app, "root", role="admin")
    assert "zapiska.txt" in admin.get("/admin/trash").get_data(as_text=True)
    assert c.get("/admin/trash").status_code == 403
    t = csrf_of(admin.get("/admin/trash").get_data(as_text=True))
    assert admin.post("/admin/trash/empty", data={"csrf_token": t}).status_code == 302
    assert "Корзина пуста" in admin.get("/admin/trash").get_data(as_text=True)
    actions = [e.action for e in AuditLog(app.config["KB_INDEX"]).read()]
    for a in ("upload", "replace", "delete", "trash.empty"):
        assert a in actions


@pytest.mark.parametrize("name", ["../evil.txt", ".hidden.txt", "a\x00.txt", "x.exe", "a.meta.yml", ""])
def test_bad_names_are_refused(name):
    if "/" in name:
        assert clean_name(name) == "evil.txt"        # only the last part of a path is kept
        return
    with pytest.raises(UploadError):
        clean_name(name)


@pytest.mark.parametrize("folder", ["../out", "a/../../b", ".git", "a/.hidden"])
def test_folders_cannot_leave_the_corpus(tmp_path, folder):
    with pytest.raises(UploadError):
        folder_path(tmp_path, folder)


def test_a_link_out_of_the_corpus_is_not_followed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "out").symlink_to(tmp_path)
    with pytest.raises(UploadError):
        folder_path(corpus, "out")


def test_an_upload_queued_by_one_app_is_seen_by_another_and_run_by_the_keeper(tmp_path):
    """Apps made with jobs_here=False (the workers of kb serve) only queue; the statuses are in
    INDEX/upload-jobs.sqlite3, so another app reads them, and one runner indexes the files."""
    from kb.web.jobs import Indexing

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Открытый отчет о выселении.\n", encoding="utf-8")
    update_index(corpus, tmp_path / "index", show_progress=False)
    one, two = (create_app(corpus, tmp_path / "index", jobs_here=False) for _ in range(2))
    c1, c2 = signed_in(one), signed_in(two)
    r = upload(c1, [("akt.txt", "Акт проверки котельной.\n".encode())], folder="")
    path = r.json["files"][0]["path"]
    status = lambda c: c.get("/upload/status", query_string={"path": path}).json["files"][path]  # noqa: E731
    time.sleep(0.5)
    assert status(c1)["status"] == status(c2)["status"] == "queued"          # nobody ran it
    Indexing(corpus, tmp_path / "index", run_here=False).run_pending()
    assert status(c2) == {"status": "indexed", "steps": ["queued", "indexing", "extracted", "indexed"]}
    assert c2.get("/api/search?q=котельной").json["total_docs"] == 1


def test_files_a_stopped_server_left_indexing_are_indexed_at_the_next_start(tmp_path):
    from kb.web.jobs import Indexing

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Акт проверки котельной.\n", encoding="utf-8")
    before = Indexing(corpus, tmp_path / "index", run_here=False)
    before.request(["a.txt"])
    before.store.take()                                  # a runner took it, then the server was killed
    assert before.status(["a.txt"])["a.txt"]["status"] == "indexing"
    after = Indexing(corpus, tmp_path / "index")
    after.resume()
    after.wait()
    assert after.status(["a.txt"])["a.txt"]["status"] == "indexed"


def test_api_token_uploads_without_csrf_but_a_session_needs_it(app):
    acc = Accounts(app.config["KB_INDEX"])
    acc.add("robot", PASSWORD, "staff")
    token = acc.create_token("robot")
    c = app.test_client()
    r = c.post("/upload", data={"files": [(io.BytesIO("Акт проверки котельной.\n".encode()), "akt.txt")]},
               content_type="multipart/form-data",
               headers={"Accept": "application/json", "Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json["files"][0]["status"] == "queued"
    s = signed_in(app)
    r = s.post("/upload", data={"files": [(io.BytesIO(b"x"), "b.txt")]}, content_type="multipart/form-data",
               headers={"Authorization": "Bearer kb_forged"})
    assert r.status_code == 401
    r = s.post("/upload", data={"files": [(io.BytesIO(b"x"), "b.txt")]}, content_type="multipart/form-data")
    assert r.status_code == 400


def test_consultation_records_uploaded_with_the_default_access_stay_staff_only(app):
    c = signed_in(app)
    csv = ("id,date,category,region,lawyer,question,answer,acts\n"
           "1,2023-05-16,жильё,Бишкек,,\"Соседи затопили квартиру\",\"Ущерб возмещает виновник.\",\n").encode()
    page = c.get("/upload").get_data(as_text=True)
    assert 'name="access" value="" checked' in page
    r = upload(c, [("zatoplenie.csv", csv)], access="")
    path = r.json["files"][0]["path"]
    assert wait_indexed(c, [path])[path]["status"] == "indexed"
    assert c.get("/api/search?q=затопили").json["total_docs"] == 1
    assert app.test_client().get("/api/search?q=затопили").json["total_docs"] == 0


def test_a_document_with_an_odd_name_can_be_shown_replaced_and_deleted(app):
    import os

    corpus = app.config["KB_CORPUS"]
    odd = os.fsdecode(b"bad\xffname.txt")
    (corpus / odd).write_text("Справка о котельной.\n", encoding="utf-8")
    update_index(corpus, app.config["KB_INDEX"], show_progress=False)
    c = signed_in(app)
    hit = c.get("/api/search?q=котельной").json["hits"][0]
    assert c.get(f"/doc/{hit['doc_id']}").status_code == 200
    r = upload(c, [("x.txt", "Справка о бойлерной.\n".encode())], replace_doc=hit["doc_id"], confirm="1")
    assert r.status_code == 200, r.get_data(as_text=True)
    path = r.json["files"][0]["path"]
    wait_indexed(c, [path])
    assert c.get("/api/search?q=бойлерной").json["total_docs"] == 1
    hit = c.get("/api/search?q=бойлерной").json["hits"][0]
    r = c.post(f"/doc/{hit['doc_id']}/delete", data={"csrf_token": token_of(c), "confirm": "1"})
    assert r.status_code == 302
    assert not (corpus / odd).exists()
    (corpus / os.fsdecode(b"\xff-folder")).mkdir()
    assert c.get("/upload").status_code == 200
    assert "bad" in signed_in(app, "root", role="admin").get("/admin/trash").get_data(as_text=True)
