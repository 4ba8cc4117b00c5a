"""A search lists and counts at most kb.search.DOC_CAP documents and says how many more matched."""

from __future__ import annotations

import pytest

import kb.search as S
from kb.cli import main
from kb.index import update_index
from kb.web import create_app

N_DOCS = 12


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("cap")
    corpus = root / "corpus"
    for i in range(N_DOCS):
        kind = "reports" if i % 3 else "acts"
        p = corpus / kind / f"doc{i:02d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        # Ever more mentions of the word: a clear ranking, the last file first.
        p.write_text(f"Документ {i}\n\n" + "Выселение из жилья. " * (i + 1) + "Прочий текст. " * 20,
                     encoding="utf-8")
    report = update_index(corpus, root / "index", show_progress=False)
    assert not report.failed
    return corpus, root / "index"


def test_capped_search_lists_the_best_documents_and_says_how_many_more(site, monkeypatch):
    _, index = site
    full = S.search(index, "выселение", per_page=50)
    assert full.total_docs == N_DOCS and full.docs_more == 0
    monkeypatch.setattr(S, "DOC_CAP", 4)
    monkeypatch.setattr(S, "CANDIDATES", 4)
    capped = S.search(index, "выселение", per_page=50)
    assert capped.total_docs == 4 and capped.docs_more == N_DOCS - 4
    # The same best documents in the same order, with their own passage counts.
    assert [g.doc_id for g in capped.groups] == [g.doc_id for g in full.groups[:4]]
    assert [g.total_hits for g in capped.groups] == [g.total_hits for g in full.groups[:4]]
    # Facets count the listed documents only; passages matched are all counted.
    assert sum(f.count for f in capped.facets["doc_type"]) == 4
    assert capped.total_hits == full.total_hits
    assert capped.to_json()["docs_more"] == N_DOCS - 4


def test_page_api_and_cli_say_more(site, monkeypatch, capsys):
    corpus, index = site
    monkeypatch.setattr(S, "DOC_CAP", 4)
    monkeypatch.setattr(S, "CANDIDATES", 4)
    client = create_app(corpus, index).test_client()
    page = client.get("/search", query_string={"q": "выселение"}).get_data(as_text=True)
    assert "более 4" in page and "Счёт по 4 лучшим документам из 12" in page
    api = client.get("/api/search", query_string={"q": "выселение"}).get_json()
    assert api["total_docs"] == 4 and api["docs_more"] == 8
    assert main(["search", "--index", str(index), "выселение"]) == 0
    assert "Найдено документов: более 4" in capsys.readouterr().out


def test_uncapped_when_few_documents_match(site, capsys):
    corpus, index = site
    assert S.search(index, "выселение").docs_more == 0
    api = create_app(corpus, index).test_client().get("/api/search", query_string={"q": "выселение"})
    assert api.get_json()["docs_more"] == 0 and api.get_json()["total_docs"] == N_DOCS
    assert main(["search", "--index", str(index), "выселение"]) == 0
    assert f"Найдено документов: {N_DOCS}," in capsys.readouterr().out
