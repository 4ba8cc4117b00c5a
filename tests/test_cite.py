"""Citations of passages (kb.search.cite) and the stable links to articles and pages."""

from __future__ import annotations

import re
import shutil

import pytest

from kb.search.catalog import DocInfo
from kb.search.cite import cite, passage_place, stable_anchor

from conftest import ROOT


def info(title="", doc_type="нормативный акт", year=None, pages=1, path="x.txt", **meta) -> DocInfo:
    return DocInfo(doc_id="d", path=path, title=title, doc_type=doc_type, year=year, format="txt", pages=pages,
                   passages=1, size=1, sha256="", meta=meta)


ZHK = {"kind": "кодекс", "jurisdiction": "РФ", "number": "188-ФЗ", "date": "2004-12-29", "name": "жилищный"}


@pytest.mark.parametrize("req, title, article, full, short", [
    (ZHK, "Жилищный кодекс", "84",
     "ст. 84 Жилищного кодекса Российской Федерации от 29.12.2004 № 188-ФЗ", "ст. 84 ЖК РФ"),
    ({"kind": "кодекс", "jurisdiction": "КР", "number": "106", "date": "2004-08-04", "name": "трудовой"}, "", "80",
     "ст. 80 Трудового кодекса Кыргызской Республики от 04.08.2004 № 106", "ст. 80 ТК КР"),
    ({"kind": "кодекс", "jurisdiction": "КР", "number": "14", "date": "2017-01-25",
      "name": "гражданский процессуальный"}, "", "5",
     "ст. 5 Гражданского процессуального кодекса Кыргызской Республики от 25.01.2017 № 14", "ст. 5 ГПК КР"),
    ({"kind": "кодекс", "jurisdiction": "КР", "number": "128", "date": "2021-10-28", "name": "о правонарушениях"},
     "", "12", "ст. 12 Кодекса Кыргызской Республики о правонарушениях от 28.10.2021 № 128", "ст. 12 КоП КР"),
    ({"kind": "кодекс", "jurisdiction": "РФ", "number": "51-ФЗ", "date": "1994-11-30", "name": "гражданский"},
     "Гражданский кодекс Российской Федерации (часть первая)", "10",
     "ст. 10 Гражданского кодекса Российской Федерации (часть первая) от 30.11.1994 № 51-ФЗ", "ст. 10 ГК РФ"),
    ({"kind": "конституция", "jurisdiction": "РФ", "date": "1993-12-12"}, "", "40",
     "ст. 40 Конституции Российской Федерации", "ст. 40 Конституции РФ"),
    ({"kind": "закон", "jurisdiction": "РФ", "number": "152-ФЗ", "date": "2006-07-27",
      "name": "о персональных данных"}, "", "9",
     "ст. 9 Федерального закона от 27.07.2006 № 152-ФЗ «О персональных данных»", "ст. 9 Закона № 152-ФЗ"),
    ({"kind": "закон", "jurisdiction": "КР", "number": "207", "date": "2016-12-16", "name": "о пробации"}, "", "3",
     "ст. 3 Закона Кыргызской Республики от 16.12.2016 № 207 «О пробации»", "ст. 3 Закона КР № 207"),
])
def test_article_of_an_act(req, title, article, full, short):
    c = cite(info(title, requisites=req), article=article)
    assert (c.full, c.short) == (full, short)


def test_act_without_articles_and_its_pages():
    req = {"kind": "постановление", "jurisdiction": "РФ", "number": "354", "date": "2011-05-06",
           "body": "Правительство", "name": "о предоставлении коммунальных услуг собственникам"}
    c = cite(info(requisites=req))
    assert c.full == ("Постановление Правительства Российской Федерации от 06.05.2011 № 354 "
                      "«О предоставлении коммунальных услуг собственникам»")
    assert c.short == "ПП РФ от 06.05.2011 № 354"       # as lawyers abbreviate a government resolution
    req = {"kind": "приказ", "jurisdiction": "РФ", "number": "938/ПР", "date": "2015-12-25",
           "body": "Министерство Строительства И Жилищно-Коммунального Хозяйства Российской Федерации"}
    c = cite(info("Приказ Минстроя России от 25.12.2015 N 938/пр", requisites=req, ), page=3)
    assert c.full == ("Приказ Министерства строительства и жилищно-коммунального хозяйства Российской Федерации "
                      "от 25.12.2015 № 938/пр")           # one page only: no page
    c = cite(info("Приказ Минстроя России от 25.12.2015 N 938/пр", pages=4, requisites=req), page=3)
    assert c.full.endswith("№ 938/пр, с. 3") and c.short == "Приказ Минстроя России от 25.12.2015 № 938/пр, с. 3"
    # A name cut by the requisites (300 characters) is left out rather than shown cut.
    req = dict(ZHK, kind="закон", name="о " + "очень " * 60)
    assert "«" not in cite(info(requisites=req), article="1").full


