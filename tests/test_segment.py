"""Passages: articles of acts, pages, grouped paragraphs; the outline of an act."""

from __future__ import annotations

from pathlib import Path

from kb.extract import Document
import pytest

from kb.segment import GROUP_CHARS, MAX_CHARS, segment


def doc(pages: list[str], title: str = "Документ") -> Document:
    return Document(path=Path("x.txt"), format="txt", title=title, pages=pages, size=1, sha256="0", mtime=0.0)


ACT = """ЗАКОН О ЖИЛЬЕ

Глава 1. Общие положения
Статья 1. Цель
Закон защищает право на жилье.
Статья 2. Понятия
Жилье — помещение для проживания.
Глава 2. Выселение
Статья 3. Запрет произвольного выселения
Никто не может быть выселен произвольно. Согласно статье 1 настоящего Закона ...
"""


def test_articles_become_passages_with_numbers_headings_and_outline():
    seg = segment(doc([ACT], "Закон о жилье"))
    arts = [p for p in seg.passages if p.article]
    assert [p.article for p in arts] == ["1", "2", "3"]
    assert arts[2].heading == "Статья 3. Запрет произвольного выселения"
    assert arts[1].text.endswith("проживания.") and arts[2].text.startswith("Глава 2. Выселение\nСтатья 3.")
    labels = [(o.level, o.label) for o in seg.outline]
    assert labels[0] == (1, "Глава 1. Общие положения")        # the chapter above article 1 too
    assert (1, "Глава 2. Выселение") in labels
    assert [o.article for o in seg.outline if o.level == 2] == ["1", "2", "3"]
    chapter2 = next(o for o in seg.outline if o.label.startswith("Глава 2"))
    assert seg.passages[chapter2.ordinal].article == "3"


def test_a_cross_reference_is_no_article():
    seg = segment(doc(["Отчёт.\nСтатья 5 Закона применяется.\nЕщё текст."]))
    assert all(p.article is None for p in seg.passages)


def test_pages_of_a_paginated_document():
    seg = segment(doc(["Первая страница.", "Вторая страница.", "Третья."]))
    assert [(p.page, p.text) for p in seg.passages] == [(1, "Первая страница."), (2, "Вторая страница."), (3, "Третья.")]


def test_articles_across_pages_know_their_page():
    pages = ["Кодекс\nСтатья 1. А\nтекст", "Статья 2. Б\nтекст\nСтатья 3. В\nтекст"]
    seg = segment(doc(pages))
    assert {p.article: p.page for p in seg.passages if p.article} == {"1": 1, "2": 2, "3": 2}


def test_paragraphs_grouped_and_long_text_split():
    paras = [("Абзац номер %d. " % i) * 20 for i in range(30)]
    seg = segment(doc(["\n\n".join(paras)]))
    assert len(seg.passages) > 1
    assert all(len(p.text) <= max(GROUP_CHARS, MAX_CHARS) for p in seg.passages)
    assert [p.ordinal for p in seg.passages] == list(range(len(seg.passages)))
    joined = " ".join(p.text for p in seg.passages)
    assert joined.count("Абзац номер 29.") == 20


def test_chapter_after_the_last_article_keeps_its_text():
    seg = segment(doc([ACT + "Глава 3. Заключительные положения\nВступает в силу.\n"]))
    assert seg.passages[-1].text.startswith("Глава 3.") and seg.passages[-1].article is None
    assert seg.outline[-1].label.startswith("Глава 3") and seg.outline[-1].ordinal == len(seg.passages) - 1
    assert "Вступает в силу." not in seg.passages[-2].text


def test_flattened_superscript_articles_repaired():
    from kb.segment import repair_numbers

    assert repair_numbers(["192", "193", "1931", "194"]) == ["192", "193", "193.1", "194"]
    assert repair_numbers(["91", "911", "912", "9110", "92"]) == ["91", "91.1", "91.2", "91.10", "92"]
    # Ordinary sequences are left alone.
    assert repair_numbers(["1", "11", "12"]) == ["1", "11", "12"]
    assert repair_numbers(["9", "10", "11"]) == ["9", "10", "11"]
    assert repair_numbers(["1", "10", "2"]) == ["1", "10", "2"]
    text = "КОДЕКС\n\nСтатья 193. А\nтекст\n\nСтатья 1931. Б\nтекст\n\nСтатья 194. В\nтекст\n"
    seg = segment(Document(path=Path("k.txt"), format="txt", title="К", pages=[text], size=1, sha256="", mtime=0))
    assert [p.article for p in seg.passages if p.article] == ["193", "193.1", "194"]
    assert seg.passages[-2].heading == "Статья 193.1. Б"


