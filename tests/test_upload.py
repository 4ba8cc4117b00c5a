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


# --- sidecars written by a serializer (issue 26) -----------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kb.enrich.sidecar import read_sidecar  # noqa: E402
from kb.uploads import dump_sidecar, place  # noqa: E402

TXT = "Служебная записка о ремонте.\n".encode()
# What pasting from Word or a PDF brings, and what YAML gives a meaning to.
ODD = ["\u2028", "\u2029", "\x85", "\r", "\n", "\r\n", "\t", '"', "'", "#", " #", ": ", "- ", "[", "]", "{", "}",
       "&", "*", "!", "|", ">", "%", "@", "`", ",", "?", "\\", "\u202e", "\u202b", "\u2066", "\u200f", "\u061c",
       "\ufeff", "\u00a0", "\u3000", "\x00", "\x1b", "~", "null", "yes", "2024-01-01", "1e3", "0x1F", "---", "..."]
odd_text = st.lists(st.one_of(st.sampled_from(ODD), st.characters(), st.text(max_size=5)), max_size=12).map("".join)


def _stripped(v: str) -> str | None:
    return v.strip() or None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=odd_text, org=odd_text, tags=st.lists(odd_text, max_size=4))
def test_any_title_tag_or_name_reads_back_as_written_and_stays_staff_only(title, org, tags):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        corpus = Path(d)
        rel = place(corpus, "", "записка.txt", TXT,
                    sidecar={"access": "staff", "title": title, "organisation": org, "tags": tags}).path
        meta = read_sidecar(corpus / rel)
        assert meta["access"] == "staff"
        assert meta.get("title") == _stripped(title)
        assert meta.get("organisation") == _stripped(org)
        assert meta.get("tags", []) == [t.strip() for t in tags if t.strip()]


@pytest.mark.parametrize("title", ["Записка\u2028о крыше", "Записка\x85о крыше", "Записка\rо крыше",
                                   'Записка "о крыше" # 1: - [', "- [x] \u202eавонитсеп"])
def test_a_pasted_title_keeps_a_staff_upload_staff_only(app, title):
    c = signed_in(app)
    r = upload(c, [("zapiska.txt", "Служебная записка о капремонте крыши.\n".encode())], access="staff",
               title=title)
    path = r.json["files"][0]["path"]
    assert wait_indexed(c, [path])[path]["status"] == "indexed"
    assert read_sidecar(app.config["KB_CORPUS"] / path) == {"access": "staff", "title": title}
    hit = c.get("/api/search?q=капремонт").json["hits"][0]
    assert hit["title"] == " ".join(title.split())             # as the index shows any title
    anon = app.test_client()
    assert anon.get("/api/search?q=капремонт").json["total_docs"] == 0
    for url in (f"/doc/{hit['doc_id']}", f"/file/{hit['doc_id']}", f"/api/documents/{hit['doc_id']}"):
        assert anon.get(url).status_code == 404, url


def test_sidecar_text_is_yaml_a_line_a_field_or_tag():
    title = "Отчёт\u2028за 2024\x85год " + "очень длинный " * 20
    text = dump_sidecar({"access": "staff", "title": title, "tags": ["а: б", "#в"]})
    assert text.splitlines()[:2] == ["access: staff", 'title: "' + title.replace("\u2028", "\\L").replace("\x85", "\\N") + '"']
    assert "\u2028" not in text and "\x85" not in text            # escaped, never raw line breaks
    assert text.count("\n") == 5