PP354 = {"kind": "постановление", "jurisdiction": "РФ", "number": "354", "date": "2011-05-06",
         "body": "Правительство", "name": "о предоставлении коммунальных услуг собственникам"}
# The outline of ПП РФ № 354 as segmentation gives it: the resolution, then the rules it approves
# (`Утверждены` and their title in capitals), then the rules' appendices.
OUTLINE_354 = [{"level": 2, "label": "ПОСТАНОВЛЕНИЕ от 6 мая 2011 г. N 354", "ordinal": 1},
               {"level": 2, "label": "Утверждены", "ordinal": 7},
               {"level": 2, "label": "от 6 мая 2011 г. N 354", "ordinal": 8},
               {"level": 2, "label": "ПРАВИЛА ПРЕДОСТАВЛЕНИЯ КОММУНАЛЬНЫХ УСЛУГ СОБСТВЕННИКАМ И ПОЛЬЗОВАТЕЛЯМ "
                                     "ПОМЕЩЕНИЙ В МНОГОКВАРТИРНЫХ ДОМАХ И ЖИЛЫХ ДОМОВ", "ordinal": 8},
               {"level": 1, "label": "VI. Порядок расчета и внесения платы за коммунальные услуги", "ordinal": 85},
               {"level": 2, "label": "Приложение N 2", "ordinal": 287},
               {"level": 2, "label": "РАСЧЕТ РАЗМЕРА ПЛАТЫ ЗА КОММУНАЛЬНЫЕ УСЛУГИ", "ordinal": 288}]
MINSTROY = "Министерство Строительства И Жилищно-Коммунального Хозяйства Российской Федерации"


@pytest.mark.parametrize("req, title, outline, kw, full, short", [
    # A point of the rules a government resolution approved.
    (PP354, "", OUTLINE_354, {"point": "40", "ordinal": 120},
     "п. 40 Правил предоставления коммунальных услуг собственникам и пользователям помещений в многоквартирных "
     "домах и жилых домов, утв. постановлением Правительства Российской Федерации от 06.05.2011 № 354",
     "п. 40 Правил № 354"),
    # A point of the resolution itself, before `Утверждены`.
    (PP354, "", OUTLINE_354, {"point": "2", "ordinal": 2},
     "п. 2 Постановления Правительства Российской Федерации от 06.05.2011 № 354 "
     "«О предоставлении коммунальных услуг собственникам»", "п. 2 ПП РФ от 06.05.2011 № 354"),
    # A point and a table of an appendix to the rules.
    (PP354, "", OUTLINE_354, {"point": "3", "ordinal": 290},
     "п. 3 прил. № 2 к Правилам предоставления коммунальных услуг собственникам и пользователям помещений в "
     "многоквартирных домах и жилых домов, утв. постановлением Правительства Российской Федерации от 06.05.2011 № 354",
     "п. 3 прил. № 2 к Правилам № 354"),
    (PP354, "", OUTLINE_354, {"table": "9", "ordinal": 300}, None, "табл. 9 прил. № 2 к Правилам № 354"),
    # An order approving a procedure.
    ({"kind": "приказ", "jurisdiction": "РФ", "number": "938/ПР", "date": "2015-12-25", "body": MINSTROY},
     "Приказ Минстроя России от 25.12.2015 N 938/пр",
     [{"label": "Утвержден", "ordinal": 2}, {"label": "ПОРЯДОК И СРОКИ ВНЕСЕНИЯ ИЗМЕНЕНИЙ В РЕЕСТР ЛИЦЕНЗИЙ", "ordinal": 3}],
     {"point": "5", "ordinal": 4},
     "п. 5 Порядка и сроков внесения изменений в реестр лицензий, утв. приказом Министерства строительства и "
     "жилищно-коммунального хозяйства Российской Федерации от 25.12.2015 № 938/пр", "п. 5 Порядка и сроков № 938/пр"),
    # A letter: its point, the letter named with its date and number.
    ({"kind": "письмо", "jurisdiction": "РФ", "number": "9667-ОД/04", "date": "2016-04-04", "body": MINSTROY},
     "Письмо Минстроя России от 04.04.2016 N 9667-ОД/04", [], {"point": "2", "ordinal": 1},
     "п. 2 Письма Министерства строительства и жилищно-коммунального хозяйства Российской Федерации "
     "от 04.04.2016 № 9667-ОД/04", "п. 2 Письма Минстроя России от 04.04.2016 № 9667-ОД/04"),
    # A Kyrgyz government resolution: ППКР.
    ({"kind": "постановление", "jurisdiction": "КР", "number": "201", "date": "2019-04-30", "body": "Правительство"},
     "", [], {"point": "7", "ordinal": 3}, "п. 7 Постановления Правительства Кыргызской Республики от 30.04.2019 № 201",
     "п. 7 ППКР от 30.04.2019 № 201"),
])
def test_point_and_table_of_an_act_without_articles(req, title, outline, kw, full, short):
    c = cite(info(title, requisites=req, outline=outline), **kw)
    assert c.short == short
    if full:
        assert c.full == full


