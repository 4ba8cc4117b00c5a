"""Non-PDF readers on fixtures the tests make themselves; the exact text that must come out."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kb.errors import ExtractError, MissingTool
from kb.extract import extract
from kb.extract.doubled import collapse_line, collapse_token, repair_doubled
from kb.extract.txt import decode_text


# --- DOCX --------------------------------------------------------------------

def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = "Договор ссуды"
    d.add_heading("Глава 1. Общие положения", level=1)
    d.add_paragraph("Первый абзац перед таблицей.")
    t = d.add_table(rows=2, cols=3)
    for r, row in enumerate([["№", "Наименование", "Сумма"], ["1", "Аренда", "2009 сом"]]):
        for c, text in enumerate(row):
            t.cell(r, c).text = text
    d.add_paragraph("Абзац после таблицы.")
    d.add_heading("Статья 2. Ссуда", level=2)
    p = d.add_paragraph("Текст ")
    p.add_run("жирный").bold = True
    p.add_run(" и обычный.")
    d.save(path)
    return path


def test_docx_paragraphs_tables_in_order(tmp_path):
    doc = extract(make_docx(tmp_path / "договор.docx"))
    assert doc.format == "docx"
    assert doc.pages == [
        "Глава 1. Общие положения\n"
        "Первый абзац перед таблицей.\n"
        "№ | Наименование | Сумма\n"
        "1 | Аренда | 2009 сом\n"
        "Абзац после таблицы.\n"
        "Статья 2. Ссуда\n"
        "Текст жирный и обычный."
    ]
    assert doc.headings == ["Глава 1. Общие положения", "Статья 2. Ссуда"]
    assert doc.title == "Договор ссуды"


def test_docx_merged_cells_once_and_placeholder_title(tmp_path):
    import docx

    d = docx.Document()
    d.core_properties.title = "Title"
    t = d.add_table(rows=2, cols=2)
    a = t.cell(0, 0).merge(t.cell(0, 1))
    a.text = "Объединённая"
    v = t.cell(1, 0)
    v.text = "низ"
    t.cell(1, 1).text = "право"
    path = tmp_path / "t.docx"
    d.save(path)
    doc = extract(path)
    assert doc.pages == ["Объединённая\nниз | право"]
    # "Title" names nothing: the first line stands in.
    assert doc.title == "Объединённая"


# --- RTF ---------------------------------------------------------------------

RTF_1251 = (
    r"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0\froman\fcharset204 Times New Roman;}}"
    r"{\info{\title \'c7\'e0\'ea\'ee\'ed \'ee \'f1\'f3\'e4\'e0\'f5}}"
    "\n"
    r"\pard\f0\fs24 \'d1\'f2\'e0\'f2\'fc\'ff 1. \'ce\'e1\'f9\'e8\'e5 \'ef\'ee\'eb\'ee\'e6\'e5\'ed\'e8\'ff\par "
    r"\uc1\u1046?\u1080?\u1083?\u1080?\u1097?\u1077? \u8212? \'fd\'f2\'ee \'e4\'ee\'ec\par "
    r"{\b\'c2\'e0\'e6\'ed\'ee}: \'b8\'eb\'ea\'e0\par "
    r"\trowd\cellx2000\cellx4000 \'e0\intbl\cell \'e1\intbl\cell\row "
    "}"
)


def test_rtf_cp1251_hex_and_unicode(tmp_path):
    path = tmp_path / "закон.rtf"
    path.write_bytes(RTF_1251.encode("ascii"))
    doc = extract(path)
    assert doc.format == "rtf"
    assert doc.pages == ["Статья 1. Общие положения\nЖилище — это дом\nВажно: ёлка\nа | б"]
    assert doc.title == "Закон о судах"


def test_rtf_raw_8bit_cp1251_bytes(tmp_path):
    # Some exporters write raw code-page bytes instead of \'xx escapes.
    path = tmp_path / "raw.rtf"
    path.write_bytes("{\\rtf1\\ansi\\ansicpg1251 Привет, мир!\\par}".encode("cp1251"))
    assert extract(path).pages == ["Привет, мир!"]


# --- HTML --------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head>{meta}<title>Закон о тестах</title>
<style>p {{ color: red }} .скрытый {{}}</style>
<script>var x = "скрипт";</script></head>
<body>
<nav><a href="/">Главная</a> | <a href="/x">Меню</a></nav>
<header>Шапка сайта</header>
<h1>Статья 1. Заголовок</h1>
<p>Первый   абзац
с переносом&nbsp;строки.</p>
<!-- комментарий -->
<div>Блок<br>с разрывом</div>
<ul><li>один</li><li>два</li></ul>
<table><tr><th>Кол1</th><th>Кол2</th></tr>
<tr><td>а</td><td> </td><td><p>б</p><p>в</p></td></tr></table>
<p style="display: none">скрыто</p>
<noscript>включите JS</noscript>
<aside>реклама</aside>
<footer>Подвал</footer>
</body></html>"""

