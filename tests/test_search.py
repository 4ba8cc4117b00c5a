"""Search over a small corpus the test writes: syntax, grouping, snippets, facets, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.cli import main
from kb.errors import QueryError
from kb.index import update_index
from kb.search import Filters, search

DOCS = {
    "acts/zhk.txt": (
        "ЖИЛИЩНЫЙ КОДЕКС\n\n"
        "Статья 1. Основные начала жилищного законодательства\n"
        "Граждане имеют право на жилище. Права граждан на жилье защищаются, права на жильё гарантированы.\n\n"
        "Статья 2. Обеспечение условий\n"
        "Органы власти обеспечивают защиту прав инвалидов на жилье.\n\n"
        "Статья 84. Выселение граждан\n"
        "Выселение из жилого помещения за неуплату коммунальных услуг допускается в судебном порядке.\n"
    ),
    "reports/otchet.txt": (
        "Годовой отчет 2019\n\n"
        "Юристы центра консультировали по вопросам жилья и земли. "
        "Социально-экономических прав касались 40 обращений. "
        "Жилищные споры составили половину всех консультаций.\n"
    ),
    "reports/study.txt": (
        "Исследование доступа к земле\n\n"
        "Земельный участок предоставляется бесплатно многодетным семьям. "
        "Аренда земли и правами на неё занимается айыл окмоту.\n"
    ),
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("search")
    corpus = root / "corpus"
    for rel, text in DOCS.items():
        p = corpus / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    report = update_index(corpus, root / "index", show_progress=False, workers=1)
    assert not report.failed
    return root / "index"


def paths(res) -> list[str]:
    return [g.path for g in res.groups]


def test_inflected_query_finds_other_forms_and_marks_them(index_dir):
    res = search(index_dir, "защита прав инвалидов на жилье")
    assert paths(res)[0] == "acts/zhk.txt"
    top = res.groups[0].hits[0]
    assert top.article == "2"
    assert "<mark>защиту</mark>" in top.snippet and "<mark>инвалидов</mark>" in top.snippet


def test_phrase_matches_any_inflection_but_keeps_order(index_dir):
    res = search(index_dir, '"право на жилье"')
    hits = res.flat_hits()
    assert hits and all(h.path == "acts/zhk.txt" for h in hits)
    assert any("<mark>права</mark>" in h.snippet.lower() or "<mark>право</mark>" in h.snippet.lower() for h in hits)
    # the words in another order are no phrase: the strict query found nothing
    assert search(index_dir, '"жилье право на"').relaxed


def test_exact_form_only_that_form(index_dir):
    assert paths(search(index_dir, "!жилья")) == ["reports/otchet.txt"]
    # the lemma query finds both documents with жилье/жилья
    assert set(paths(search(index_dir, "жилья"))) >= {"reports/otchet.txt", "acts/zhk.txt"}


def test_prefix_is_not_lemmatized(index_dir):
    res = search(index_dir, "жилищ*")
    assert set(paths(res)) == {"acts/zhk.txt", "reports/otchet.txt"}
    assert "<mark>Жилищные</mark>" in " ".join(h.snippet for h in res.flat_hits())


def test_negation_and_or_and(index_dir):
    assert "reports/study.txt" not in paths(search(index_dir, "земля -аренда"))
    assert "reports/study.txt" not in paths(search(index_dir, "земля НЕ аренда"))
    both = set(paths(search(index_dir, "выселение ИЛИ многодетным")))
    assert both == {"acts/zhk.txt", "reports/study.txt"}
    assert paths(search(index_dir, "земля И юристы")) == ["reports/otchet.txt"]


def test_fields_filter_type_and_year(index_dir):
    res = search(index_dir, "земля тип:отчёт")
    assert res.groups and all(g.doc_type == "отчёт" for g in res.groups)
    res = search(index_dir, "права", filters=Filters(doc_type=["нормативный акт"]))
    assert paths(res) == ["acts/zhk.txt"]
    assert search(index_dir, "статья:84 выселение").flat_hits()[0].article == "84"


def test_compound_found_by_part_and_whole(index_dir):
    assert paths(search(index_dir, "социально-экономических")) == ["reports/otchet.txt"]
    assert "reports/otchet.txt" in paths(search(index_dir, "экономических"))


def test_grouped_by_document_with_facets(index_dir):
    res = search(index_dir, "права граждан на жилье")
    assert len(set(paths(res))) == len(res.groups)
    zhk = next(g for g in res.groups if g.path == "acts/zhk.txt")
    assert zhk.total_hits >= 2 and len(zhk.hits) >= 2
    types = {f.value: f.count for f in res.facets["doc_type"]}
    assert types.get("нормативный акт") == 1


def test_snippets_are_escaped(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "x.txt").write_text("Документ <script>alert(1)</script> о жилье и правах.", encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False, workers=1)
    snip = search(tmp_path / "i", "жилье").flat_hits()[0].snippet
    assert "<script>" not in snip and "&lt;script&gt;" in snip and "<mark>жилье</mark>" in snip


def test_typo_is_corrected_and_said(index_dir):
    # A word neither the index nor the lexicon knows is read as the closest indexed word.
    res = search(index_dir, "выселние")
    assert res.corrected == "выселение" and res.suggestion is None
    assert "acts/zhk.txt" in paths(res)
    assert res.to_json()["corrected"] == "выселение"
    # As typed, on request: nothing found, the correction offered.
    res = search(index_dir, "выселние", exact=True)
    assert res.corrected is None and res.suggestion == "выселение" and not res.groups


def test_dictionary_word_searched_as_typed(index_dir):
    # `выделение` is a Russian word the index lacks, one letter from `выселение`: the user
    # meant it (as with `выгнать`, which was read as `выдать`): neither replaced nor doubted.
    res = search(index_dir, "выделение граждан")
    assert res.corrected is None and res.suggestion is None
    assert "acts/zhk.txt" in paths(res)         # found by `граждан`, as typed
    # A misspelling no dictionary knows is still corrected.
    assert search(index_dir, "выселние граждан").corrected == "выселение граждан"


def test_no_correction_for_known_words(index_dir):
    # `прописка` is a lexicon word (= регистрация по месту жительства): never "did you mean".
    for q in ("прописка", "выселение", "eviction", "капремонт"):
        res = search(index_dir, q)
        assert res.corrected is None and res.suggestion is None, q


@pytest.mark.parametrize("query", ["", "   ", '"', "(земля", "земля)", "а" * 600, "ж*", "-земля", "год:19"])
def test_bad_queries_raise_clear_errors(index_dir, query):
    with pytest.raises(QueryError) as e:
        search(index_dir, query)
    assert str(e.value)


def test_page_bounds(index_dir):
    with pytest.raises(QueryError):
        search(index_dir, "земля", page=0)
    with pytest.raises(QueryError):
        search(index_dir, "земля", per_page=10_000)


def test_cli_search_json_contract(index_dir, capsys):
    assert main(["search", "--index", str(index_dir), "выселение за неуплату", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and hits[0]["path"] == "acts/zhk.txt"
    for h in hits:
        assert {"path", "title", "doc_type", "score", "snippet"} <= set(h)
    assert hits[0]["article"] == "84"


def test_cli_bad_query_one_line(index_dir, capsys):
    assert main(["search", "--index", str(index_dir), "(земля"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("kb: ошибка:") and "\n" not in err and "Traceback" not in err


def test_cli_missing_index(tmp_path, capsys):
    assert main(["search", "--index", str(tmp_path / "none"), "земля"]) == 1
    assert "kb index" in capsys.readouterr().err


def test_natural_question_punctuation_is_not_syntax(index_dir):
    # lowercase и/или/не, "&" and parentheses in a question are words, not operators
    res = search(index_dir, "выселение и неуплата (коммунальных услуг) & суд")
    assert paths(res)[0] == "acts/zhk.txt"
    assert search(index_dir, "земля или вода").total_docs >= 1


def test_phrase_that_finds_nothing_falls_back_to_its_words(index_dir):
    res = search(index_dir, 'выселение "неуплату квартплаты жильцами"')
    assert res.relaxed and paths(res)[0] == "acts/zhk.txt"
    assert not search(index_dir, '"право на жилье"').relaxed


def test_threads_searching_at_once_all_get_answers(index_dir):
    import threading

    errors, counts = [], []

    def work():
        try:
            for q in ("права на жилье", "земля", "выселение за неуплату", "жилищ*") * 10:
                counts.append(len(search(index_dir, q).flat_hits()))
        except Exception as e:  # noqa: BLE001 - the test reports any failure
            errors.append(repr(e))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(counts) == 320 and all(counts)


def test_function_words_are_not_marked_unless_alone():
    from kb.search.query import parse
    from kb.search.snippets import Matcher, highlight_all

    text = "Права на жильё в Бишкеке защищаются."
    html = highlight_all(text, Matcher(parse("права на жилье в городе").highlight))
    assert html.count("<mark>") == 2 and "<mark>Права</mark>" in html and "<mark>жильё</mark>" in html
    html = highlight_all(text, Matcher(parse("на").highlight))
    assert "<mark>на</mark>" in html


def test_long_pasted_title_is_searched_by_its_first_words(index_dir):
    """A pasted title of more than MAX_WORDS plain words is searched by its first MAX_WORDS
    words and says so; a long query with syntax is still refused."""
    from kb.search.query import MAX_WORDS

    filler = " ".join(["жилое"] * (MAX_WORDS + 10))
    res = search(index_dir, "выселение " + filler)
    assert res.groups and "acts/zhk.txt" in paths(res)
    assert res.notice and f"первые {MAX_WORDS} слов" in res.notice and "ещё 11" in res.notice
    assert res.to_json()["notice"]["message_en"].startswith(f"only the first {MAX_WORDS}")
    with pytest.raises(QueryError, match="больше"):
        search(index_dir, filler + " -выселение")
    with pytest.raises(QueryError, match="больше"):
        search(index_dir, filler + " выс*")
    assert search(index_dir, "выселение").notice is None


def test_lexicon_descriptions_allow_one_inserted_word(tmp_path):
    """`прописка` (= регистрация по месту жительства) finds the words with one more between
    them; a two-word expansion stays a strict phrase (ГК is not the ГПК)."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "report.txt").write_text("Отчёт\n\nВ 2019 году стала доступна регистрация адреса по месту "
                                       "жительства в электронном виде.\n", encoding="utf-8")
    (corpus / "gpk.txt").write_text("Памятка\n\nГражданский процессуальный кодекс определяет подсудность.\n",
                                    encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False)
    assert [g.path for g in search(tmp_path / "i", "прописка").groups] == ["report.txt"]
    assert "gpk.txt" not in [g.path for g in search(tmp_path / "i", "ГК", exact=True).groups]
