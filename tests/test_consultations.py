"""Consultation records (issue 5): CSV, JSON Lines, Markdown; bad rows with their line numbers;
each record its own result with category and region facets; similar consultations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kb.extract import iter_files
from kb.extract.consultations import is_consultations_file, read_consultations
from kb.index import update_index
from kb.search import Filters, catalog, document, search
from kb.search.similar import similar, similar_to_text
from kb.web import create_app

from conftest import ROOT, signed_in

CSV = """id,date,category,region,lawyer,question,answer,acts
1,2023-05-16,Жильё,Бишкек,А. Осмонова,"Нас выселяют из общежития без суда, что делать?","Выселение из общежития только по решению суда, статья 84 Жилищного кодекса Российской Федерации.",ст. 84 ЖК РФ
2,32.13.2023,земля,Ош,,"Вопрос о земле","Ответ о земле",
3,2023-01-01,труд,Чуй,,,"Ответ без вопроса",
4,2022-02-02,семья,Нарын,,"Муж не платит алименты на детей","Взыскание алиментов через суд, статья 80 СК КР.",статья 80 СК КР
1,2022-02-03,семья,Нарын,,"Повтор id","Ответ",
5,2022-03-03,жильё,Ош,,"Комендант общежития выселяет семью с детьми","Без решения суда выселить нельзя; см. ст. 84 ЖК РФ.",ст. 84 ЖК РФ
"""

JSONL = "\n".join([
    json.dumps({"id": "j1", "question": "Как зарегистрировать общественное объединение?",
                "answer": "Регистрация в органах юстиции по уставу.", "date": "2020-01-01", "category": "НКО",
                "region": "Бишкек", "acts": ["Закон Кыргызской Республики «О некоммерческих организациях»"]},
               ensure_ascii=False),
    "{bad json",
    "[1, 2]",
    json.dumps({"вопрос": "Работодатель не платит зарплату", "ответ": "Обратитесь в инспекцию труда.",
                "категория": "труд", "регион": "Чуй"}, ensure_ascii=False),
]) + "\n"

MD = """---
type: консультация
date: 2021-03-04
category: земля
region: Ош
lawyer: А. Иванова
acts: [статья 12 ЗК КР]
---
## Вопрос
Сосед перенес забор и захватил часть участка.

## Ответ
Обратитесь в айыл окмоту; при отказе — иск в суд.
"""

CODE = """ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ

Принят Государственной Думой 22 декабря 2004 года

Статья 83. Расторжение договора социального найма

Договор социального найма может быть расторгнут по соглашению сторон.

Статья 84. Выселение граждан из жилых помещений

Выселение граждан производится в судебном порядке.

Статья 85. Выселение с предоставлением другого жилья

