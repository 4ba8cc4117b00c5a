"""The web layer through Flask's test client: every page, the API, files, and every error path.

The corpus is the repo's demo corpus copied to a temp folder, plus a few files written here:
a document containing `<script>`, one with a Cyrillic file name, and short notes so that
results need two pages.
"""

from __future__ import annotations

import re
import shutil
from urllib.parse import quote

import pytest

from kb.index import update_index
from kb.web import create_app

from conftest import ROOT, signed_in

SCRIPT_DOC = 'Заметка о скрипте\n\nВ тексте встречается <script>alert("xss")</script> и <b>теги</b>; жилье тут ни при чем.\n'
NOTES = 12


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("web")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "скрипт.txt").write_text(SCRIPT_DOC, encoding="utf-8")
    (corpus / "Отчёт о мониторинге.txt").write_text(
        "Отчет о мониторинге общежитий\n\nБишкек, 5 мая 2020 г.\n\nВ общежитиях нет горячей воды.\n",
        encoding="utf-8")
    notes = corpus / "notes"
    notes.mkdir()
    for n in range(NOTES):
        (notes / f"note-{n:02d}.txt").write_text(
            f"Заметка {n} о приеме граждан\n\nГражданин {n} спрашивал про арендованное жилье и залог.\n",
            encoding="utf-8")
    (base / "secret.txt").write_text("секрет", encoding="utf-8")
    index = base / "index"
    report = update_index(corpus, index, show_progress=False)
    assert not report.failed, report.lines()
    app = create_app(corpus, index)
    app.testing = True
    return app


@pytest.fixture()
def client(site):
    return site.test_client()


def text(resp) -> str:
    return resp.get_data(as_text=True)


def doc_ids(client) -> dict[str, str]:
    """path -> doc_id, from the API."""
    return {d["path"]: d["doc_id"] for d in client.get("/api/documents").json["documents"]}


# --- home, static, general -------------------------------------------------------------------

def test_home_shows_search_box_collection_and_syntax(client):
    r = client.get("/")
    assert r.status_code == 200
    html = text(r)
    assert '<html lang="ru">' in html
    assert 'name="viewport"' in html
    assert '<label for="q"' in html and 'id="q" name="q"' in html
    assert "Коллекция" in html and "По типу" in html and "По году" in html
    assert "Отчёт" in html and "Нормативный акт" in html and "2023" in html
    assert "/docs?type=" in html and "/docs?year=2023" in html
    assert "Как искать" in html and "жил*" in html


@pytest.mark.parametrize("url", ["/", "/search?q=жилью", "/docs"])
def test_pages_load_nothing_from_outside(client, url):
    html = text(client.get(url))
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "fonts.googleapis" not in html