def test_the_act_itself_short_forms():
    letter = {"kind": "письмо", "jurisdiction": "РФ", "number": "9667-ОД/04", "date": "2016-04-04", "body": MINSTROY}
    assert cite(info("Письмо Минстроя России от 04.04.2016 N 9667-ОД/04", requisites=letter)).short == \
        "Письмо Минстроя России от 04.04.2016 № 9667-ОД/04"
    law = {"kind": "закон", "jurisdiction": "РФ", "number": "152-ФЗ", "date": "2006-07-27", "name": "о персональных данных"}
    assert cite(info(requisites=law)).short == "Федеральный закон от 27.07.2006 № 152-ФЗ"


@pytest.mark.parametrize("body, heading, at, place", [
    ("39. Если ...\n40. Потребитель в многоквартирном доме вносит плату\n41. Потребитель ...", "", 20, {"point": "40"}),
    ("39. Если ...\n40. Потребитель", "", 0, {"point": "39"}),
    ("148(53). Первый\n148(54). Второй", "", 20, {"point": "148(54)"}),
    # Begins inside a point (its number is in an earlier passage): none named rather than a wrong one.
    ("а) подпункт\nб) ещё\n7. Следующий", "", 5, {}),
    ("а) подпункт\n7. Следующий", "", 0, {}),
    # A match in the section heading that opens the passage: the section's first point.
    ("III. Расчет размера платы\n10. Размер платы", "III. Расчет размера платы", 5, {"point": "10"}),
    ("Зависимость | Значение", "Таблица 9", 0, {"table": "9"}),
    ("ФОРМА", "Таблица 5.1", 0, {"table": "5.1"}),
    # Numbers inside a sentence are not points.
    ("Срок 30. дней и 2. года", "", 10, {}),
])
def test_passage_place(body, heading, at, place):
    assert passage_place(body, heading, at) == place


def test_real_acts_cited_by_point_and_article(real_index):
    from kb.search import search

    hits = search(real_index, "общежития коридорного гостиничного секционного типа", per_page=50).flat_hits()
    rules = [h for h in hits if "354" in h.path and h.point]
    assert rules, [(h.path, h.citation_short) for h in hits[:10]]
    assert all(re.fullmatch(r"п\. [\d()]+ (?:прил\. № [\w()]+ к Правилам|Правил|ПП РФ от 06\.05\.2011) № 354"
                            r"|п\. [\d()]+ ПП РФ от 06\.05\.2011 № 354", h.citation_short) for h in rules), \
        [h.citation_short for h in rules]
    h = rules[0]
    assert f"п. {h.point} " in h.citation and "от 06.05.2011 № 354" in h.citation
    hit = search(real_index, "ст. 103 ЖК РФ").flat_hits()[0]
    assert hit.citation_short == "ст. 103 ЖК РФ" and "от 29.12.2004 № 188-ФЗ" in hit.citation
    tables = [h for h in search(real_index, "норматив электроснабжения общежития", per_page=50).flat_hits()
              if h.table and "306" in h.path]
    assert tables and all(re.fullmatch(r"табл\. [\d.]+ прил\. № \d к Правилам № 306", h.citation_short)
                          for h in tables), [h.citation_short for h in tables]
    assert all(" | " not in h.snippet for h in tables)