Граждане выселяются с предоставлением других благоустроенных жилых помещений.
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    c = tmp_path_factory.mktemp("cons") / "corpus"
    (c / "consultations").mkdir(parents=True)
    (c / "consultations" / "2023.csv").write_text(CSV, encoding="utf-8")
    (c / "consultations" / "more.jsonl").write_text(JSONL, encoding="utf-8")
    (c / "consultations" / "zabor.md").write_text(MD, encoding="utf-8")
    (c / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")     # not consultations: not indexed
    (c / "zhk.txt").write_text(CODE, encoding="utf-8")
    (c / "note.md").write_text("# Заметка\n\nПросто текст об общежитии.\n", encoding="utf-8")
    return c


@pytest.fixture(scope="module")
def built(corpus):
    index = corpus.parent / "index"
    report = update_index(corpus, index, show_progress=False)
    return index, report


def by_title(index) -> dict[str, object]:
    return {d.title: d for d in catalog(index).all()}


def test_detection(corpus):
    assert is_consultations_file(corpus / "consultations" / "2023.csv")
    assert is_consultations_file(corpus / "consultations" / "more.jsonl")
    assert is_consultations_file(corpus / "consultations" / "zabor.md")
    assert not is_consultations_file(corpus / "table.csv")
    assert not is_consultations_file(corpus / "note.md")
    files = {p.name for p in iter_files(corpus)}
    assert "table.csv" not in files and {"2023.csv", "more.jsonl", "zabor.md", "note.md"} <= files


def test_csv_bad_rows_with_line_numbers(corpus):
    recs, errors = read_consultations(corpus / "consultations" / "2023.csv")
    assert [r.id for r in recs] == ["1", "4", "5"]
    assert [(e.line, e.reason.split(" ")[0]) for e in errors] == [(3, "неверная"), (4, "нет"), (6, "повторяется")]
    r = recs[0]
    assert (r.date, r.category, r.region, r.lawyer, r.acts, r.line) == \
        ("2023-05-16", "жильё", "Бишкек", "А. Осмонова", ["ст. 84 ЖК РФ"], 2)


def test_jsonl_and_markdown(corpus):
    recs, errors = read_consultations(corpus / "consultations" / "more.jsonl")
    assert [r.category for r in recs] == ["НКО", "труд"] and [e.line for e in errors] == [2, 3]
    [md], errors = read_consultations(corpus / "consultations" / "zabor.md")
    assert not errors
    assert md.question.startswith("Сосед") and md.answer.startswith("Обратитесь")
    assert (md.id, md.region, md.acts) == ("zabor", "Ош", ["статья 12 ЗК КР"])


def test_multiline_csv_cell_keeps_line_numbers(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text('question;answer;date\n"Первая\nстрока";"ответ";2020\n"x";"";2020\n"В";"О";bad\n', encoding="cp1251")
    recs, errors = read_consultations(p)
    assert [r.question for r in recs] == ["Первая\nстрока"]
    assert [e.line for e in errors] == [4, 5]


def test_index_reports_bad_rows_and_imports_good_ones(built):
    index, report = built
    assert not report.failed
    warned = "\n".join(report.lines())
    assert "предупреждение: consultations/2023.csv, строка 3" in warned
    assert "consultations/more.jsonl, строка 2" in warned
    assert report.to_json()["warnings"]
    docs = [d for d in catalog(index).all() if d.doc_type == "консультация"]
    assert len(docs) == 3 + 2 + 1
    assert len({d.doc_id for d in docs}) == 6


def test_each_record_is_a_result_with_facets(built):
    index, _ = built
    res = search(index, "общежитие")
    titles = [g.title for g in res.groups]
    assert "Нас выселяют из общежития без суда, что делать?" in titles
    assert {f.value for f in res.facets["category"]} >= {"жильё"}
    res = search(index, "суд", filters=Filters(category=["семья"]))
    assert [g.title for g in res.groups] == ["Муж не платит алименты на детей"]
    res = search(index, "суд", filters=Filters(region=["Ош"]))
    assert {g.title for g in res.groups} <= {"Комендант общежития выселяет семью с детьми",
                                             "Сосед перенес забор и захватил часть участка."}


def test_record_cites_acts_and_act_lists_it(built):
    index, _ = built
    t = by_title(index)
    rec = t["Нас выселяют из общежития без суда, что делать?"]
    code = t["Жилищный кодекс Российской Федерации"]
    view = document(index, rec.doc_id)
    assert [p["text"][:3] for p in view.passages] == ["Нас", "Выс"]
    assert view.cites[0].doc_id == code.doc_id and view.cites[0].articles[0].number == "84"
    citing = {c.doc_id for c in document(index, code.doc_id).cited_by}
    assert rec.doc_id in citing and t["Комендант общежития выселяет семью с детьми"].doc_id in citing


def test_similar_consultations(built):
    index, _ = built
    t = by_title(index)
    rec = t["Нас выселяют из общежития без суда, что делать?"]
    got = similar(index, rec.doc_id, doc_type="консультация")
    assert got[0].title == "Комендант общежития выселяет семью с детьми"
    assert all(d.doc_type == "консультация" and d.doc_id != rec.doc_id for d in got)
    got = similar_to_text(index, "Соседи перенесли забор на мой участок земли", doc_type="консультация")
    assert got[0].title.startswith("Сосед перенес забор")


def test_update_and_remove_records(corpus, tmp_path):
    c = tmp_path / "c"
    shutil.copytree(corpus, c)
    index = tmp_path / "ix"
    update_index(c, index, show_progress=False)
    n = len(catalog(index).all())
    p = c / "consultations" / "2023.csv"
    p.write_text(CSV.replace("Муж не платит алименты на детей", "Жена не платит алименты"), encoding="utf-8")
    r = update_index(c, index, show_progress=False)
    assert r.updated == ["consultations/2023.csv"]
    assert search(index, "жена алименты").groups[0].title == "Жена не платит алименты"
    assert search(index, "муж").total_docs == 0
    p.unlink()
    update_index(c, index, show_progress=False)
    assert len(catalog(index).all()) == n - 3
    assert search(index, "алименты").total_docs == 0
    # A file with no good row fails, and is reported.
    (c / "bad.jsonl").write_text('{"question": "q", "answer": ""}\n', encoding="utf-8")
    r = update_index(c, index, show_progress=False)
    assert [p for p, _ in r.failed] == ["bad.jsonl"]


def test_web_pages_and_api(built, corpus):
    """Consultation records are staff documents: a signed-in staff member sees them all."""
    index, _ = built
    app = create_app(corpus, index)
    app.testing = True
    c = signed_in(app)
    t = by_title(index)
    rec = t["Нас выселяют из общежития без суда, что делать?"]
    html = c.get(f"/doc/{rec.doc_id}").get_data(as_text=True)
    for s in ("Вопрос", "Ответ", "Похожие консультации", "Категория", "жильё", "Бишкек", "А. Осмонова",
              "Комендант общежития выселяет семью с детьми"):
        assert s in html, s
    html = c.get("/search", query_string={"q": "общежитие"}).get_data(as_text=True)
    assert "Категория консультации" in html and "Регион" in html
    html = c.get("/search", query_string={"q": "суд", "category": "семья"}).get_data(as_text=True)
    assert "Муж не платит алименты" in html and "Комендант" not in html
    html = c.get("/consult").get_data(as_text=True)
    assert "<textarea" in html
    html = c.get("/consult", query_string={"text": "Комендант выгоняет нас из общежития"}).get_data(as_text=True)
    assert "Комендант общежития выселяет семью с детьми" in html and "Нормы права из этих консультаций" in html
    assert f'/doc/{t["Жилищный кодекс Российской Федерации"].doc_id}#p-' in html
    data = c.get("/api/consult", query_string={"text": "забор участок сосед"}).json
    assert data["consultations"][0]["consultation"]["category"] == "земля"
    assert c.get("/api/consult").status_code == 400
    assert c.get("/consult", query_string={"text": "ж" * 6000}).status_code == 400
    xss = c.get("/consult", query_string={"text": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)" not in xss


def test_demo_corpus_file():
    recs, errors = read_consultations(ROOT / "corpus" / "consultations" / "consultations.csv")
    assert len(recs) >= 8 and not errors
    assert {r.category for r in recs} >= {"жильё", "земля", "НКО", "семья", "труд"}


def test_browse_and_api_documents_filter_by_category_and_region(built, corpus):
    index, _ = built
    app = create_app(corpus, index)
    app.testing = True
    # Anonymous visitors do not learn that consultation records exist.
    anon = app.test_client().get("/docs").get_data(as_text=True)
    assert "Категория консультации" not in anon and "алименты" not in anon
    c = signed_in(app)
    html = c.get("/docs").get_data(as_text=True)
    assert "Категория консультации" in html and "Регион" in html and "Ош" in html
    html = c.get("/docs", query_string={"category": "семья"}).get_data(as_text=True)
    assert "Муж не платит алименты на детей" in html and "Комендант общежития" not in html
    assert "Сбросить фильтры" in html
    data = c.get("/api/documents", query_string={"region": "Ош"}).json
    titles = {d["title"] for d in data["documents"]}
    assert data["total"] == len(titles) >= 1
    assert titles <= {"Комендант общежития выселяет семью с детьми", "Сосед перенес забор и захватил часть участка."}
    both = c.get("/api/documents", query_string={"region": "Ош", "category": "семья"}).json
    assert both["total"] == 0
    assert c.get("/api/documents", query_string={"category": "x" * 500}).status_code == 400
    # Counts in one facet follow the other facet's selection.
    html = c.get("/docs", query_string={"category": "семья"}).get_data(as_text=True)
    assert 'aria-label="Нарын: 1 док."' in html and 'aria-label="Ош:' not in html
    html = c.get("/docs").get_data(as_text=True)
    assert 'aria-label="Ош: 2 док."' in html


def test_consult_tells_a_visitor_not_signed_in_that_records_are_for_staff(built, corpus):
    # Consultation records are staff documents: anonymously /consult finds none, and must say
    # why (a lawyer who forgot to sign in saw only "nothing found") without revealing them.
    index, _ = built
    app = create_app(corpus, index)
    app.testing = True
    story = {"text": "Комендант выгоняет нас из общежития"}
    anon = app.test_client().get("/consult", query_string=story).get_data(as_text=True)
    assert "Комендант общежития выселяет семью с детьми" not in anon
    assert "видны только" in anon and "/login?next=" in anon
    staff = signed_in(app).get("/consult", query_string={"text": "космический корабль орбита"})
    html = staff.get_data(as_text=True)
    assert "Похожих консультаций не найдено" in html and "видны только" not in html