REPORT = """I. ВВЕДЕНИЕ.

1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ В 2019 ГОДУ
Общественно-политическая ситуация характеризовалась различными событиями.

РАТИФИКАЦИЯ КОНВЕНЦИИ ООН О ПРАВАХ ИНВАЛИДОВ
Президент подписал ратификацию Конвенции.
1 БАТКЕНСКАЯ
ОБЛАСТЬ
II. ДЕЯТЕЛЬНОСТЬ И ДОСТИЖЕНИЯ «МЦ ИНТЕРБИЛИМ»
2.1. ТРЕНИНГ ГОЛОВНОГО ОФИСА ДЛЯ ОМСУ ПО МОЛОДЕЖНОЙ ПОЛИТИКЕ
Проведен тренинг для органов местного самоуправления.
ОБЩЕСТВЕННЫЕ СЛУШАНИЯ В ЧУЙСКОЙ
ОБЛАСТИ
Слушания прошли в трех городах.
"""


def _doc(text, headings=()):
    return Document(path=Path("r.txt"), format="txt", title="r", pages=[text], size=1, sha256="", mtime=0,
                    headings=list(headings))


def test_report_sections_make_outline_and_headings():
    seg = segment(_doc(REPORT))
    assert [(o.level, o.label) for o in seg.outline] == [
        (1, "I. ВВЕДЕНИЕ."),
        (2, "1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ В 2019 ГОДУ"),
        (3, "РАТИФИКАЦИЯ КОНВЕНЦИИ ООН О ПРАВАХ ИНВАЛИДОВ"),
        (1, "II. ДЕЯТЕЛЬНОСТЬ И ДОСТИЖЕНИЯ «МЦ ИНТЕРБИЛИМ»"),
        (2, "2.1. ТРЕНИНГ ГОЛОВНОГО ОФИСА ДЛЯ ОМСУ ПО МОЛОДЕЖНОЙ ПОЛИТИКЕ"),
        (3, "ОБЩЕСТВЕННЫЕ СЛУШАНИЯ В ЧУЙСКОЙ ОБЛАСТИ"),      # wrapped over two lines: one heading
    ]
    # A passage never crosses a heading, and carries its section's heading.
    by_heading = {p.heading: p.text for p in seg.passages}
    assert by_heading["РАТИФИКАЦИЯ КОНВЕНЦИИ ООН О ПРАВАХ ИНВАЛИДОВ"].endswith("ОБЛАСТЬ")
    assert "Слушания прошли" in by_heading["ОБЩЕСТВЕННЫЕ СЛУШАНИЯ В ЧУЙСКОЙ ОБЛАСТИ"]
    assert "Проведен тренинг" not in by_heading["ОБЩЕСТВЕННЫЕ СЛУШАНИЯ В ЧУЙСКОЙ ОБЛАСТИ"]
    # Headings with nothing between them open one passage, not an empty one.
    assert seg.passages[0].text.startswith("I. ВВЕДЕНИЕ.\n1.1. ОБЩЕСТВЕННО")
    assert seg.outline[0].ordinal == seg.outline[1].ordinal == 0
    for o in seg.outline:
        assert seg.passages[o.ordinal].text.find(o.label.split()[0]) >= 0


def test_few_headings_no_outline():
    seg = segment(_doc("ВВЕДЕНИЕ В ТЕМУ\nОбычный текст заметки.\nЕщё строка.\n"))
    assert seg.outline == [] and all(p.heading == "" for p in seg.passages)


@pytest.mark.shared_data
def test_real_report_has_structure(shared_data):
    from kb.extract import extract

    seg = segment(extract(shared_data / "reports" / "interbilim-annual-report-2019.txt"))
    labels = [o.label for o in seg.outline]
    assert labels[:2] == ["I. ВВЕДЕНИЕ.", "1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ В КЫРГЫЗСКОЙ РЕСПУБЛИКЕ В 2019 ГОДУ"]
    assert [o.label.split()[0] for o in seg.outline if o.level == 1] == ["I.", "II.", "III."]
    assert sum(o.level == 2 for o in seg.outline) >= 6
    assert all(p.heading for p in seg.passages)
