"""Similar documents (issue 5): key terms of a document against the index, itself excluded."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import QueryError
from kb.index import update_index
from kb.search import catalog
from kb.search.similar import similar, similar_to_text
from kb.web import create_app

DOCS = {
    "housing-1.txt": "Выселение из общежития\n\nЖильцов общежития выселяют без предоставления другого жилья. "
                     "Общежитие, выселение, наниматели комнат, коммунальные платежи за общежитие.",
    "housing-2.txt": "Права жильцов общежитий\n\nНаниматели комнат в общежитии не могут быть выселены без суда. "
                     "Выселение из общежития только с предоставлением жилья.",
    "housing-3.txt": "Капитальный ремонт общежитий\n\nОбщежитие нуждается в ремонте; наниматели комнат платят взносы.",
    "land-1.txt": "Аренда пастбищ\n\nПастбищный комитет выдает билеты на выпас скота; аренда пастбищ, айыльный аймак.",
    "land-2.txt": "Земельные споры\n\nСпор о границах пастбищ и пашни решает айыл окмоту; выпас скота на пастбищах.",
    "labour.txt": "Трудовой договор\n\nРаботодатель обязан выплатить заработную плату и компенсацию за отпуск.",
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("sim")
    corpus = base / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    index = base / "index"
    assert not update_index(corpus, index, show_progress=False).failed
    return index


def ids(index_dir) -> dict[str, str]:
    return {d.path: d.doc_id for d in catalog(index_dir).all()}


def test_similar_documents_by_topic_without_itself(index_dir):
    i = ids(index_dir)
    got = [d.path for d in similar(index_dir, i["housing-1.txt"])]
    assert "housing-1.txt" not in got
    assert set(got[:2]) == {"housing-2.txt", "housing-3.txt"}
    got = [d.path for d in similar(index_dir, i["land-1.txt"])]
    assert got[0] == "land-2.txt"
    assert len(similar(index_dir, i["housing-1.txt"], limit=1)) == 1
    assert similar(index_dir, "nosuchdoc") == []


def test_similar_to_pasted_text(index_dir):
    got = similar_to_text(index_dir, "Нас выселяют из общежития, комнату не дают. Что делать?")
    assert got[0].path.startswith("housing-")
    with pytest.raises(QueryError):
        similar_to_text(index_dir, "   ")


def test_a_kyrgyz_story_finds_russian_documents_by_the_glossary(index_dir, monkeypatch):
    """Words alone (no vectors): `жатаканадан` reaches общежитие, `эмгек келишими` трудовой
    договор; a Kyrgyz story with no glossary word finds nothing by words."""
    monkeypatch.setenv("KB_EMBEDDER", "off")
    got = [d.path for d in similar_to_text(index_dir, "Бизди жатаканадан чыгарып жатышат, бөлмө беришпейт")]
    assert got and got[0].startswith("housing-")
    got = [d.path for d in similar_to_text(index_dir, "Иш берүүчү эмгек келишимин бузду, акча төлөбөйт")]
    assert got and got[0] == "labour.txt"
    assert similar_to_text(index_dir, "Биз тоодо жашайбыз, кышында суук болот") == []


def test_page_and_api(index_dir):
    app = create_app(index_dir.parent / "corpus", index_dir)
    app.testing = True
    c = app.test_client()
    i = ids(index_dir)
    html = c.get(f"/doc/{i['land-1.txt']}").get_data(as_text=True)
    assert "Похожие документы" in html and f"/doc/{i['land-2.txt']}#p-" in html
    data = c.get(f"/api/documents/{i['land-1.txt']}/similar").json
    assert data["similar"][0]["doc_id"] == i["land-2.txt"]
    assert {"doc_id", "title", "path", "score", "passage", "excerpt"} <= set(data["similar"][0])
    assert c.get("/api/documents/nosuchdoc/similar").status_code == 404
    assert c.get("/api/documents/../similar").status_code == 404
    assert c.get(f"/api/documents/{i['land-1.txt']}/similar?limit=0").status_code == 400
    assert len(c.get(f"/api/documents/{i['housing-1.txt']}/similar?limit=1").json["similar"]) == 1