def test_report_page_section_and_organisation():
    rep = info("Годовой отчёт 2019", doc_type="отчёт", year=2019, pages=40,
               sidecar={"organisation": "МЦ «Интербилим»"})
    c = cite(rep, page=12)
    assert c.full == "МЦ «Интербилим». Годовой отчёт 2019. — 2019. — С. 12."
    assert c.short == "Годовой отчёт 2019, 2019, с. 12"
    txt = info("Годовой отчёт 2019", doc_type="отчёт", year=2019, pages=1)
    c = cite(txt, page=1, heading="II. Правовая помощь мигрантам")
    assert c.full == "Годовой отчёт 2019. — 2019. — Разд. «II. Правовая помощь мигрантам»."
    assert c.short == "Годовой отчёт 2019, 2019, разд. «II. Правовая помощь мигрантам»"
    # A legal act without requisites (a model law) is cited by its title.
    assert cite(info("Модельный закон о жилье"), article="3").full == "Модельный закон о жилье. — Ст. 3."


def test_consultation_record():
    rec = info("Выселяют из общежития", doc_type="консультация",
               consultation={"id": "k-001", "date": "2023-02-14", "category": "жильё"})
    c = cite(rec, heading="Ответ")
    assert (c.full, c.short) == ("Консультация № k-001 от 14.02.2023, ответ", "Конс. № k-001 от 14.02.2023, ответ")


def test_stable_anchor():
    assert stable_anchor(info(), "84", None) == "st-84"
    assert stable_anchor(info(pages=10), None, 3) == "page-3"
    assert stable_anchor(info(pages=1), None, 1) == ""


# --- the web: citations shown, stable links ------------------------------------------------------

@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from kb.index import update_index
    from kb.web import create_app

    base = tmp_path_factory.mktemp("cite")
    shutil.copytree(ROOT / "corpus", base / "c")
    update_index(base / "c", base / "i", show_progress=False)
    app = create_app(base / "c", base / "i")
    app.testing = True
    return app.test_client()


def _doc_id(client, path_part):
    return next(d["doc_id"] for d in client.get("/api/documents").json["documents"] if path_part in d["path"])


def test_results_show_citation_with_copy_button_and_stable_link(client):
    html = client.get("/search?q=выселение&type=отчёт").get_data(as_text=True)
    # The short form shown, the full one under "полностью" (a <details>, no JS needed), copied whole.
    m = re.search(r'<details class="cite-full"><summary><span class="cite-short">([^<]+)</span> '
                  r'<span class="cite-more">полностью</span></summary><span class="cite-text">([^<]+)</span></details>'
                  r'\s*<button type="button" class="copy" data-copy="([^"]+)" hidden>'
                  r'Копировать</button> <a class="permalink" href="(/doc/\w+\?page=\d+)"', html)
    assert m and m.group(2) == m.group(3) and re.search(r"— С\. \d+\.$", m.group(2)), m
    assert re.search(r", с\. \d+$", m.group(1)) and len(m.group(1)) < len(m.group(2))
    hits = client.get("/api/search?q=выселение&type=отчёт").json["hits"]
    assert all(h["citation"] and h["citation_short"] and h["anchor"].startswith("page-") for h in hits)


def test_document_page_article_anchors_and_citations(client):
    doc_id = _doc_id(client, "model-law")
    html = client.get(f"/doc/{doc_id}").get_data(as_text=True)
    assert 'id="st-3"' in html and 'href="#st-3" title="Ссылка на это место"' in html
    assert re.search(r'<span class="cite-text">[^<]*Ст\. 3\.</span>', html)
    assert f'href="/doc/{doc_id}?st=3"' in html


def test_stable_links_resolve_to_part_and_anchor(client):
    doc_id = _doc_id(client, "model-law")
    r = client.get(f"/doc/{doc_id}?st=3&q=жилье")
    assert r.status_code == 302 and r.headers["Location"].endswith("#st-3") and "q=" in r.headers["Location"]
    r = client.get(f"/doc/{doc_id}?st=999")
    assert r.status_code == 404 and "В документе нет статьи 999" in r.get_data(as_text=True)
    assert client.get(f"/doc/{doc_id}?st=<x>").status_code == 400
    pdf = _doc_id(client, "godovoy-otchet-2023")
    r = client.get(f"/doc/{pdf}?page=3")
    assert r.status_code == 302 and r.headers["Location"] == f"/doc/{pdf}#page-3"
    assert client.get(f"/doc/{pdf}?page=999").status_code == 404
    assert client.get("/doc/ffffffffffff?st=3").status_code == 404


