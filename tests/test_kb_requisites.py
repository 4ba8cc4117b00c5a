"""Requisite queries (issue 5): a query naming an article of an act in the collection puts it first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.index import update_index
from kb.search import Filters, search
from kb.search.citations import citation_graph

from test_kb_citations import CODE

OTHER = """Разъяснение о выселении

Выселение, выселение и ещё раз выселение: по статье 84 Жилищного кодекса Российской Федерации
выселение граждан из жилых помещений, предоставленных по договорам социального найма, производится
в судебном порядке. Статья 84 ЖК РФ, статья 84, ст. 84 — выселение граждан.
"""


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("req")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "zhk.txt").write_text(CODE, encoding="utf-8")
    (corpus / "other.txt").write_text(OTHER, encoding="utf-8")
    index = base / "index"
    assert not update_index(corpus, index, show_progress=False).failed
    return index


def first(res):
    h = res.flat_hits()[0]
    return h.path, h.article


@pytest.mark.parametrize("query", ["ст. 84 ЖК РФ", "статья 84 Жилищного кодекса", "ст. 84 Жилищного кодекса РФ",
                                   "выселение ст. 84 ЖК РФ", "ст.84 ЖК РФ", "84 статья ЖК РФ", "ч. 2 ст. 84 жк рф",
                                   "СТАТЬЯ 84 ЖИЛИЩНОГО КОДЕКСА РОССИЙСКОЙ ФЕДЕРАЦИИ", "ЖК РФ ст. 84",
                                   "жилищный кодекс статья 84"])
def test_article_first(index_dir, query):
    res = search(index_dir, query)
    assert first(res) == ("zhk.txt", "84")
    # The rest of the ranking stays: the other document is still found.
    assert "other.txt" in {g.path for g in res.groups}


def test_other_article_and_unknown_act(index_dir):
    assert first(search(index_dir, "ст. 85 ЖК РФ")) == ("zhk.txt", "85")
    # An article the act does not have, or an act not in the collection: plain ranking.
    res = search(index_dir, "статья 221 ГК КР выселение")
    assert res.total_docs >= 1
    assert search(index_dir, "ст. 999 ЖК РФ").flat_hits()[0].article != "999"


def test_filters_still_apply(index_dir):
    res = search(index_dir, "ст. 84 ЖК РФ", filters=Filters(doc_type=["другое"]))
    assert {g.path for g in res.groups} == {"other.txt"}


def test_web_results_first(index_dir):
    from kb.web import create_app
    app = create_app(index_dir.parent / "corpus", index_dir)
    app.testing = True
    data = app.test_client().get("/api/search", query_string={"q": "ст. 84 ЖК РФ"}).json
    assert data["hits"][0]["article"] == "84" and data["hits"][0]["path"] == "zhk.txt"


# --- real data: the Russian Housing Code and regulations citing it ----------------------------

HOUSING = "rf-housing-docx"
FILES = [
    "Жилищный кодекс Российской Федерации.docx",
    "ПП РФ от 03.04.2013 № 290 О минимальном перечне услуг и работ по содержанию общего имущества в МКД.docx",
    "ПП РФ от 15.05.2013 № 416-О порядке осуществления деятельности по управлению многоквартирными домами.docx",
    "ПП РФ от 28.10.2014 № 1110-О лицензировании предпринимательской деятельности по управлению МКД.docx",
]


@pytest.fixture(scope="module")
def housing_index(shared_data, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("housing")
    corpus = base / "corpus"
    corpus.mkdir()
    for name in FILES:
        src = shared_data / HOUSING / name
        if not src.exists():
            pytest.skip(f"{src} not found")
        shutil.copyfile(src, corpus / name)     # a copy: links out of the corpus are not followed
    index = base / "index"
    report = update_index(corpus, index, show_progress=False)
    assert not report.failed, report.lines()
    return index


def test_real_housing_code_article_84_first(housing_index):
    for q in ("ст. 84 ЖК РФ", "статья 84 Жилищного кодекса", "ст. 161 ЖК РФ"):
        h = search(housing_index, q).flat_hits()[0]
        assert h.path == FILES[0], q
        assert h.article == q.split()[1], q
        assert h.heading.startswith(f"Статья {h.article}."), q


def test_real_housing_code_cited_by_regulations(housing_index):
    g = citation_graph(housing_index)
    by_path = {d.path: d.doc_id for d in g.catalog.all()}
    code = by_path[FILES[0]]
    citing = {c.doc_id: c for c in g.cited_by(code)}
    assert set(citing) == {by_path[f] for f in FILES[1:]}
    # Resolution 416 cites article 161 of the Code, linked to that article's passage.
    arts = {a.number: a.ordinal for a in citing[by_path[FILES[2]]].articles}
    assert "161" in arts and arts["161"] is not None
    # And the regulations cite each other: 416 cites 290.
    assert by_path[FILES[1]] in {c.doc_id for c in g.cites(by_path[FILES[2]])}
    from kb.web import create_app
    app = create_app(housing_index.parent / "corpus", housing_index)
    html = app.test_client().get(f"/doc/{code}").get_data(as_text=True)
    assert "Ссылающиеся документы" in html
    for f in FILES[1:]:
        assert f"/doc/{by_path[f]}" in html