def test_a_replacement_keeps_the_fields_it_does_not_set_and_trashes_the_old_version(tmp_path):
    corpus, trash = tmp_path / "corpus", tmp_path / "trash"
    corpus.mkdir()
    place(corpus, "internal", "akt.txt", "Акт первый.\n".encode(),
          sidecar={"access": "staff", "title": "Акт о протечке", "date": "2024-03-01"})
    done = place(corpus, "internal", "akt.txt", "Акт второй.\n".encode(), replace=True,
                 sidecar={"access": "", "title": "", "type": "", "date": "2024-04-02"}, trash=trash)
    assert done.replaced and done.path == "internal/akt.txt"
    meta = read_sidecar(corpus / done.path)
    assert meta == {"access": "staff", "title": "Акт о протечке", "date": "2024-04-02"}
    assert (corpus / done.path).read_text(encoding="utf-8") == "Акт второй.\n"
    old = sorted(p.relative_to(trash).as_posix().split("/", 1)[1] for p in trash.rglob("*") if p.is_file())
    assert old == ["internal/akt.txt", "internal/akt.txt.meta.yml"]
    kept = next(trash.rglob("akt.txt"))
    assert kept.read_text(encoding="utf-8") == "Акт первый.\n"
    assert read_sidecar(kept)["date"] == "2024-03-01"
    # A second replacement in the same second keeps both old versions.
    place(corpus, "internal", "akt.txt", "Акт третий.\n".encode(), replace=True, trash=trash)
    assert sorted(p.read_text(encoding="utf-8") for p in trash.rglob("akt.txt")) == ["Акт второй.\n", "Акт первый.\n"]


def test_a_sidecar_that_cannot_be_read_is_replaced_by_a_staff_only_one(tmp_path):
    corpus, trash = tmp_path / "corpus", tmp_path / "trash"
    corpus.mkdir()
    (corpus / "memo.txt").write_text("Служебная записка.\n", encoding="utf-8")
    (corpus / "memo.txt.meta.json").write_text('{"access": "staff", "title": "Записка",}', encoding="utf-8")
    place(corpus, "", "memo.txt", TXT, replace=True, sidecar={"title": "Новая записка"}, trash=trash)
    assert read_sidecar(corpus / "memo.txt") == {"access": "staff", "title": "Новая записка"}
    assert not (corpus / "memo.txt.meta.json").exists()                   # it would be read first
    assert next(trash.rglob("memo.txt.meta.json")).read_text(encoding="utf-8").startswith('{"access"')
    # An explicit choice is the person's.
    place(corpus, "", "memo.txt", TXT, replace=True, sidecar={"access": "public"}, trash=trash)
    assert read_sidecar(corpus / "memo.txt")["access"] == "public"


def test_a_dangling_link_for_a_sidecar_gives_way_to_the_written_one(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "memo.txt.meta.json").symlink_to(tmp_path / "nowhere.json")
    place(corpus, "", "memo.txt", TXT, sidecar={"title": "Записка"}, trash=tmp_path / "trash")
    assert read_sidecar(corpus / "memo.txt") == {"access": "staff", "title": "Записка"}
    assert not (corpus / "memo.txt.meta.json").is_symlink()


def test_a_new_file_keeps_the_access_of_the_sidecar_it_falls_under(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "report.meta.yml").write_text("access: staff\n", encoding="utf-8")     # report.* of the folder
    place(corpus, "", "report.txt", TXT, sidecar={"title": "Отчёт для сотрудников"})
    assert read_sidecar(corpus / "report.txt") == {"access": "staff", "title": "Отчёт для сотрудников"}


def test_replace_from_the_document_page_keeps_its_title_and_the_admin_sees_the_old_version(app):
    c = signed_in(app)
    r = upload(c, [("akt.txt", "Акт проверки котельной.\n".encode())], access="staff", title="Акт о котельной")
    path = r.json["files"][0]["path"]
    wait_indexed(c, [path])
    hit = c.get("/api/search?q=котельной").json["hits"][0]
    r = upload(c, [("new.txt", "Акт проверки бойлерной.\n".encode())], replace_doc=hit["doc_id"], confirm="1",
               access="staff")
    assert r.status_code == 200, r.json
    wait_indexed(c, [path])
    hit = c.get("/api/search?q=бойлерной").json["hits"][0]
    assert hit["title"] == "Акт о котельной"
    assert app.test_client().get("/api/search?q=бойлерной").json["total_docs"] == 0
    trash = signed_in(app, "root", role="admin").get("/admin/trash").get_data(as_text=True)
    assert "akt.txt" in trash and "akt.txt.meta.yml" in trash


