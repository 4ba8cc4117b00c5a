"""Tables inside passage text (kb.search.tables): `<table>` on the document page, readable rows
in snippets instead of `a | b | c` lines."""

from __future__ import annotations

import re

from kb.search.tables import blocks, readable, text_html

FORM = ("Таблица 7\nФОРМА норматива\n"
        "Направление использования | Единица измерения | Норматив потребления\n"
        "Отопление надворных построек | Гкал на кв. метр в месяц | 0,02\n"
        "Полив | куб. метр на кв. метр | 0,5\n"
        "Примечание после таблицы.")


def test_blocks_split_text_and_tables():
    got = blocks(FORM)
    assert [k for k, _ in got] == ["text", "table", "text"]
    assert got[1][1][0] == ["Направление использования", "Единица измерения", "Норматив потребления"]
    assert got[1][1][2] == ["Полив", "куб. метр на кв. метр", "0,5"]


def test_readable_rows_name_their_columns():
    text = readable(FORM)
    assert " | " not in text
    assert ("Направление использования: Отопление надворных построек; Единица измерения: Гкал на кв. метр в месяц; "
            "Норматив потребления: 0,02.") in text
    assert text.startswith("Таблица 7\nФОРМА норматива\n") and text.endswith("Примечание после таблицы.")


def test_readable_without_a_header_or_with_spanning_cells():
    # A passage that begins inside a table: its first row is data, not column names.
    assert readable("Полив | куб. метр | 0,5\nОтопление | Гкал | 0,02") == "Полив; куб. метр; 0,5.\nОтопление; Гкал; 0,02."
    # A row number under a header without a number column: a header cell spans two columns; no names.
    text = readable("Форма\nКатегория | Единица | Норматив\n1. | Общежития | кВт·ч\n2\n3 | x | y")
    assert "Категория: 1." not in text and "1.; Общежития; кВт·ч." in text
    # One-cell rows of a merged column belong to the table, after its last full row too.
    rows = blocks("Форма\nКатегория | Единица | Норматив\n1. | Общежития | кВт·ч\n2\n3\n2. | Дома | кВт·ч\n2\n3\n"
                  "Примечание: первое предложение длиннее тридцати знаков.")
    assert rows[1][1][-2:] == [["2"], ["3"]] and rows[2] == ("text", "Примечание: первое предложение длиннее тридцати знаков.")
    assert readable("Без таблиц: a | b только в одной строке?") != ""
    assert readable("Просто текст.\nЕщё строка.") == "Просто текст.\nЕщё строка."


def test_table_html_escapes_highlights_and_spans():
    from html import escape

    html = text_html(FORM + "\nОдна | <script>", lambda t: escape(t).replace("Полив", "<mark>Полив</mark>"))
    assert html.count("<table") == 1 and "<th>Направление использования</th>" in html
    assert "<td><mark>Полив</mark></td>" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    # The short last row spans the missing columns.
    assert re.search(r'<td>Одна</td><td colspan="2">&lt;script&gt;</td>', html)
    assert text_html("без таблиц & <b>", escape) == escape("без таблиц & <b>")