def test_static_files_served(client):
    for name, mime in (("kb.css", "text/css"), ("kb.js", "text/javascript")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200
        assert r.content_type.startswith(mime)


def test_security_headers(client):
    r = client.get("/")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


# --- results ----------------------------------------------------------------------------------

def test_results_match_other_inflection_and_mark_it(client):
    r = client.get("/search?q=жилью")
    assert r.status_code == 200
    html = text(r)
    assert re.search(r"<mark>жиль[еяю]</mark>", html)
    assert "Найдено документов:" in html and "мс" in html
    assert "Модельный закон о праве на достойное жилье" in html
    # Passage labels link to the document, query kept, anchored at the passage.
    assert re.search(r'href="/doc/\w+\?q=%D0%B6%D0%B8%D0%BB%D1%8C%D1%8E#p-\d+"', html)
    assert re.search(r">Статья \d+\. ", html)           # article labels of the act
    reports = text(client.get("/search?q=жилью&type=отчёт"))
    assert re.search(r">Стр\. \d+<", reports)               # page labels of the reports
    assert re.search(r'href="/file/\w+#page=\d+"', reports)  # straight into the PDF page
    assert "Возможно, вы имели в виду" not in html        # жилью is a fine word


def test_results_facets_counts_and_filter(client):
    html = text(client.get("/search?q=жилью"))
    assert "Тип документа" in html and "Год" in html
    m = re.search(r'href="(/search\?q=[^"]*type=%D0%BE%D1%82%D1%87%D1%91%D1%82[^"]*)"', html)
    assert m, "facet link for отчёт"
    filtered = text(client.get(m.group(1).replace("&amp;", "&")))
    assert 'aria-current="true"' in filtered
    assert "Годовой отчет 2023" in filtered
    assert "Модельный закон" not in filtered
    assert "Сбросить фильтры" in filtered


def test_results_year_filter_and_hidden_inputs_keep_filters(client):
    html = text(client.get("/search?q=жилью&year=2022"))
    assert "Годовой отчет 2022" in html and "Годовой отчет 2023" not in html
    assert '<input type="hidden" name="year" value="2022">' in html


def test_results_sort_by_date(client):
    html = text(client.get("/search?q=жилью&sort=date"))
    years = [int(y) for y in re.findall(r'<span class="tag year">(\d{4})</span>', html)]
    assert years == sorted(years, reverse=True) and years
    assert "<strong aria-current=\"true\">по дате</strong>" in html


def test_results_pagination(client):
    html = text(client.get("/search?q=жилье"))
    assert 'aria-label="Страницы результатов"' in html
    assert 'rel="next"' in html
    page2 = client.get("/search?q=жилье&page=2")
    assert page2.status_code == 200
    assert '<strong aria-current="page">2</strong>' in text(page2)
    assert 'start="11"' in text(page2)


def test_results_page_past_end_goes_to_last(client):
    pages = client.get("/api/search?q=жилье&per_page=10").json["pages"]
    assert pages >= 2
    r = client.get("/search?q=жилье&page=50")
    assert r.status_code == 302
    assert f"page={pages}" in r.headers["Location"]


def test_results_corrected_and_exact(client):
    # A typo neither the index nor the lexicon knows: results for the correction, said so,
    # with a link to search the words as typed (exact=1), where the correction is only offered.
    html = text(client.get("/search?q=жилъе"))
    assert "Показаны результаты по запросу" in html and "искать точно" in html
    assert 'href="/search?q=%D0%B6%D0%B8%D0%BB%D1%8C%D0%B5"' in html
    assert "exact=1" in html
    html = text(client.get("/search?q=жилъе&exact=1"))
    assert "Возможно, вы имели в виду" in html and "Показаны результаты" not in html
    assert 'href="/search?q=%D0%B6%D0%B8%D0%BB%D1%8C%D0%B5&amp;exact=1"' in html
    assert client.get("/search?q=жилье&exact=maybe").status_code == 400


def test_results_latin_query_says_so(client):
    html = text(client.get("/search?q=eviction"))
    assert "Запрос набран латиницей" in html and "выселение" in html


def test_results_empty_state(client):
    r = client.get("/search?q=квазиэлектродинамика")
    assert r.status_code == 200
    html = text(r)
    assert "ничего не найдено" in html
    assert "жил*" in html and "/docs" in html


def test_results_empty_state_offers_dropping_filters(client):
    html = text(client.get("/search?q=жилью&type=исследование&year=2023"))
    assert "Искать без фильтров" in html


def test_empty_query_redirects(client):
    assert client.get("/search?q=").headers["Location"] == "/"
    assert client.get("/search?q=&type=отчёт").headers["Location"].startswith("/docs?type=")


@pytest.mark.parametrize("qs", [
    "q=жилье&page=0", "q=жилье&page=abc", "q=жилье&page=100000", "q=жилье&page=-1",
    "q=жилье&sort=random", "q=жилье&year=20x4", "q=" + "а" * 501, "q=ж*", "q=((жилье",
    "q=-жилье", "q=%22%22", "q=жил%00ье",
])
def test_bad_search_requests_are_400_with_message(client, qs):
    r = client.get("/search?" + qs)
    assert r.status_code == 400
    html = text(r)
    assert 'role="alert"' in html
    assert "Traceback" not in html


# --- escaping ----------------------------------------------------------------------------------

def test_document_text_is_escaped_in_results_and_document(client):
    html = text(client.get("/search?q=скрипте"))
    assert "&lt;script&gt;alert(" in html
    assert "<script>alert" not in html and "<b>теги" not in html
    doc_id = doc_ids(client)["скрипт.txt"]
    page = text(client.get(f"/doc/{doc_id}?q=скрипт"))
    assert "&lt;script&gt;alert(" in page and "<script>alert" not in page


def test_query_is_escaped(client):
    html = text(client.get("/search?q=" + quote('"><script>x</script>')))
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x" in html or "&#34;&gt;&lt;script" in html


# --- document -----------------------------------------------------------------------------------

def test_document_legal_act_outline_passages_and_marks(client):
    doc_id = doc_ids(client)["model-law-housing.docx"]
    r = client.get(f"/doc/{doc_id}?q=жилью")
    assert r.status_code == 200
    html = text(r)
    assert 'aria-label="Содержание"' in html
    assert re.search(r'<li class="level-2"><a href="#p-\d+">Статья 3\. Недопустимость', html)
    assert 'class="level-1"' in html                    # chapters
    assert re.search(r'id="p-\d+"', html)
    assert re.search(r"<mark>жиль[еяю]</mark>", html)
    assert f'href="/file/{doc_id}"' in html
    assert "К результатам поиска" in html
    assert "Совпадения «жилью»" in html


def test_document_pdf_pages_contents_and_page_links(client):
    doc_id = doc_ids(client)["godovoy-otchet-2023.pdf"]
    html = text(client.get(f"/doc/{doc_id}"))
    assert ">Стр. 3</a>" in html                       # contents by pages
    assert f'href="/file/{doc_id}#page=3"' in html
    assert "Страниц</dt><dd>5</dd>" in html
    assert "<mark>" not in html                         # no query, no marks


def test_document_without_matches_says_so(client):
    doc_id = doc_ids(client)["tenant-memo.txt"]
    html = text(client.get(f"/doc/{doc_id}?q=общежитие"))
    assert "нет совпадений" in html


@pytest.mark.parametrize("url", ["/doc/ffffffffffff", "/doc/..%2F..%2Fetc%2Fpasswd", "/doc/a.b", "/doc/" + "a" * 65])
def test_document_unknown_is_404(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert "Страница не найдена" in text(r)


def test_document_query_too_long_is_400(client):
    doc_id = doc_ids(client)["tenant-memo.txt"]
    assert client.get(f"/doc/{doc_id}?q=" + "ж" * 600).status_code == 400


# --- files ---------------------------------------------------------------------------------------

def test_file_pdf_inline_with_type_and_name(client):
    doc_id = doc_ids(client)["godovoy-otchet-2023.pdf"]
    r = client.get(f"/file/{doc_id}")
    assert r.status_code == 200
    assert r.content_type == "application/pdf"
    assert r.data.startswith(b"%PDF")
    assert r.headers["Content-Disposition"] == "inline; filename=godovoy-otchet-2023.pdf"


def test_file_docx_downloads(client):
    doc_id = doc_ids(client)["model-law-housing.docx"]
    r = client.get(f"/file/{doc_id}")
    assert r.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.data.startswith(b"PK")


def test_file_cyrillic_name_rfc5987(client):
    doc_id = doc_ids(client)["Отчёт о мониторинге.txt"]
    r = client.get(f"/file/{doc_id}")
    assert r.status_code == 200
    assert r.content_type == "text/plain; charset=utf-8"
    cd = r.headers["Content-Disposition"]
    assert "filename*=UTF-8''" + quote("Отчёт о мониторинге.txt") in cd
    assert "Отчет о мониторинге" in r.get_data(as_text=True)


def test_file_html_is_sandboxed(client):
    doc_id = doc_ids(client)["study-migrants-housing.html"]
    r = client.get(f"/file/{doc_id}")
    assert r.content_type.startswith("text/html")
    assert r.headers["Content-Security-Policy"] == "sandbox"


ODD_NAMES = {
    "line\nbreak.txt": ("line_break.txt", "line_break.txt"),
    'say "hi" it\'s.txt': ('say "hi" it\'s.txt', "say _hi_ it_s.txt"),
    "Отчёт №1 — «жильё».txt": ("Отчёт №1 — «жильё».txt", "No1.txt"),
    "a;b,c%20d\t.txt": ("a;b,c%20d_.txt", "a_b_c_20d.txt"),
}


def _disposition(resp) -> tuple[str, str, str | None]:
    """(inline/attachment, filename, the decoded filename*) of a response."""
    from urllib.parse import unquote

    from werkzeug.http import parse_options_header

    cd = resp.headers["Content-Disposition"]
    assert "\n" not in cd and "\r" not in cd and cd.isascii()
    kind = parse_options_header(cd)[0]       # (werkzeug's parser merges filename* into filename)
    plain = re.search(r'filename=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', cd)
    star = re.search(r"filename\*=UTF-8''([^;\s]+)", cd)
    return kind, plain.group(1) or plain.group(2), unquote(star.group(1)) if star else None


def test_file_odd_names_download(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for n, name in enumerate(ODD_NAMES):
        (corpus / name).write_text(f"Заметка номер {n} о странном имени файла\n", encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False)
    c = create_app(corpus, tmp_path / "i").test_client()
    docs = {d["path"]: d["doc_id"] for d in c.get("/api/documents").json["documents"]}
    assert set(docs) == set(ODD_NAMES)
    for name, (shown, fallback) in ODD_NAMES.items():
        r = c.get(f"/file/{docs[name]}")
        assert r.status_code == 200, name
        assert "странном имени" in r.get_data(as_text=True)
        kind, ascii_name, utf8_name = _disposition(r)
        assert kind == "inline" and ascii_name == fallback
        assert utf8_name == (shown if shown != fallback else None)


def test_file_name_with_bytes_that_are_not_utf8(tmp_path, monkeypatch):
    """A name from an old archive in cp1251, served by the files route (the catalog is faked so the
    file need not extract; tests/test_index_faults.py indexes such names for real)."""
    import os

    import kb.web.files
    from kb.search.catalog import DocInfo

    corpus = tmp_path / "c"
    corpus.mkdir()
    raw = "Договор".encode("cp1251") + b" \xab1\xbb.docx"
    with open(os.path.join(os.fsencode(corpus), raw), "wb") as f:
        f.write(b"PK\x03\x04 not really a docx")
    name = os.fsdecode(raw)
    info = DocInfo(doc_id="abc123", path=name, title="Договор", doc_type="другое", year=None, format="docx",
                   pages=1, passages=1, size=24, sha256="", meta={})

    class FakeCatalog:
        def get(self, doc_id):
            return info if doc_id == "abc123" else None

    monkeypatch.setattr(kb.web.files, "catalog", lambda index: FakeCatalog())
    c = create_app(corpus, tmp_path / "i").test_client()
    r = c.get("/file/abc123")
    assert r.status_code == 200 and r.data.startswith(b"PK")
    kind, ascii_name, utf8_name = _disposition(r)
    assert kind == "attachment"
    assert ascii_name == "1.docx"
    assert utf8_name == "_______ _1_.docx"


@pytest.mark.parametrize("url", [
    "/file/../../etc/passwd", "/file/..%2F..%2Fetc%2Fpasswd", "/file/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/file/etc/passwd", "/file//etc/passwd", "/file/..", "/file/secret.txt", "/file/ffffffffffff",
    "/file/" + quote("../secret.txt", safe=""), "/file/%00",
])
def test_file_traversal_and_unknown_ids_are_404(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert "секрет" not in r.get_data(as_text=True)
    assert b"root:" not in r.data


def test_file_removed_from_corpus_is_404(site, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Временный документ о жилье\n", encoding="utf-8")
    index = tmp_path / "i"
    update_index(corpus, index, show_progress=False)
    app = create_app(corpus, index)
    c = app.test_client()
    doc_id = c.get("/api/documents").json["documents"][0]["doc_id"]
    assert c.get(f"/file/{doc_id}").status_code == 200
    (corpus / "a.txt").unlink()
    assert c.get(f"/file/{doc_id}").status_code == 404


# --- browse ---------------------------------------------------------------------------------------

def test_browse_lists_all_documents(client):
    html = text(client.get("/docs"))
    total = client.get("/api/documents").json["total"]   # records of a consultations file share its path
    assert f"Документы: {total}<" in html
    assert "Годовой отчет 2023" in html and "Памятка арендатору жилья" in html


def test_browse_filters_and_sorts(client):
    html = text(client.get("/docs?type=нормативный акт"))
    assert "Модельный закон" in html and "Годовой отчет" not in html
    html = text(client.get("/docs?year=2022&year=2023&sort=date"))
    years = [int(y) for y in re.findall(r'<span class="tag year">(\d{4})</span>', html)]
    assert set(years) <= {2022, 2023} and years == sorted(years, reverse=True)
    titles = re.findall(r'<h2><a href="/doc/\w+">([^<]+)</a></h2>', text(client.get("/docs?sort=title")))
    assert titles == sorted(titles, key=str.lower)


@pytest.mark.parametrize("qs", ["sort=size", "year=abc", "type=" + "x" * 200])
def test_browse_bad_params_400(client, qs):
    assert client.get("/docs?" + qs).status_code == 400


def test_unknown_page_404(client):
    r = client.get("/nope")
    assert r.status_code == 404 and "Страница не найдена" in text(r)


def test_post_to_page_is_405(client):
    assert client.post("/search?q=жилье").status_code == 405


# --- JSON API -----------------------------------------------------------------------------------------

def test_api_search_fields_facets_paging(client):
    r = client.get("/api/search?q=жилью&per_page=3")
    assert r.status_code == 200 and r.is_json
    j = r.json
    for key in ("query", "total_docs", "total_hits", "page", "per_page", "pages", "facets", "hits",
                "documents", "took_ms", "suggestion", "sort"):
        assert key in j
    assert j["per_page"] == 3 and len(j["documents"]) == 3 and j["pages"] >= 2
    hit = j["hits"][0]
    for key in ("path", "title", "doc_type", "score", "snippet", "doc_id", "passage"):
        assert key in hit
    assert any("<mark>" in h["snippet"] for h in j["hits"])
    assert any("article" in h for h in j["hits"]) or any("page" in h for h in j["hits"])
    assert {f["value"] for f in j["facets"]["doc_type"]} >= {"отчёт", "нормативный акт"}


def test_api_search_filters(client):
    j = client.get("/api/search?q=жилью&type=отчёт&year=2023").json
    assert {d["path"] for d in j["documents"]} == {"godovoy-otchet-2023.pdf"}
    assert any(f["selected"] for f in j["facets"]["doc_type"])


@pytest.mark.parametrize("qs,status", [
    ("", 400), ("q=", 400), ("q=жилье&page=0", 400), ("q=жилье&per_page=1000", 400),
    ("q=жилье&per_page=x", 400), ("q=ж*", 400), ("q=" + "а" * 501, 400), ("q=жилье&sort=x", 400),
    ("q=жилье&year=1", 400),
])
def test_api_search_errors_are_json(client, qs, status):
    r = client.get("/api/search?" + qs)
    assert r.status_code == status and r.is_json
    err = r.json["error"]
    assert err["status"] == status
    assert err["message_ru"] and err["message_en"]
    assert re.search("[а-я]", err["message_ru"]) and not re.search("[а-я]", err["message_en"])


def test_api_documents(client):
    j = client.get("/api/documents").json
    assert j["total"] == len(j["documents"]) >= 6
    d = j["documents"][0]
    for key in ("doc_id", "path", "title", "doc_type", "year", "format", "pages", "passages", "size", "sha256"):
        assert key in d
    j = client.get("/api/documents?type=отчёт&sort=date").json
    assert [d["year"] for d in j["documents"]] == [2023, 2022, 2020]


def test_api_document(client):
    doc_id = doc_ids(client)["model-law-housing.docx"]
    j = client.get(f"/api/documents/{doc_id}?q=жилью").json
    assert j["doc_id"] == doc_id
    assert any(e.get("article") == "3" for e in j["outline"])
    assert j["passages"] and "text" in j["passages"][0] and "ordinal" in j["passages"][0]


@pytest.mark.parametrize("url", ["/api/documents/ffffffffffff", "/api/documents/a.b", "/api/nothing",
                                 "/api/documents/x/y"])
def test_api_not_found_is_json_404(client, url):
    r = client.get(url)
    assert r.status_code == 404 and r.is_json
    assert r.json["error"]["status"] == 404


def test_api_wrong_method_is_json_405(client):
    r = client.post("/api/search?q=жилье")
    assert r.status_code == 405 and r.is_json


def test_unexpected_error_is_500_without_traceback(site, monkeypatch):
    import kb.web.api

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(kb.web.api, "search", boom)
    r = site.test_client().get("/api/search?q=жилье")
    assert r.status_code == 500 and r.is_json
    assert "secret internals" not in r.get_data(as_text=True)


NOTICE_PAGES = ["/", "/search?q=жилье", "/docs", "/consult?text=" + quote("соседи затопили квартиру")]


def test_no_index_is_a_page_not_an_error(tmp_path):
    app = create_app(tmp_path / "corpus", tmp_path / "index")
    c = app.test_client()
    for url in NOTICE_PAGES:
        r = c.get(url)
        assert r.status_code == 200, url
        assert "Индекс ещё не построен: выполните `kb index` или дождитесь окончания индексации" in text(r), url
    for url in ("/api/search?q=жилье", "/api/documents", "/api/consult?text=" + quote("затопили квартиру")):
        r = c.get(url)
        assert r.status_code == 200 and r.is_json, url
        assert r.json["notice"]["message_ru"].startswith("индекс ещё не построен"), url
        assert r.json["notice"]["message_en"].startswith("no index yet"), url
    j = c.get("/api/search?q=жилье").json
    assert j["total_docs"] == 0 and j["hits"] == [] and j["documents"] == []
    assert c.get("/api/documents").json["documents"] == []
    # A malformed query is still a 400, index or not.
    assert c.get("/api/search?q=" + quote("(" * 20 + "жилье")).status_code == 400
    # No index, no document: a 404, not an error of the server.
    assert c.get("/doc/0123456789ab").status_code == 404
    assert c.get("/api/documents/0123456789ab").status_code == 404
    assert c.get("/file/0123456789ab").status_code == 404


def test_empty_index_is_a_page_naming_the_corpus_folder(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    update_index(corpus, tmp_path / "index", show_progress=False)
    app = create_app(corpus, tmp_path / "index")
    c = app.test_client()
    staff = signed_in(app)
    for url in NOTICE_PAGES:
        r = c.get(url)
        assert r.status_code == 200, url
        # The folder is named to staff; a visitor learns no server path (issue 26).
        assert "В индексе пока нет документов: добавьте файлы в папку документов" in text(r), url
        assert str(corpus) not in text(r), url
        assert "добавьте файлы в папку " + str(corpus) in text(staff.get(url)), url
    j = c.get("/api/search?q=жилье").json
    assert j["total_docs"] == 0 and j["notice"]["message_en"] == "the index has no documents yet"
    j = c.get("/api/documents").json
    assert j["total"] == 0 and j["notice"]["message_ru"].startswith("в индексе пока нет документов")


def test_damaged_index_is_503_with_its_message(site, monkeypatch):
    from kb.errors import KbError
    import kb.web.views

    def damaged(*a, **k):
        raise KbError("индекс повреждён: выполните `kb index` заново (index is damaged)")

    monkeypatch.setattr(kb.web.views, "index_notice", damaged)
    c = site.test_client()
    r = c.get("/api/search?q=жилье")
    assert r.status_code == 503 and r.json["error"]["message_en"] == "index is damaged"
    r = c.get("/")
    assert r.status_code == 503 and "индекс повреждён" in text(r)


def test_cli_search_without_index_is_one_line(tmp_path, capsys):
    from kb.cli import main

    assert main(["search", "--index", str(tmp_path / "none"), "жилье"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "индекс ещё не построен" in err
    (tmp_path / "c").mkdir()
    update_index(tmp_path / "c", tmp_path / "i", show_progress=False)
    assert main(["search", "--index", str(tmp_path / "i"), "жилье"]) == 0
    out = capsys.readouterr()
    assert "в индексе пока нет документов" in out.err and "Найдено документов: 0" in out.out


# --- serve command -----------------------------------------------------------------------------------

def test_serve_defaults_bind_loopback():
    from kb.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 5000 and not args.debug


def test_serve_indexes_when_missing_then_not(tmp_path, capsys):
    from kb.web.serve import prepare_index

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Документ о жилье\n", encoding="utf-8")
    prepare_index(corpus, tmp_path / "i")
    assert "добавлен" in capsys.readouterr().err
    prepare_index(corpus, tmp_path / "i")
    assert "актуален" in capsys.readouterr().err


def test_serve_missing_corpus_is_an_error(tmp_path):
    from kb.errors import KbError
    from kb.web.serve import prepare_index

    with pytest.raises(KbError):
        prepare_index(tmp_path / "nope", tmp_path / "i")
