"""Issue 10 on a small corpus: copies shown once, a query naming a document finds it first,
English and Kyrgyz queries, and plain words that never lose all results."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.index import update_index
from kb.search import catalog, document, search

ARTICLES = "\n\n".join(
    f"Статья {n}. {title}\n\n{text}" for n, (title, text) in enumerate([
        ("Выселение граждан", "Выселение граждан из жилых помещений производится в судебном порядке по иску наймодателя."),
        ("Договор найма", "По договору найма жилого помещения наймодатель передает нанимателю жилое помещение за плату."),
        ("Плата за жилье", "Наниматель обязан своевременно вносить плату за жилое помещение и коммунальные услуги."),
        ("Переустройство", "Переустройство жилого помещения проводится по согласованию с органом местного самоуправления."),
        ("Совет дома", "Совет многоквартирного дома избирается на общем собрании собственников помещений."),
        ("Капитальный ремонт", "Собственники помещений уплачивают взносы на капитальный ремонт общего имущества."),
    ], start=80))
CODE = "ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ\n\nПринят Государственной Думой 22 декабря 2004 года\n\n" + ARTICLES
REPORT = """I. ВВЕДЕНИЕ.

1.1. ОБЩАЯ СИТУАЦИЯ В 2019 ГОДУ
В 2019 году «МЦ Интербилим» провел тренинги по правам человека и жилищным правам.
«МЦ Интербилим» организовал лагеря демократии для школьников Чуйской области.

II. ДЕЯТЕЛЬНОСТЬ «МЦ ИНТЕРБИЛИМ»
2.1. ЖИЛИЩНЫЕ ПРАВА
Юристы консультировали жителей о выселении, плате за жилье и договоре найма жилого помещения.
Годовой отчет о работе юристов и о выселении граждан из общежитий.
"""
LAND = """ЗЕМЕЛЬНЫЙ КОДЕКС КЫРГЫЗСКОЙ РЕСПУБЛИКИ

Статья 13. Компетенция айыл окмоту

Айыл окмоту предоставляет земельные участки в аренду и ведет учет земель.

Статья 14. Аренда земли

Земельный участок предоставляется в аренду на срок до 49 лет.

Статья 15. Самовольный захват