def test_stable_link_survives_a_rebuild_that_moves_the_article(tmp_path):
    """An article link made before a rebuild opens the same article after it, even when the
    article's passage number and part changed (text added before it)."""
    from kb.index import update_index
    from kb.web import create_app
    from test_doc_parts import _act

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "act.txt").write_text(_act(), encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False)
    c = create_app(corpus, tmp_path / "i").test_client()
    doc_id = c.get("/api/documents").json["documents"][0]["doc_id"]
    before = c.get(f"/doc/{doc_id}?st=300").headers["Location"]
    filler = "".join(f"Статья 0{n}. Вводная статья\n\nТекст вводной статьи {n}.\n\n" for n in range(60))
    text = _act()
    cut = text.index("Статья 1.")
    (corpus / "act.txt").write_text(text[:cut] + filler + text[cut:], encoding="utf-8")
    update_index(corpus, tmp_path / "i", show_progress=False)
    after = c.get(f"/doc/{doc_id}?st=300").headers["Location"]
    assert before != after and after.endswith("#st-300")
    page = c.get(after.split("#")[0]).get_data(as_text=True)
    assert 'id="st-300"' in page


REAL = ["rf-codes-html/102090645_zhilishchnyj_kodeks_rf.html", "rf-codes-html/102027595_konstitutsiya_rf.html",
        "rf-housing-docx/Письмо Минстроя РФ от 04.04.2016 № 9667-ОД-04 о порядке оформления актов приемки работ "
        "по договору управления МКД.docx"]


def test_api_search_article_of_the_housing_code_is_cited(shared_data, tmp_path):
    from kb.index import update_index
    from kb.web import create_app

    for rel in REAL:
        (tmp_path / "c" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data / rel, tmp_path / "c" / rel)
    update_index(tmp_path / "c", tmp_path / "i", show_progress=False)
    client = create_app(tmp_path / "c", tmp_path / "i").test_client()
    hit = client.get("/api/search?q=ст. 84 ЖК РФ").json["hits"][0]
    assert hit["article"] == "84"
    assert hit["citation"].startswith("ст. 84 Жилищного кодекса Российской Федерации от 29.12.2004 № 188-ФЗ")
    assert hit["citation_short"] == "ст. 84 ЖК РФ"
    assert hit["anchor"] == "st-84"


