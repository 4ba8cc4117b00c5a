"""Snippets as plain text with offsets: `snippet_text[s:e]` is each marked word, the HTML
snippet is the same text escaped and marked, through search(), `kb search --json` and the API."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from kb.cli import main
from kb.search import search
from kb.search.query import parse
from kb.search.snippets import Matcher, make_snippet, snippet

from conftest import indexed_corpus

SPECIAL = ("Статья 155. Плата за жилое помещение и коммунальные услуги\n"
           "Размер платы <за месяц> & пени: если долг > 3 месяцев, то наниматель вносит плату "
           "за жилищно-коммунальные услуги с пени.")


def _marked_words(html_snippet: str) -> list[str]:
    return [html.unescape(w) for w in re.findall(r"<mark>(.*?)</mark>", html_snippet)]


def _check(snip_html: str, text: str, spans) -> None:
    """The plain snippet and its offsets say what the HTML one says."""
    assert "<mark>" not in text and "&gt;" not in text and "&amp;" not in text and "&lt;" not in text
    assert html.unescape(re.sub(r"</?mark>", "", snip_html)) == text
    assert [text[s:e] for s, e in spans] == _marked_words(snip_html)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans     # in order, no overlap


def test_plain_text_and_offsets_of_a_short_passage():
    m = Matcher(parse("плата жилищно-коммунальные").highlight)
    snip = make_snippet(SPECIAL, m)
    assert snip.text == SPECIAL.replace("\n", " ")
    assert "<за месяц> & пени" in snip.text and "долг > 3" in snip.text
    words = [snip.text[s:e] for s, e in snip.highlights]
    assert words == ["Плата", "коммунальные", "платы", "плату", "жилищно-коммунальные"]
    _check(snippet(SPECIAL, m), snip.text, snip.highlights)
    assert "&lt;за месяц&gt; &amp; пени" in snip.html()


def test_a_compound_is_marked_once():
    # Both halves of `жилищно-коммунальные` start like a query word: the second was marked
    # again, and the HTML snippet said `жилищно-коммунальныекоммунальные`.
    m = Matcher(parse("жилищно-коммунальные услуги").highlight)
    text = "Плата за жилищно-коммунальные услуги вносится ежемесячно."
    assert snippet(text, m) == "Плата за <mark>жилищно-коммунальные</mark> <mark>услуги</mark> вносится ежемесячно."
    assert make_snippet(text, m).highlights == [(9, 29), (30, 36)]


def test_offsets_of_a_window_cut_from_a_long_passage():
    filler = "Наниматель обязан вносить плату своевременно. " * 30
    text = filler + "Выселение граждан из общежития допускается по решению суда. " + filler
    m = Matcher(parse("выселение из общежития").highlight)
    snip = make_snippet(text, m, width=200)
    assert snip.text.startswith("… ") and snip.text.endswith(" …") and len(snip.text) <= 204
    assert [snip.text[s:e] for s, e in snip.highlights] == ["Выселение", "общежития"]
    _check(snippet(text, m, width=200), snip.text, snip.highlights)


def test_no_match_no_offsets():
    snip = make_snippet("Текст без совпадений.", Matcher(parse("аренда").highlight))
    assert snip.text == "Текст без совпадений." and snip.highlights == []


DOCS = {
    "zhk.txt": SPECIAL + "\n\nСтатья 84. Выселение граждан\nВыселение из жилого помещения за неуплату "
                         "коммунальных услуг допускается в судебном порядке.\n",
    "gk.txt": "Статья 614. Арендная плата\n\nПозиции высших судов по ст. 614 ГК РФ >>>\n\n"
              "КонсультантПлюс: примечание. С 01.09.2025 в ст. 614 вносятся изменения.\n"
              "1. Арендатор обязан своевременно вносить плату за пользование имуществом (арендную плату).\n",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    corpus, index = indexed_corpus(tmp_path_factory.mktemp("snip"), DOCS)
    return corpus, index


def test_kb_search_json_gives_text_and_offsets(small, capsys):
    corpus, index = small
    assert main(["search", "плата пени", "--json", "--corpus", str(corpus), "--index", str(index)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert {h["path"] for h in hits} == {"zhk.txt", "gk.txt"}
    for h in hits:
        assert {"snippet", "snippet_text", "highlights"} <= set(h)
        _check(h["snippet"], h["snippet_text"], [tuple(x) for x in h["highlights"]])
        assert h["highlights"]
    zhk = next(h for h in hits if h["path"] == "zhk.txt")
    assert "<за месяц> & пени" in zhk["snippet_text"] and "&lt;за месяц&gt;" in zhk["snippet"]


def test_legal_database_leftovers_are_not_in_snippets(small, capsys):
    corpus, index = small
    res = search(index, "арендная плата")
    [hit] = [h for g in res.groups for h in g.hits if h.path == "gk.txt"]
    for s in (hit.snippet, hit.snippet_text):
        assert "Позиции высших судов" not in s and ">>>" not in s and "&gt;" not in s and "КонсультантПлюс" not in s
    assert hit.snippet_text.startswith("Статья 614. Арендная плата 1. Арендатор обязан")


def test_api_search_and_document_passages(small):
    from kb.web import create_app

    corpus, index = small
    client = create_app(corpus, index).test_client()
    data = client.get("/api/search?q=выселение").get_json()
    hit = data["hits"][0]
    assert [hit["snippet_text"][s:e] for s, e in hit["highlights"]] == ["Выселение", "Выселение"]
    _check(hit["snippet"], hit["snippet_text"], [tuple(x) for x in hit["highlights"]])
    doc = client.get(f"/api/documents/{hit['doc_id']}?q=выселение").get_json()
    marked = {p["text"][s:e] for p in doc["passages"] for s, e in p["highlights"]}
    assert marked == {"Выселение"}
    assert all(p["highlights"] == [] for p in client.get(f"/api/documents/{hit['doc_id']}").get_json()["passages"])


@pytest.mark.shared_data
def test_real_acts_snippets_have_no_leftovers(real_index):
    # ст. 614 ГК РФ (часть вторая, DOCX from КонсультантПлюс) began with
    # "Позиции высших судов по ст. 614 ГК РФ &gt;&gt;&gt;" before extraction removed it.
    res = search(real_index, "арендная плата", per_page=20)
    hits = [h for g in res.groups for h in g.hits]
    art = [h for h in hits if h.article == "614"]
    assert art, [(h.title, h.article) for h in hits]
    assert art[0].snippet_text.startswith("Статья 614. Арендная плата")
    for q in ("арендная плата", "возмещение убытков", "злоупотребление правом", "выселение"):
        for h in (h for g in search(real_index, q, per_page=20).groups for h in g.hits):
            assert ">>>" not in h.snippet_text and "КонсультантПлюс" not in h.snippet_text, (q, h.title)
            _check(h.snippet, h.snippet_text, h.highlights)