HTML_TEXT = ("Статья 1. Заголовок\nПервый абзац с переносом строки.\nБлок\nс разрывом\n"
             "один\nдва\nКол1 | Кол2\nа | б в")


def test_html_meta_charset_windows_1251(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(HTML.format(meta='<meta charset="windows-1251">').encode("cp1251"))
    doc = extract(path)
    assert doc.format == "html"
    assert doc.pages == [HTML_TEXT]
    assert doc.title == "Закон о тестах"
    assert doc.headings == ["Статья 1. Заголовок"]


def test_html_http_equiv_koi8(tmp_path):
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
    path = tmp_path / "page.htm"
    path.write_bytes(HTML.format(meta=meta).encode("koi8-r"))
    assert extract(path).pages == [HTML_TEXT]


def test_html_without_charset_is_detected(tmp_path):
    path = tmp_path / "nocharset.html"
    path.write_bytes(HTML.format(meta="").encode("cp1251"))
    assert extract(path).pages == [HTML_TEXT]


@pytest.mark.parametrize("declared", ["windows-1251", "koi8-r", "shift_jis"])
def test_html_utf8_bytes_under_an_old_declaration(tmp_path, declared):
    # A page re-saved as UTF-8 often keeps its old declaration: valid UTF-8 bytes win.
    path = tmp_path / "resaved.html"
    path.write_bytes(HTML.format(meta=f'<meta charset="{declared}">').encode("utf-8"))
    assert extract(path).pages == [HTML_TEXT]


def test_html_declared_utf8_but_bytes_cp1251(tmp_path):
    path = tmp_path / "liar.html"
    path.write_bytes(HTML.format(meta='<meta charset="utf-8">').encode("cp1251"))
    assert extract(path).pages == [HTML_TEXT]


def test_html_placeholder_title_falls_back_to_pravo_title_class(tmp_path):
    page = ('<html><head><meta charset="utf-8"><title>Complex</title></head><body>'
            '<p class="C">РОССИЙСКАЯ ФЕДЕРАЦИЯ</p><p class="T">Жилищный кодекс</p>'
            '<p class="H">Статья 1.&nbsp;Основные начала</p><p>Текст статьи.</p></body></html>')
    path = tmp_path / "pravo.html"
    path.write_bytes(page.encode("utf-8"))
    doc = extract(path)
    assert doc.title == "Жилищный кодекс"
    assert doc.headings == ["Жилищный кодекс", "Статья 1. Основные начала"]
    assert doc.pages == ["РОССИЙСКАЯ ФЕДЕРАЦИЯ\nЖилищный кодекс\nСтатья 1. Основные начала\nТекст статьи."]


# --- TXT encodings ------------------------------------------------------------

TEXT = "Статья 84. Выселение граждан из жилых помещений\nЖилищный кодекс: съешь ещё этих булок."


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "cp1251", "koi8-r", "cp866"])
def test_txt_encodings(tmp_path, encoding):
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(TEXT.encode(encoding))
    doc = extract(path)
    assert doc.format == "txt"
    assert doc.pages == [TEXT]


