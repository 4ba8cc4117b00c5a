"""Citations between documents (issue 5): what a document cites, who cites an act, the facet.

A small corpus written here: a Housing-Code-like act, a memo citing it (articles 83, 84),
a letter citing it and an act not in the collection twice, and a note citing nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.index import update_index
from kb.search import Filters, document, search
from kb.search.citations import act_label, citation_graph
from kb.web import create_app

CODE = """ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ

Принят Государственной Думой 22 декабря 2004 года

Статья 83. Расторжение и прекращение договора социального найма жилого помещения

Договор социального найма жилого помещения может быть расторгнут в любое время по соглашению сторон.

Статья 84. Выселение граждан из жилых помещений, предоставленных по договорам социального найма

Выселение граждан из жилых помещений, предоставленных по договорам социального найма, производится в судебном порядке.

Статья 85. Выселение граждан из жилых помещений с предоставлением других благоустроенных жилых помещений

Граждане выселяются из жилых помещений с предоставлением других благоустроенных жилых помещений, если дом подлежит сносу.
"""

MEMO = """Памятка о выселении

Согласно статье 84 Жилищного кодекса Российской Федерации выселение граждан производится
только в судебном порядке. Договор найма расторгается по правилам ст. 83 ЖК РФ.
"""

LETTER = """Письмо о персональных данных жильцов

Управляющая организация обрабатывает данные жильцов по Федеральному закону от 27.07.2006 № 152-ФЗ
"О персональных данных". Выселение должников возможно по статье 85 Жилищного кодекса Российской Федерации.
Согласие жильцов требуется по Федеральному закону от 27.07.2006 № 152-ФЗ "О персональных данных".
"""

NOTE = "Заметка о встрече\n\nЖильцы обсуждали выселение и ремонт крыши.\n"

MORE = """Справка об обработке данных