def test_cli_names_points_and_tables_and_json_keeps_its_fields(real_index, capsys):
    import json

    from kb.cli import main

    assert main(["search", "--index", str(real_index), "общежития коридорного типа"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^   \(табл\. \d+\) ", out, re.M) and re.search(r"^   \(п\. [\d()]+\) ", out, re.M), out[:2000]
    assert " | " not in out
    assert main(["search", "--index", str(real_index), "общежития коридорного типа", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    for h in hits:
        assert {"path", "title", "doc_type", "score", "snippet", "doc_id", "passage", "part", "year", "heading",
                "citation", "citation_short", "anchor"} <= set(h)
    assert any(h.get("point") and h["citation_short"].startswith(f"п. {h['point']} ") for h in hits)
    assert any(h.get("table") and h["citation_short"].startswith(f"табл. {h['table']} ") for h in hits)


def test_a_passage_continuing_a_point_is_that_points():
    from kb.search.cite import place_of

    doc = info(requisites=PP354, outline=OUTLINE_354)
    stored = {1: {"ordinal": 1, "body": "ПОСТАНОВЛЕНИЕ"}, 2: {"ordinal": 2, "body": "1. Утвердить\n2. Установить, что:\nа) ..."},
              7: {"ordinal": 7, "body": "7. Последний пункт постановления"},
              9: {"ordinal": 9, "body": "1. Настоящие Правила\n2. Понятия:"}}
    earlier = lambda a, b: [stored[o] for o in range(a, b) if o in stored]      # noqa: E731
    assert place_of(doc, "б) не применяются\nв) вступают", "", None, 5, 3, earlier) == {"point": "2"}
    # A match after the passage's own first point is that point's.
    assert place_of(doc, "б) ...\n3. Установить", "", None, 12, 3, earlier) == {"point": "3"}
    # Never across into another numbering (the rules begin at 8): the act's point 2 is not the rules'.
    assert place_of(doc, "продолжение", "", None, 0, 10, earlier) == {"point": "2"}
    assert place_of(doc, "продолжение", "", None, 0, 8, earlier) == {}
    assert place_of(doc, "продолжение", "", None, 0, 3) == {}                  # nothing to read back
    assert place_of(doc, "продолжение", "", "84", 0, 3, earlier) == {}        # an article says it all


def test_point_and_table_anchors_name_their_numbering():
    doc = info(requisites=PP354, outline=OUTLINE_354)
    assert stable_anchor(doc, None, None, "2", 2) == "pt-0-2"         # the resolution itself
    assert stable_anchor(doc, None, None, "40", 120) == "pt-1-40"     # the rules it approved
    assert stable_anchor(doc, None, None, None, 300, "9") == "tb-2-9"  # appendix 2 of the rules
    assert stable_anchor(doc, "84", None, "40", 120) == "st-84"
    assert stable_anchor(doc, None, None) == ""
    from kb.search.cite import point_passage

    passages = [{"ordinal": 2, "body": "1. Утвердить\n2. Установить"},
                {"ordinal": 119, "body": "39. Если\n40. Потребитель"}, {"ordinal": 120, "body": "40. Потребитель"},
                {"ordinal": 300, "heading": "Таблица 9", "body": "a | b"}]
    assert point_passage(doc, passages, "0-2") == 2
    assert point_passage(doc, passages, "1-40") == 119
    assert point_passage(doc, passages, "0-40") is None
    assert point_passage(doc, passages, "2-9", table=True) == 300
    assert point_passage(doc, passages, "2-9") is None and point_passage(doc, passages, "x") is None


def test_real_point_and_table_links_open_their_passage(real_index, shared_data):
    from kb.web import create_app

    app = create_app(shared_data, real_index)
    app.testing = True
    c = app.test_client()
    hits = c.get("/api/search?q=общежития коридорного гостиничного секционного типа&per_page=30").json["hits"]
    linked = [h for h in hits if (h["anchor"] or "").startswith(("pt-", "tb-"))]
    assert {h["anchor"][:2] for h in linked} == {"pt", "tb"}, [h["anchor"] for h in hits]
    for h in linked:
        kind, _, value = h["anchor"].partition("-")
        r = c.get(f"/doc/{h['doc_id']}?{kind}={value}")
        # To where the point or table begins: this passage, or an earlier one a long table was cut from.
        m = re.search(r"#p-(\d+)$", r.headers.get("Location", ""))
        assert r.status_code == 302 and m and 0 <= h["passage"] - int(m.group(1)) <= 3, (h["anchor"], r.headers)
    html = c.get("/search?q=общежития коридорного гостиничного секционного типа").get_data(as_text=True)
    assert re.search(r'<a class="permalink" href="/doc/\w+\?pt=1-[\d()%]+"', html)
    doc_id = linked[0]["doc_id"]
    r = c.get(f"/doc/{doc_id}?pt=1-9999")
    assert r.status_code == 404 and "нет пункта 9999" in r.get_data(as_text=True)


def test_document_page_cites_points_and_tables_in_short_form(real_index, shared_data):
    from kb.web import create_app

    app = create_app(shared_data, real_index)
    app.testing = True
    c = app.test_client()
    hits = c.get("/api/search?q=общежития коридорного гостиничного секционного типа&per_page=30").json["hits"]
    point = next(h for h in hits if (h["anchor"] or "").startswith("pt-"))
    r = c.get(f"/doc/{point['doc_id']}?pt={point['anchor'][3:]}")
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    # The passage carries the citation of its (first) point: short, the full form folded, a link.
    at = page.index(f'id="p-{point["passage"]}"')
    section = page[at:page.index("</section>", at)]
    assert "Цитата:" in section and "полностью" in section, section[:800]
    assert re.search(r'<span class="cite-short">п\. [\d()]+ Правил № 354</span>', section), section[:800]
    assert re.search(r'class="permalink" href="/doc/\w+\?pt=1-[\d()%]+"', section), section[:800]