@pytest.mark.parametrize("word", ["Привет", "ЗАКОН", "Москва", "ул. Фрунзе", "Бишкек", "ёж",
                                  "Ассамблея ООН", "МЦ Интербилим"])
@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r", "cp866"])
def test_short_cyrillic_code_pages(word, encoding):
    # charset_normalizer alone gets many of these wrong; the letter-frequency score does not.
    assert decode_text(word.encode(encoding)) == (word, encoding)


def test_western_text_is_not_forced_into_cyrillic():
    text, enc = decode_text("Café crème brûlée, déjà vu".encode("cp1252"))
    assert text == "Café crème brûlée, déjà vu"


def test_txt_bullets_and_flattened_hyphen(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("\uf0b7 Общественно- политическая ситуация\n\uf0a7 второй пункт\n", encoding="utf-8")
    assert extract(path).pages == ["• Общественно-политическая ситуация\n• второй пункт"]


# --- doubled bold letters -----------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("II..  ВВВВЕЕДДЕЕННИИЕЕ..", "I. ВВЕДЕНИЕ."),
    (" IIII..  ДДЕЕЯЯТТЕЕЛЛЬЬННООССТТЬЬ  ИИ  ДДООССТТИИЖЖЕЕННИИЯЯ  ««ММЦЦ  ИИННТТЕЕРРББИИЛЛИИММ»»    ",
     "II. ДЕЯТЕЛЬНОСТЬ И ДОСТИЖЕНИЯ «МЦ ИНТЕРБИЛИМ»"),
    ("ВВ  22001199  ГГООДДУУ  ", "В 2019 ГОДУ"),
    # A section number printed once before the doubled heading stays as it is.
    ("1.1. ООББЩЩЕЕССТТВВЕЕННННОО--  ППООЛЛИИТТИИЧЧЕЕССККААЯЯ  ССИИТТУУААЦЦИИЯЯ",
     "1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ"),
    # Single punctuation inside a doubled token is kept once.
    ("««ММЦЦ  ИИННТТЕЕРРББИИЛЛИИММ: ", "«МЦ ИНТЕРБИЛИМ:"),
    ("ГГооллооввнноойй  ооффиисс  ОООО  ««ММЦЦ  ИИннттееррббииллиимм»»  ", "Головной офис ОО «МЦ Интербилим»"),
    ("УУККРРЕЕППИИММ  ППРРААВВОО  ННАА  ЖЖИИЛЛЬЬЕЕ  --  ССООООББЩЩАА!!»»", "УКРЕПИМ ПРАВО НА ЖИЛЬЕ - СООБЩА!»"),
    ("ЦЦЕЕЛЛЬЬ", "ЦЕЛЬ"),
])
def test_doubled_line_collapses(line, expected):
    assert collapse_line(line) == expected


@pytest.mark.parametrize("line", [
    "ссуда", "Аллея", "2009", "Ассамблея", "Ассамблея ООН 2009 года",
    "Договор ссуды от 11.11.2011", "11", "22 33", "2200", "ОООО",  # numbers/abbreviations alone
    "ВВ 2009 ГГООДДУУ",  # one ordinary token spoils the line
    "ООББЩЩЕЕ ссуда", "ААББ", "--  ..", "", "   ",
    "Ааллея",  # case differs: not a pair
    "ВВ  22001199",  # no word of three letters: not enough evidence
])
def test_ordinary_lines_untouched(line):
    assert collapse_line(line) is None


@pytest.mark.parametrize("token, expected", [
    ("ВВВВЕЕДДЕЕННИИЕЕ..", "ВВЕДЕНИЕ."), ("22001199", "2019"), ("ИИННТТЕЕРРББИИЛЛИИММ:", "ИНТЕРБИЛИМ:"),
    ("ссуда", None), ("Аллея", None), ("2009", None), ("Ассамблея", None), ("--", "-"), ("«", None),
])
def test_collapse_token(token, expected):
    assert collapse_token(token) == expected


