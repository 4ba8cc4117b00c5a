"""Working with what was found (issue 14) through Flask's test client: export, feed, the year
chart, folded filters, the since filter, the per-client limit of the new routes."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import feedparser
import openpyxl
import pytest

from kb.index import build, update_index
from kb.web import create_app
from kb.web.export import FORMULA_START

from conftest import ROOT

HEADER = ["Документ", "Тип", "Год", "Статья", "Страница", "Раздел", "Цитата", "Кратко", "Фрагмент", "Ссылка"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("take")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "formula.txt").write_text("=HYPERLINK(\"http://x\") выселение\x07 из общежития\n", encoding="utf-8")
    update_index(corpus, base / "index", show_progress=False)
    app = create_app(corpus, base / "index")
    app.testing = True
    return app


@pytest.fixture()
def client(site):
    return site.test_client()


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())                 # Excel reads UTF-8 Cyrillic
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_export_csv_rows_match_the_search(client):
    api = client.get("/api/search?q=выселение&per_page=100").json
    r = client.get("/export?q=выселение&format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="kb-')
    assert r.is_streamed
    rows = _csv_rows(r.data)
    assert rows[0] == HEADER
    assert len(rows) - 1 == api["total_hits"] == int(r.headers["X-KB-Rows"])
    assert r.headers["X-KB-Truncated"] == "0"
    by_title = {row[0].lstrip("'") for row in rows[1:]}
    assert {d["title"] for d in api["documents"]} <= by_title
    first = dict(zip(HEADER, rows[1]))
    assert first["Цитата"] and first["Ссылка"].startswith("http://localhost/doc/")
    assert "<mark>" not in "".join(row[8] for row in rows[1:]) and "&quot;" not in rows[1][8]


def test_export_filters_like_the_results_page(client):
    rows = _csv_rows(client.get("/export?q=выселение&type=отчёт&format=csv").data)[1:]
    assert rows and {r[1] for r in rows} == {"отчёт"}
    assert all(r[4].isdigit() and re.search(r"\?page=\d+$", r[9]) for r in rows)   # pages, stable links
    laws = _csv_rows(client.get("/export?q=жилье&type=нормативный акт&format=csv").data)[1:]
    assert any(r[3] and r[9].endswith(f"?st={r[3]}") for r in laws)


def test_export_xlsx_reads_back_with_openpyxl(client):
    csv_rows = _csv_rows(client.get("/export?q=выселение&format=csv").data)
    r = client.get("/export?q=выселение&format=xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True)
    rows = [["" if v is None else str(v) for v in row] for row in wb["Результаты"].iter_rows(values_only=True)]
    # The same cells, without the apostrophe CSV needs before a formula-like cell.
    assert rows == [[c[1:] if c[:1] == "'" and c[1:].startswith(FORMULA_START) else c for c in row]
                    for row in csv_rows]
    about = dict(wb["О выгрузке"].iter_rows(values_only=True))
    assert about["Запрос"] == "выселение" and about["Строк в файле"] == len(rows) - 1


def test_export_never_writes_a_formula(client):
    rows = _csv_rows(client.get("/export?q=общежития HYPERLINK&format=csv").data)
    cell = next(r[8] for r in rows[1:] if "HYPERLINK" in r[8])
    assert not cell.startswith("=") and "\x07" not in cell
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/export?q=общежития HYPERLINK&format=xlsx").data))
    cells = [c for row in wb["Результаты"].iter_rows() for c in row if "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" for c in cells)


# Each way a spreadsheet may start a formula (OWASP CSV injection), and text that only looks close.
RISKY = ["=1+2", "+7 (996) 555", "-5 000 сом", "@SUM(A1)", "\t=1+2", "\r=1+2", "\uff1d1+2", "\uff0b1",
         "\uff0d1", "\uff20SUM(A1)", "-=cmd|' /C calc'!A0"]
SAFE = ["Закон № 5", "5-й отчёт", " =не в начале", "'уже с апострофом", "«=» в кавычках"]


def _export_of(cells):
    from kb.search.export import COLUMNS, Export

    rows = [{key: cell for _, key in COLUMNS} for cell in cells]
    return rows, Export(query=cells[0], total_docs=1, total_hits=len(rows), count=len(rows), truncated=False,
                        cut=False)


def test_csv_cells_that_could_start_a_formula_start_with_an_apostrophe():
    from kb.web.export import _csv

    rows, ex = _export_of(RISKY + SAFE)
    got = _csv_rows("".join(_csv(rows, ex)).encode("utf-8"))[1:]
    assert [r[0] for r in got] == ["'" + v for v in RISKY] + SAFE
    assert all(len(set(r)) == 1 for r in got)          # every column alike


def test_xlsx_writes_formula_like_text_as_text_without_an_apostrophe():
    from kb.web.export import _xlsx

    rows, ex = _export_of(RISKY + SAFE + ["=HYPERLINK(\"http://x\")"])
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(_xlsx(rows, ex))))
    cells = [row[0] for row in wb["Результаты"].iter_rows(min_row=2)]
    assert [c.value for c in cells] == RISKY + SAFE + ["=HYPERLINK(\"http://x\")"]
    assert all(c.data_type == "s" for row in wb["Результаты"].iter_rows(min_row=2) for c in row)
    # Marked as typed text (Excel's own leading apostrophe, shown in no cell): it stays text when edited.
    assert [c.quotePrefix for c in cells] == [True] * len(RISKY) + [False] * len(SAFE) + [True]
    # The query (the visitor's text) on the second sheet too.
    about = {r[0].value: r[1] for r in wb["О выгрузке"].iter_rows()}
    assert about["Запрос"].value == "=1+2" and about["Запрос"].data_type == "s"


def test_export_json(client):
    r = client.get("/export?q=выселение&format=json")
    data = json.loads(r.data)
    assert data["query"] == "выселение" and data["rows_max"] == 10_000 and data["truncated"] is False
    assert len(data["rows"]) == data["total_hits"]
    assert {"title", "doc_type", "year", "article", "page", "citation", "snippet", "url", "doc_id",
            "passage"} <= set(data["rows"][0])


def test_export_is_bounded(client, monkeypatch):
    from kb.search import export as ex

    monkeypatch.setattr(ex, "MAX_ROWS", 3)
    r = client.get("/export?q=жилье&format=csv")
    assert len(_csv_rows(r.data)) == 4 and r.headers["X-KB-Truncated"] == "1"
    assert int(r.headers["X-KB-Total-Hits"]) > 3


@pytest.mark.parametrize("qs", ["", "q=жилье&format=pdf", "q=жилье&year=20", "q=жилье&since=завтра"])
def test_export_bad_requests_are_400(client, qs):
    assert client.get(f"/export?{qs}").status_code == 400


def test_results_page_links_export_and_feed(client):
    html = client.get("/search?q=выселение&type=отчёт").get_data(as_text=True)
    for fmt in ("csv", "xlsx", "json"):
        assert re.search(rf'href="/export\?format={fmt}&amp;q=[^"]*type=[^"]*" download', html), fmt
    assert "до 10 000 лучших" in html
    assert re.search(r'<a class="feed" href="/feed\?q=[^"]*type=', html)
    assert '<link rel="alternate" type="application/atom+xml"' in html


# --- the feed -----------------------------------------------------------------------------------

def test_feed_is_atom_newest_first_and_answers_304(client):
    r = client.get("/feed?q=выселение")
    assert r.status_code == 200 and r.content_type == "application/atom+xml; charset=utf-8"
    d = feedparser.parse(r.data)
    assert not d.bozo and d.version == "atom10"
    assert d.feed.title == "kb: «выселение»" and d.entries
    stamps = [e.updated for e in d.entries]
    assert stamps == sorted(stamps, reverse=True)
    assert all(e.link.startswith("http://localhost/doc/") and e.id for e in d.entries)
    again = client.get("/feed?q=выселение", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


def test_feed_gains_an_entry_when_a_matching_document_is_added(tmp_path, monkeypatch):
    clock = {"now": "2025-01-01T00:00:00Z"}
    monkeypatch.setattr(build, "now_utc", lambda: clock["now"])
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Отчёт о выселении\n\nВыселение из общежития.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Заметка о залоге\n\nЗалог за квартиру.\n", encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False)
    c = create_app(corpus, tmp_path / "i").test_client()
    before = feedparser.parse(c.get("/feed?q=выселение").data)
    assert [e.title for e in before.entries] == ["Отчёт о выселении"]
    clock["now"] = "2025-02-02T10:00:00Z"
    (corpus / "new.txt").write_text("Новое решение о выселении\n\nСуд запретил выселение.\n", encoding="utf-8")
    (corpus / "other.txt").write_text("Новая заметка о залоге\n\nЗалог.\n", encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False)
    after = feedparser.parse(c.get("/feed?q=выселение").data)
    assert [e.title for e in after.entries] == ["Новое решение о выселении", "Отчёт о выселении"]
    assert after.entries[0].published == "2025-02-02T10:00:00Z"
    assert after.feed.updated == "2025-02-02T10:00:00Z"
    # Without a query: the newest documents of the whole collection.
    every = feedparser.parse(c.get("/feed").data)
    assert [e.title for e in every.entries][:2] in (["Новое решение о выселении", "Новая заметка о залоге"],
                                                     ["Новая заметка о залоге", "Новое решение о выселении"])
    # What was added since a date, on the results page.
    html = c.get("/search?q=выселение&since=2025-02-01").get_data(as_text=True)
    assert "Новое решение о выселении" in html and "Отчёт о выселении</a>" not in html
    assert "Только документы, добавленные с 2025-02-01" in html


# --- the year chart, facets, phone fold ------------------------------------------------------------

def test_year_chart_is_accessible_and_filters(client):
    html = client.get("/search?q=жилью").get_data(as_text=True)
    chart = re.search(r'<figure class="year-chart".*?</figure>', html, re.S).group(0)
    assert "<figcaption" in chart and "Найденные документы по годам" in chart
    assert re.search(r'<svg [^>]*role="group" aria-label="Документов по годам: [^"]*2023 — \d+', chart)
    assert re.search(r"<title>Документов по годам: ", chart)
    m = re.search(r'<a href="(/search\?q=[^"]*year=2023[^"]*)"\s+class="bar"\s+aria-label="2023: (\d+) док\.', chart)
    assert m, chart
    assert re.search(r'<text [^>]*class="n">\d+</text>', chart)
    # The bar's link filters by that year; the chart still shows the other years, this one selected.
    html = client.get(m.group(1).replace("&amp;", "&")).get_data(as_text=True)
    chart = re.search(r'<figure class="year-chart".*?</figure>', html, re.S).group(0)
    assert 'class="bar selected"' in chart and "(выбрано: 2023)" in chart
    assert re.search(r'aria-label="2022: \d+ док\. — показать только этот год"', chart)
    api = client.get("/api/search?q=жилью&year=2023").json
    years = {f["value"]: f for f in api["facets"]["year"]}
    assert years["2023"]["selected"] and "2022" in years       # counts under the other filters
    assert all(h["year"] == 2023 for h in api["hits"])


def test_filters_fold_and_long_facets_show_more(site, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for y in range(2010, 2019):
        (corpus / f"r{y}.txt").write_text(f"Годовой отчёт {y}\n\nЖилье и выселение в {y} году.\n", encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False)
    c = create_app(corpus, tmp_path / "i").test_client()
    html = c.get("/search?q=жилье").get_data(as_text=True)
    assert re.search(r'<details class="filters-fold">\s*<summary>Фильтры', html)
    years = re.search(r'<section class="facet facet-year">.*?</section>', html, re.S).group(0)
    assert years.count('class="facet-link') == 9
    assert re.search(r'<details class="more">\s*<summary>ещё 4</summary>', years)
    html = c.get("/search?q=жилье&year=2010").get_data(as_text=True)      # a selected value folded away
    years = re.search(r'<section class="facet facet-year">.*?</section>', html, re.S).group(0)
    assert '<details class="more" open>' in years
    assert "выбрано: 1" in html


def test_new_routes_count_in_the_per_client_limit():
    from kb.web.guard import LIMITED

    assert {"export.export_results", "export.feed"} <= LIMITED