# --- errors as errors (issue 26) -----------------------------------------------------------------------

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
        "\u200f", "\u061c"]


@pytest.mark.parametrize("ch", BIDI)
def test_bidirectional_controls_are_refused_in_file_and_folder_names(tmp_path, ch):
    with pytest.raises(UploadError, match="направления письма") as e:
        clean_name(f"отчёт{ch}fdp.txt")
    assert ch not in str(e.value) and f"U+{ord(ch):04X}" in str(e.value)
    with pytest.raises(UploadError, match="направления письма"):
        folder_path(tmp_path, f"reports/20{ch}24")
    assert list(tmp_path.iterdir()) == []


def test_a_right_to_left_override_in_an_upload_is_refused(app):
    c = signed_in(app)
    r = upload(c, [("отчёт\u202etxt.exe.txt", "Текст.\n".encode())])
    assert r.status_code == 400 and "направления письма" in r.json["files"][0]["reason"]
    r = upload(c, [("a.txt", "Текст.\n".encode())], folder_new="evil\u202e")
    assert r.status_code == 400 and "направления письма" in r.json["files"][0]["reason"]


def test_a_link_out_of_the_corpus_creates_nothing_outside(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    (corpus / "out").symlink_to(outside)
    with pytest.raises(UploadError, match="за пределы коллекции"):
        folder_path(corpus, "out/new/deeper")
    with pytest.raises(UploadError):
        place(corpus, "out/x", "a.txt", TXT, sidecar={"title": "т"})
    assert list(outside.iterdir()) == []
    (corpus / "inside").symlink_to(corpus / "real", target_is_directory=True)    # a link that stays in
    (corpus / "real").mkdir()
    assert folder_path(corpus, "inside/y") == corpus.resolve() / "inside" / "y"
    assert (corpus / "real" / "y").is_dir()


def test_an_upload_through_a_link_out_of_the_corpus_is_refused_and_creates_nothing(app, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (app.config["KB_CORPUS"] / "link").symlink_to(outside)
    c = signed_in(app)
    r = upload(c, [("a.txt", "Текст.\n".encode())], folder_new="link/new/deeper")
    assert r.status_code == 400 and "за пределы коллекции" in r.json["files"][0]["reason"]
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("folder", ["\U0001f4c1" * 70,                       # 280 bytes in one name
                                    "я" * 101,
                                    "/".join(["я" * 100] * 25),               # a path over PATH_MAX
                                    "a.txt/sub"])                             # a file on the way
def test_a_folder_the_file_system_refuses_is_a_400(app, folder):
    c = signed_in(app)
    r = upload(c, [("b.txt", "Текст.\n".encode())], folder_new=folder)
    assert r.status_code == 400, r.get_data(as_text=True)
    reason = r.json["files"][0]["reason"]
    assert "папк" in reason and "Traceback" not in reason
    r = c.post("/upload", data={"csrf_token": token_of(c), "folder_new": folder,
                                "files": [(io.BytesIO("Текст.\n".encode()), "b.txt")]},
               content_type="multipart/form-data")
    assert r.status_code == 400 and "папк" in r.get_data(as_text=True)


def test_an_anonymous_script_gets_a_json_401(app):
    c = app.test_client()
    token = csrf_of(c.get("/login").get_data(as_text=True))
    for data in ({"csrf_token": token}, {}):
        r = c.post("/upload", data={**data, "files": [(io.BytesIO(b"x"), "a.txt")]},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
        assert r.status_code == 401 and r.is_json, r.get_data(as_text=True)
        assert "Войдите" in r.json["error"]["message_ru"]
    assert c.get("/upload/status?path=a.txt", headers={"Accept": "application/json"}).status_code == 401
    assert c.get("/upload").status_code == 302                      # a browser: the login page
    assert c.post("/upload", data={"csrf_token": token}).status_code == 302