Самовольный захват земельного участка влечет ответственность.
"""


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("items")
    corpus = base / "corpus"
    (corpus / "acts").mkdir(parents=True)
    (corpus / "reports").mkdir()
    (corpus / "acts" / "zhk.txt").write_text(CODE, encoding="utf-8")
    # The same code as an HTML page: a copy in another format.
    html = "<html><head><title>Complex</title></head><body>" + "".join(
        f"<p>{line}</p>" for line in CODE.splitlines() if line.strip()) + "</body></html>"
    (corpus / "acts" / "zhk.html").write_text(html, encoding="utf-8")
    (corpus / "acts" / "land.txt").write_text(LAND, encoding="utf-8")
    (corpus / "reports" / "interbilim-annual-report-2019.txt").write_text(REPORT, encoding="utf-8")
    index = base / "index"
    assert not update_index(corpus, index, show_progress=False).failed
    return index


def paths(res):
    return [g.path for g in res.groups]


def test_copies_are_linked_and_shown_once(index_dir):
    cat = catalog(index_dir)
    by_path = {d.path: d for d in cat.all()}
    assert by_path["acts/zhk.txt"].meta["copies"] == [by_path["acts/zhk.html"].doc_id]
    assert by_path["acts/zhk.html"].meta["copies"] == [by_path["acts/zhk.txt"].doc_id]
    assert "copies" not in by_path["acts/land.txt"].meta
    res = search(index_dir, "выселение граждан")
    shown = paths(res)
    assert len([p for p in shown if p.startswith("acts/zhk")]) == 1
    group = next(g for g in res.groups if g.path.startswith("acts/zhk"))
    assert [c["format"] for c in group.also] in (["html"], ["txt"])
    assert res.copies_joined == 1 and res.total_docs == len(shown)
    assert res.to_json()["documents"][shown.index(group.path)]["also"] == group.also
    # Asked for: each copy on its own.
    both = search(index_dir, "выселение граждан", copies=True)
    assert {"acts/zhk.txt", "acts/zhk.html"} <= set(paths(both)) and both.copies_joined == 0
    # The page of one offers the other.
    view = document(index_dir, group.doc_id)
    assert [c.doc_id for c in view.copies] == [group.also[0]["doc_id"]]


def test_titles_of_the_small_corpus(index_dir):
    titles = {d.path: d.title for d in catalog(index_dir).all()}
    assert titles["reports/interbilim-annual-report-2019.txt"] == "Годовой отчёт «МЦ Интербилим» за 2019 год"
    assert titles["acts/zhk.txt"] == "Жилищный кодекс Российской Федерации"
    assert titles["acts/land.txt"] == "Земельный кодекс Кыргызской Республики"


def test_known_item_first(index_dir):
    # The code has these words in more passages; the query names the report.
    assert paths(search(index_dir, "годовой отчет Интербилим"))[0] == "reports/interbilim-annual-report-2019.txt"
    assert paths(search(index_dir, "отчет интербилим 2019"))[0] == "reports/interbilim-annual-report-2019.txt"
    assert paths(search(index_dir, "земельный кодекс кр"))[0] == "acts/land.txt"
    # A phrase that the document does not hold keeps it out, named or not.
    res = search(index_dir, 'отчет интербилим "договор найма"')
    assert all(g.path != "acts/land.txt" for g in res.groups)


def test_english_query_finds_russian_terms_and_says_so(index_dir):
    res = search(index_dir, "eviction")
    assert res.latin == ["выселение"]
    assert res.groups and res.groups[0].path.startswith("acts/zhk")
    res = search(index_dir, "qwertyzz")
    assert res.latin == [] and not res.groups
    assert search(index_dir, "выселение").latin is None


def test_kyrgyz_letters_and_words(index_dir):
    assert paths(search(index_dir, "айыл өкмөтү"))[0] == "acts/land.txt"
    # A Kyrgyz term of the glossary finds the Russian one: жер участогу = земельный участок.
    assert paths(search(index_dir, "жер участогу"))[0] == "acts/land.txt"


@pytest.mark.parametrize("query", ["земельный участок самозахват", "выселение qqqzzz", "договор найма eviction",
                                   "жилищьный кодекс", "регистрация по месту жительства"])
def test_plain_words_never_lose_all_results(index_dir, query):
    assert search(index_dir, query).groups


def test_web_shows_copies_outline_and_notices(index_dir):
    from kb.web import create_app

    corpus = index_dir.parent / "corpus"
    c = create_app(corpus, index_dir).test_client()
    html = c.get("/search?q=выселение граждан").get_data(as_text=True)
    assert "также:" in html and "показать отдельно" in html and "copies=1" in html
    html = c.get("/search?q=выселение граждан&copies=1").get_data(as_text=True)
    assert "также:" not in html
    report = next(d for d in catalog(index_dir).all() if d.path.startswith("reports/"))
    html = c.get(f"/doc/{report.doc_id}").get_data(as_text=True)
    assert "1.1. ОБЩАЯ СИТУАЦИЯ В 2019 ГОДУ" in html and 'class="level-2"' in html
    assert "Документ без разделов" not in html
    code = next(d for d in catalog(index_dir).all() if d.path == "acts/zhk.txt")
    html = c.get(f"/doc/{code.doc_id}").get_data(as_text=True)
    assert "Тот же документ в других файлах" in html and "acts/zhk.html" in html
    data = c.get("/api/search?q=eviction").get_json()
    assert data["latin"] == ["выселение"] and data["documents"][0]["also"]


def test_export_follows_the_results_page(index_dir):
    """An export holds what the page shows: copies folded unless asked for, a typo corrected
    unless `exact`."""
    from kb.search.export import export

    folded = export(index_dir, "выселение граждан")
    docs = {r["path"] for r in folded.rows()}
    assert len([p for p in docs if p.startswith("acts/zhk")]) == 1
    apart = {r["path"] for r in export(index_dir, "выселение граждан", copies=True).rows()}
    assert {"acts/zhk.txt", "acts/zhk.html"} <= apart
    typo = export(index_dir, "высиление граждан")
    assert typo.query == search(index_dir, "высиление граждан").corrected
    assert [r["passage"] for r in typo.rows()] == [r["passage"] for r in export(index_dir, typo.query).rows()]
    assert export(index_dir, "высиление", exact=True).count == 0