Обработка данных ведётся по Федеральному закону от 27.07.2006 № 152-ФЗ "О персональных данных".
"""


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("cit")
    corpus = base / "corpus"
    corpus.mkdir()
    for name, text in [("zhk.txt", CODE), ("memo.txt", MEMO), ("letter.txt", LETTER), ("note.txt", NOTE),
                       ("more.txt", MORE)]:
        (corpus / name).write_text(text, encoding="utf-8")
    index = base / "index"
    report = update_index(corpus, index, show_progress=False)
    assert not report.failed
    return index


def ids(index_dir) -> dict[str, str]:
    return {d.path: d.doc_id for d in citation_graph(index_dir).catalog.all()}


def test_document_cites_resolved_act_with_article_anchors(index_dir):
    i = ids(index_dir)
    view = document(index_dir, i["memo.txt"])
    [act] = view.cites
    assert act.doc_id == i["zhk.txt"]
    assert act.key == "кодекс:жилищный:РФ"
    arts = {a.number: a.ordinal for a in act.articles}
    code = document(index_dir, i["zhk.txt"])
    ordinal = {p["article"]: p["ordinal"] for p in code.passages if p["article"]}
    assert arts == {"83": ordinal["83"], "84": ordinal["84"]}


def test_act_not_in_collection_is_plain_text(index_dir):
    view = document(index_dir, ids(index_dir)["letter.txt"])
    by_key = {c.key: c for c in view.cites}
    fz = by_key["закон:152-ФЗ:РФ"]
    assert fz.doc_id is None and fz.label.startswith("Федеральный закон № 152-ФЗ")
    assert by_key["кодекс:жилищный:РФ"].doc_id == ids(index_dir)["zhk.txt"]


def test_act_lists_citing_documents_and_articles(index_dir):
    i = ids(index_dir)
    view = document(index_dir, i["zhk.txt"])
    citing = {c.doc_id: [a.number for a in c.articles] for c in view.cited_by}
    assert citing == {i["memo.txt"]: ["83", "84"], i["letter.txt"]: ["85"]}
    assert document(index_dir, i["note.txt"]).cited_by == [] and document(index_dir, i["note.txt"]).cites == []


def test_facet_cites_lists_collection_acts_and_frequent_ones(index_dir):
    res = search(index_dir, "выселение OR обработка OR жильцы")
    facet = {f.value: (f.label, f.count) for f in res.facets["cites"]}
    assert facet["кодекс:жилищный:РФ"] == ("Жилищный кодекс РФ", 2)
    assert facet["закон:152-ФЗ:РФ"][1] == 2          # not in the collection, but cited by two


def test_facet_filters_to_citing_documents(index_dir):
    i = ids(index_dir)
    res = search(index_dir, "выселение", filters=Filters(cites=["кодекс:жилищный:РФ"]))
    got = {g.doc_id for g in res.groups}
    assert i["memo.txt"] in got and i["note.txt"] not in got and i["zhk.txt"] not in got
    assert [f.selected for f in res.facets["cites"] if f.value == "кодекс:жилищный:РФ"] == [True]
    none = search(index_dir, "выселение", filters=Filters(cites=["закон:нет такого:РФ"]))
    assert none.total_docs == 0


def test_act_label():
    assert act_label({"kind": "кодекс", "name": "жилищный", "jurisdiction": "РФ"}) == "Жилищный кодекс РФ"
    assert act_label({"kind": "закон", "name": "о пробации", "jurisdiction": "КР"}) == "Закон КР «О пробации»"
    assert act_label({"kind": "постановление", "number": "911", "date": "2019-11-16",
                      "jurisdiction": "КР"}) == "Постановление КР № 911 от 16.11.2019"
    assert act_label({"kind": "кодекс", "name": "о правонарушениях", "jurisdiction": "КР"}) == "Кодекс КР о правонарушениях"


@pytest.fixture()
def client(index_dir):
    app = create_app(index_dir.parent / "corpus", index_dir)
    app.testing = True
    return app.test_client()


def test_pages_and_api(client, index_dir):
    i = ids(index_dir)
    html = client.get(f"/doc/{i['zhk.txt']}").get_data(as_text=True)
    assert "Ссылающиеся документы" in html and f'/doc/{i["memo.txt"]}' in html
    html = client.get(f"/doc/{i['memo.txt']}").get_data(as_text=True)
    assert "Ссылается на" in html and f'/doc/{i["zhk.txt"]}#p-' in html
    html = client.get(f"/doc/{i['letter.txt']}").get_data(as_text=True)
    assert "Федеральный закон № 152-ФЗ" in html
    data = client.get(f"/api/documents/{i['zhk.txt']}").json
    assert {c["doc_id"] for c in data["cited_by"]} == {i["memo.txt"], i["letter.txt"]}
    assert client.get(f"/api/documents/{i['memo.txt']}").json["cites"][0]["doc_id"] == i["zhk.txt"]
    html = client.get("/search", query_string={"q": "выселение", "cites": "кодекс:жилищный:РФ"}).get_data(as_text=True)
    assert "Ссылается на" in html and "Памятка о выселении" in html and "Заметка о встрече" not in html
    api = client.get("/api/search", query_string={"q": "выселение", "cites": "кодекс:жилищный:РФ"}).json
    assert {d["doc_id"] for d in api["documents"]} == {i["memo.txt"], i["letter.txt"]}
    assert client.get("/search", query_string={"q": "x", "cites": "a" * 500}).status_code == 400


def test_labels_are_escaped(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text('Записка\n\nСм. Закон Кыргызской Республики «О <b>пробации</b>».\n', encoding="utf-8")
    update_index(corpus, tmp_path / "ix", show_progress=False)
    app = create_app(corpus, tmp_path / "ix")
    d = citation_graph(tmp_path / "ix").catalog.all()[0]
    html = app.test_client().get(f"/doc/{d.doc_id}").get_data(as_text=True)
    assert "<b>пробации" not in html


def test_command_line_search_builds_no_citation_graph_unless_needed(index_dir, monkeypatch, capsys):
    # The graph is most of a cold `kb search` after the imports: built only for the facet,
    # a "cites" filter, or a query naming an article (issue 15, item 6).
    import json

    import kb.search as S
    import kb.search.citations as C
    from kb.cli import main

    full = search(index_dir, "выселение жилого помещения")
    built = []
    real = C.citation_graph
    monkeypatch.setattr(S, "citation_graph", lambda d: built.append(d) or real(d))
    lean = search(index_dir, "выселение жилого помещения", facets=False)
    def shown(res):
        return [(g.doc_id, [(h.ordinal, h.score) for h in g.hits]) for g in res.groups]

    assert shown(lean) == shown(full) and lean.total_docs == full.total_docs
    assert "cites" not in lean.facets and built == []
    assert main(["search", "--index", str(index_dir), "--json", "выселение"]) == 0
    assert json.loads(capsys.readouterr().out) and built == []
    # Naming an article still puts it first, through the graph.
    art = search(index_dir, "ст. 84 ЖК РФ", facets=False)
    assert built and art.groups[0].hits[0].article == "84"
    assert main(["search", "--index", str(index_dir), "--json", "--full", "выселение"]) == 0
    cites = json.loads(capsys.readouterr().out)["facets"]["cites"]
    assert any(f["value"] == "кодекс:жилищный:РФ" for f in cites)


def test_articles_are_found_without_linking_every_citation(index_dir):
    # A query naming an article needs the acts and their articles only; the links between
    # documents (every citation resolved) are made at their first use, once, and agree.
    from kb.enrich import find_citations
    from kb.search.catalog import catalog
    from kb.search.citations import CitationGraph

    i = ids(index_dir)
    g = CitationGraph(catalog(index_dir))
    [cit] = [c for c in find_citations("ст. 84 ЖК РФ") if c.articles]
    assert g.acts_matching(cit) == [i["zhk.txt"]] and g.article_ordinal(i["zhk.txt"], "84") is not None
    assert not g._linked
    assert [a.doc_id for a in g.cites(i["memo.txt"])] == [i["zhk.txt"]] and g._linked
    linked = citation_graph(index_dir)
    assert [c.doc_id for c in g.cited_by(i["zhk.txt"])] == [c.doc_id for c in linked.cited_by(i["zhk.txt"])]
    assert g.labels == linked.labels and g.labels["кодекс:жилищный:РФ"] == "Жилищный кодекс РФ"