def test_wrapped_doubled_heading_joins_but_next_section_does_not():
    text = ("II..  ВВВВЕЕДДЕЕННИИЕЕ..\n \n\n"
            "1.1. ООББЩЩЕЕССТТВВЕЕННННОО--  ППООЛЛИИТТИИЧЧЕЕССККААЯЯ  ВВ  22001199  \n\nГГООДДУУ \n \n"
            "Обычный текст 2009 года, ссуда.\n"
            "ККООННТТААККТТЫЫ::  \n \n\nГГооллооввнноойй  ооффиисс\n")
    fixed, headings = repair_doubled(text)
    assert headings == ["I. ВВЕДЕНИЕ.", "1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ В 2019 ГОДУ", "КОНТАКТЫ:",
                        "Головной офис"]
    assert fixed.split("\n") == ["I. ВВЕДЕНИЕ.", " ", "", "1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ В 2019 ГОДУ",
                                 " ", "Обычный текст 2009 года, ссуда.", "КОНТАКТЫ:", " ", "",
                                 "Головной офис", ""]


def test_txt_doubled_repair_through_extract(tmp_path):
    path = tmp_path / "report.txt"
    path.write_text(" II..  ВВВВЕЕДДЕЕННИИЕЕ..\n \n\nТекст про ссуду в 2009 году.\n", encoding="utf-8")
    doc = extract(path)
    assert doc.pages == ["I. ВВЕДЕНИЕ.\n\nТекст про ссуду в 2009 году."]
    assert doc.headings == ["I. ВВЕДЕНИЕ."]


# --- DOC (legacy Word) ---------------------------------------------------------
# No soffice/LibreOffice here and no .doc on the machine to copy, so the reader's plumbing
# (arguments, output decoding, errors) is tested with a fake catdoc on PATH; the real
# catdoc is exercised on a broken OLE file below.

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _fake_tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_doc_through_catdoc_plumbing(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    # Echoes its arguments so the test sees how it was called, then UTF-8 text with a page break.
    _fake_tool(bin_dir, "catdoc", 'echo "args: $1 $2 $3"\nprintf "Договор ссуды\\n\\fСтраница 2\\n"\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    path = tmp_path / "old.doc"
    path.write_bytes(OLE_MAGIC + b"\0" * 504)
    doc = extract(path)
    assert doc.format == "doc"
    assert doc.pages == ["args: -w -d utf-8\nДоговор ссуды\n\nСтраница 2"]


def test_doc_falls_back_to_antiword(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "antiword", 'echo "antiword $1 $2 $3 $4"\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    path = tmp_path / "old.doc"
    path.write_bytes(OLE_MAGIC + b"\0" * 504)
    assert extract(path).pages == ["antiword -w 0 -m UTF-8.txt"]


def test_doc_tool_failure_is_an_extract_error(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "catdoc", 'echo "File is encrypted" >&2\nexit 69\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    path = tmp_path / "locked.doc"
    path.write_bytes(OLE_MAGIC + b"\0" * 504)
    with pytest.raises(ExtractError) as e:
        extract(path)
    assert "locked.doc" in str(e.value) and "код 69" in str(e.value) and "encrypted" in str(e.value)


def test_doc_without_tools_is_missing_tool(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    path = tmp_path / "old.doc"
    path.write_bytes(OLE_MAGIC + b"\0" * 504)
    with pytest.raises(MissingTool) as e:
        extract(path)
    assert "catdoc" in str(e.value) and "old.doc" in str(e.value)


@pytest.mark.skipif(not any(os.access(os.path.join(d, "catdoc"), os.X_OK)
                            for d in os.environ.get("PATH", "").split(os.pathsep)),
                    reason="catdoc is not installed (scripts/setup installs it)")
def test_real_catdoc_on_broken_ole(tmp_path):
    path = tmp_path / "broken.doc"
    path.write_bytes(OLE_MAGIC + b"garbage" * 10)
    with pytest.raises(ExtractError) as e:
        extract(path)
    assert "catdoc" in str(e.value) and "broken.doc" in str(e.value)
