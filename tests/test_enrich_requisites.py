"""Requisites of acts, document year, and the lexicon."""

from __future__ import annotations

import pytest

from kb.enrich.lexicon import LexiconError, load_lexicon, parse_lexicon
from kb.enrich.requisites import act_requisites, document_year
from kb.extract.dates import find_dates
from test_enrich_helpers import doc_text


def test_kg_code_requisites():
    text = ("КОДЕКС КЫРГЫЗСКОЙ РЕСПУБЛИКИ О ПРАВОНАРУШЕНИЯХ\nот 28 октября 2021 года № 128\n"
            "(В редакции Законов Кыргызской Республики от 18 января 2022 года №4, 1 апреля 2022 года № 22)\nОБЩАЯ ЧАСТЬ\n")
    r = act_requisites("", text)
    assert r == {"kind": "кодекс", "jurisdiction": "КР", "number": "128", "date": "2021-10-28", "body": None,
                 "edition_date": "2022-04-01", "name": "о правонарушениях", "act_key": "кодекс:о правонарушениях:КР"}


def test_rf_resolution_requisites():
    text = "ПРАВИТЕЛЬСТВО РОССИЙСКОЙ ФЕДЕРАЦИИ\nПОСТАНОВЛЕНИЕ\nот 15.05.2013 № 416\nО ПОРЯДКЕ\nОСУЩЕСТВЛЕНИЯ ДЕЯТЕЛЬНОСТИ\nВ соответствии с"
    r = act_requisites("", text)
    assert (r["kind"], r["jurisdiction"], r["number"], r["date"], r["body"]) == ("постановление", "РФ", "416", "2013-05-15", "Правительство")
    assert r["name"] == "о порядке осуществления деятельности" and r["act_key"] == "постановление:416:РФ"


def test_non_act_has_no_requisites():
    assert set(act_requisites("Отчёт", "Годовой отчёт 2019\nМы провели 5 тренингов").values()) == {None}


def test_document_year():
    assert document_year("Годовой отчет 2019", "текст 2020 год", []) == 2019
    assert document_year("", "ЗАКОН КЫРГЫЗСКОЙ РЕСПУБЛИКИ\nот 24 февраля 2017 года № 34\nО пробации", ["2017-02-24", "2020-01-01"]) == 2017
    assert document_year("заметки", "встреча", ["2018-01-01", "2019-03-01", "2019-05-01"]) == 2019
    assert document_year("заметки", "ничего", []) is None


@pytest.mark.shared_data
@pytest.mark.parametrize("rel,want", [
    ("kg-codes-txt/Водный кодекс Кыргызской Республики.txt",
     {"kind": "кодекс", "jurisdiction": "КР", "number": "8", "date": "2005-01-12", "act_key": "кодекс:водный:КР"}),
    ("kg-codes-txt/Уголовный кодекс Кыргызской Республики.txt",
     {"kind": "кодекс", "number": "127", "date": "2021-10-28", "act_key": "кодекс:уголовный:КР"}),
    ("rf-housing-docx/Жилищный кодекс Российской Федерации.docx",
     {"kind": "кодекс", "jurisdiction": "РФ", "number": "188-ФЗ", "date": "2004-12-29", "act_key": "кодекс:жилищный:РФ"}),
    ("rf-housing-docx/ПП РФ от 06.05.2011 № 354 Правила предоставления коммунальных услуг (Правила № 354).docx",
     {"kind": "постановление", "number": "354", "date": "2011-05-06", "body": "Правительство", "act_key": "постановление:354:РФ"}),
    ("rf-housing-docx/Федеральный закон от 27.07.2006 № 152-ФЗ-О персональных данных.docx",
     {"kind": "закон", "number": "152-ФЗ", "date": "2006-07-27", "name": "о персональных данных", "act_key": "закон:152-ФЗ:РФ"}),
    ("rf-housing-docx/Письмо Минстроя РФ от 17.11.2017 № 50534-ОГ-04 о порядке перерасчета коммунальных ресурсов на общедомовые нужды.docx",
     {"kind": "письмо", "number": "50534-ОГ/04", "date": "2017-11-17", "act_key": "письмо:50534-ОГ/04:РФ"}),
    ("rf-codes-html/102027595_konstitutsiya_rf.html", {"kind": "конституция", "jurisdiction": "РФ", "date": "1993-12-12"}),
])
def test_requisites_of_real_acts(shared_data, rel, want):
    title, text = doc_text(shared_data / rel)
    r = act_requisites(title, text)
    assert {k: r[k] for k in want} == want
    assert document_year(title, text, find_dates(text[:200_000])) == int(want["date"][:4])


@pytest.mark.shared_data
def test_report_year(shared_data):
    path = shared_data / "reports/interbilim-annual-report-2019.txt"
    title, text = doc_text(path)
    assert document_year(path.stem, text, find_dates(text)) == 2019
    assert document_year(title, text, find_dates(text)) == 2019


def test_lexicon_expansions_and_jk_by_context():
    lex = load_lexicon()
    assert ["ст.", "84", "жилищный", "кодекс", "РФ"] in lex.expansions(["ст.", "84", "ЖК", "РФ"])
    assert not any("жогорку" in p for p in lex.expansions(["ст.", "84", "ЖК", "РФ"]))
    kg = lex.expansions(["ЖК", "КР", "принял", "закон"])
    assert ["жогорку", "кенеш", "КР", "принял", "закон"] in kg and not any("жилищный" in p for p in kg)
    assert {tuple(p) for p in lex.expansions(["ЖК"])} == {("жилищный", "кодекс"), ("жогорку", "кенеш")}
    assert ["капитальный", "ремонт", "дома"] in lex.expansions(["капремонта", "дома"])  # by lemma
    assert ["кр"] in lex.expansions(["Кыргызская", "Республика"])  # both ways
    assert lex.expansions(["капитальный", "ремонт"]) == []  # `=>` is one way
    assert ["органы", "местного", "самоуправления"] in [[w for w in p] for p in lex.expansions(["ОМСУ"])]


def test_lexicon_file_format(tmp_path):
    lex = parse_lexicon("# c\nАБВ = альфа бета | гамма\nx => y\n")
    assert lex.expansions(["абв"]) == [["альфа", "бета"], ["гамма"]]
    assert lex.expansions(["гамма"]) == [["абв"], ["альфа", "бета"]]
    bad = tmp_path / "lex.txt"
    bad.write_text("ok = fine\nno equals sign here\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="lex.txt:2"):
        load_lexicon(bad)


def test_a_kazakh_law_is_not_a_kyrgyz_one():
    r = act_requisites("", "ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН\n\nО жилищных отношениях\n\nот 16 апреля 1997 года № 94-I\n\nСтатья 1.")
    assert r["kind"] == "закон" and r["jurisdiction"] == "РК"
    kg = act_requisites("", "ЗАКОН КЫРГЫЗСКОЙ РЕСПУБЛИКИ\n\nО ратификации Соглашения с Республикой Казахстан\n\nСтатья 1.")
    assert kg["jurisdiction"] == "КР"
