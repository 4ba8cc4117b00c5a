"""The PDF reader: fixtures drawn with reportlab (exact text out), bad files, the real Civil Code."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pdfplumber
import pytest

import pdf_fixtures as F
from kb.errors import ExtractError
from kb.extract import extract
from kb.extract.pdf import (
    OCR_WARNING,
    _page_chars,
    dedupe_chars,
    is_junk,
    meta_title,
    read_pdf,
    strip_running_lines,
)

pytestmark = pytest.mark.skipif(not F.fonts_available(), reason="needs fonts-dejavu-core (DejaVuSans.ttf)")

# Three doubled letters in a row inside a word: `ССТТВВ`, what overprinted bold gives when not de-duplicated.
DOUBLED_RUN = re.compile(r"([^\W\d_])\1([^\W\d_])\2([^\W\d_])\3")


def read(data: bytes, name: str = "doc.pdf"):
    return read_pdf(Path(name), data)


def write(tmp_path: Path, data: bytes, name: str = "doc.pdf") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# --- fixtures: exact text --------------------------------------------------------------------------

def test_overprinted_bold_heading_comes_out_once():
    data, expected = F.overprinted_bold()
    # The fixture really reproduces the problem: plain pdfplumber doubles every letter.
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert pdf.pages[0].extract_text().startswith("ООББЩЩЕЕССТТВВЕЕННННОО")
    raw = read(data)
    assert raw.pages == expected
    assert raw.pages[0].splitlines()[0] == "ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ"
    assert raw.warnings == [] and raw.needs_ocr == []


def test_two_columns_read_left_then_right_under_full_width_heading():
    data, expected = F.two_columns()
    raw = read(data)
    assert raw.pages == expected
    lines = raw.pages[0].splitlines()
    assert lines[0] == F.TWO_COLUMN_HEADING
    assert lines[1:8] == F.LEFT_COLUMN and lines[8:] == F.RIGHT_COLUMN


def test_two_columns_with_unaligned_baselines():
    data, expected = F.two_columns(right_drop=6.0)
    assert read(data).pages == expected


@pytest.mark.parametrize("make", [F.two_narrow_columns, F.three_columns])
def test_narrow_gutters_and_three_columns_read_column_by_column_without_page_numbers(make):
    data, expected = make()
    raw = read(data)
    assert raw.pages == expected
    assert not any(re.fullmatch(r"-\s*\d+\s*-", line) for p in raw.pages for line in p.splitlines())


def test_running_header_over_three_columns_is_removed():
    data, expected = F.columns(3, 18.0, [0, 2, 4, 6], pages=3, running=RUNNING)
    raw = read(data)
    assert raw.pages == expected and len(raw.pages) == 3
    assert RUNNING not in "\n".join(raw.pages)


RUNNING = "Общественный фонд «Право» · Мониторинг жилищных прав · 2024"


def test_centred_page_number_found_between_columns_is_kept_out_of_them():
    # Without removal (one page: nothing repeats), the number stays at the foot, not inside a column.
    data, expected = F.columns(3, 18.0, [0, 3, 5, 6])
    pdf = pdfplumber.open(io.BytesIO(data))
    from kb.extract.pdf import _page_chars, dedupe_chars, page_lines
    lines = page_lines(dedupe_chars(_page_chars(pdf.pages[0])))
    assert lines[-1] == "- 1 -" and "\n".join(lines[:-1]) == expected[0]


# --- columns a few points apart; pages that only look like columns (issue 28) -------------------------

@pytest.mark.parametrize("size", [9.0, 11.0])
@pytest.mark.parametrize("gutter,ragged", [(3.0, False), (4.0, False), (8.0, False), (1.5, True), (3.0, True), (6.0, True)])
def test_report_columns_a_few_points_apart_read_column_by_column(gutter, ragged, size):
    data, expected = F.narrow_report(gutter, ragged=ragged, size=size)
    # The fixture reproduces the problem: read line across line, the first column's first line
    # runs on into the second column's.
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        across = pdf.pages[0].extract_text().splitlines()[1]
    assert across.startswith("В отчётном году") and "Совместно" in across
    raw = read(data)
    assert raw.pages == expected
    lines = raw.pages[0].splitlines()
    assert lines[0] == F.REPORT_TITLE and lines[-1] == F.REPORT_FOOTER   # across both columns, whole


@pytest.mark.parametrize("gutter", [3.0, 6.0, 20.0])
def test_a_list_in_the_right_column_is_not_a_third_column(gutter):
    data, expected = F.narrow_report_with_list(gutter)
    assert read(data).pages == expected


@pytest.fixture(scope="module")
def code_words(shared_data):
    text = (shared_data / "kg-codes-txt" / "Семейный кодекс Кыргызской Республики.txt").read_text(encoding="utf-8")
    return [w for w in text.split() if not w.endswith("-")]     # no line-end hyphen to join


@pytest.mark.parametrize("seed", range(40))
def test_one_column_of_real_text_is_never_split(code_words, seed):
    # Justified or ragged, 8-12 pt, 200-483 pt wide: rivers of word spaces are not gutters.
    data, expected = F.one_column_text(code_words, seed)
    assert read(data).pages == expected


def test_three_columns_a_few_points_apart():
    data, expected = F.columns(3, 6.0, [0, 3, 5, 6])
    assert read(data).pages == expected


@pytest.mark.parametrize("make", [F.one_column_table, F.one_column_wide_gaps])
def test_tables_forms_and_loose_lines_are_not_columns(make):
    # A table's or a form's cells stay on their row; a river of wide word spaces is no gutter.
    data, expected = make()
    assert read(data).pages == expected


def test_one_column_page_is_untouched():
    data, expected = F.one_column()
    assert read(data).pages == expected


def test_line_end_hyphenation_joined_real_compound_kept():
    data, expected = F.hyphenated()
    assert read(data).pages == expected
    text = expected[0]
    assert "Кыргызстан" in text and "Общественно-политическая" in text


def test_running_header_and_page_numbers_removed():
    data, expected = F.running_headers()
    raw = read(data)
    assert raw.pages == expected
    assert all("Интербилим" not in p and not re.search(r"^\W*\d+\W*$", p, re.M) for p in raw.pages)


def test_private_use_bullets_become_bullets():
    data, expected = F.pua_bullets()
    assert read(data).pages == expected


def test_page_without_text_layer_needs_ocr_and_keeps_its_place(monkeypatch):
    monkeypatch.setattr("kb.config.OCR", False)        # KB_OCR=0: nothing recognised
    data, expected = F.page_without_text()
    raw = read(data)
    assert raw.pages == expected
    assert raw.needs_ocr == [2] and raw.ocr == {}
    assert raw.warnings == ["стр. 2: нет текстового слоя, нужно распознавание (OCR)",
                            "распознавание отключено (KB_OCR=0); не распознаны стр. 2"]
    assert OCR_WARNING.format(n=2) == raw.warnings[0]


def test_page_without_text_layer_is_recognised_and_an_empty_scan_said(tesseract):
    data, expected = F.page_without_text()      # page 2: a grey rectangle, no words
    raw = read(data)
    assert raw.pages == expected
    assert raw.needs_ocr == [] and list(raw.ocr) == [2]
    assert raw.warnings == ["стр. 2: на скане не найден текст"]


def test_title_from_metadata_only_when_meaningful():
    assert read(F.with_title("Годовой отчёт центра «Интербилим» за 2019 год")).title == (
        "Годовой отчёт центра «Интербилим» за 2019 год"
    )
    for junk in ("Microsoft Word - otchet_2019.doc", "Untitled", "", "doc", "otchet_2019_final", "Отчет.docx"):
        assert read(F.with_title(junk)).title == "", junk


def test_dispatcher_falls_back_to_first_line_for_title(tmp_path):
    data, _ = F.overprinted_bold()
    doc = extract(write(tmp_path, data))
    assert doc.format == "pdf"
    assert doc.title == "ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ"
    assert doc.page_count == 1


# --- the linear de-duplication equals pdfplumber's ----------------------------------------------------

def _as_tuples(chars):
    return [(c["text"], c["x0"], c["top"], c["fontname"], c["size"], c["upright"]) for c in chars]


def test_dedupe_matches_pdfplumber_on_overprinted_page():
    data, _ = F.overprinted_bold()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        theirs = page.dedupe_chars().chars
        ours = dedupe_chars(page.chars)
        assert len(ours) < len(page.chars)  # something was removed
        assert ours == theirs


def test_dedupe_matches_pdfplumber_on_chained_clusters():
    # Copies 0.6 pt apart chain into one cluster (0 - 0.6 - 1.2) under pdfplumber's rule; a copy
    # 2 pt away does not; another glyph or font at the same place is never a duplicate.
    base = {"upright": True, "fontname": "F", "size": 10.0, "bottom": 0.0, "x1": 0.0}
    chars = [
        {**base, "text": "А", "x0": 10.0, "top": 5.0},
        {**base, "text": "А", "x0": 10.6, "top": 5.0},
        {**base, "text": "А", "x0": 11.2, "top": 5.3},
        {**base, "text": "А", "x0": 13.2, "top": 5.0},
        {**base, "text": "Б", "x0": 10.0, "top": 5.0},
        {**base, "text": "А", "x0": 10.0, "top": 5.0, "fontname": "G"},
        {**base, "text": "А", "x0": 10.0, "top": 20.0},
    ]
    from pdfplumber.utils import dedupe_chars as theirs

    for c in chars:
        c["doctop"] = c["top"]
    assert dedupe_chars(chars) == theirs(chars)
    assert [c["x0"] for c in dedupe_chars(chars) if c["text"] == "А" and c["fontname"] == "F"] == [10.0, 13.2, 10.0]


def test_page_chars_match_pdfplumber_chars():
    data, _ = F.two_columns()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        assert _as_tuples(_page_chars(page)) == _as_tuples(page.chars)


# --- running lines, junk: the rules on their own ---------------------------------------------------------

def test_running_lines_only_taken_from_page_edges():
    pages = [
        ["Отчёт 2019", f"Текст {w}.", "Отчёт 2019 повторяется в теле.", f"Конец {w}.", str(n)]
        for n, w in enumerate(["один", "два", "три"], start=1)
    ]
    out = strip_running_lines(pages)
    assert out == [[f"Текст {w}.", "Отчёт 2019 повторяется в теле.", f"Конец {w}."] for w in ["один", "два", "три"]]


def test_year_on_a_title_page_is_not_a_page_number():
    assert strip_running_lines([["Годовой отчёт", "Бишкек", "2019"]]) == [["Годовой отчёт", "Бишкек", "2019"]]


def test_a_header_on_two_pages_only_is_kept():
    pages = [["Шапка", "Первый."], ["Шапка", "Второй."]]
    assert strip_running_lines(pages) == pages


@pytest.mark.parametrize("text,junk", [
    ("(cid:12)(cid:15)(cid:3) (cid:44)(cid:7)", True),
    ("\uf0b7\uf0b7\uf0b7 \ufffd\ufffd", True),
    ("Ãðàæäàíñêèé êîäåêñ Êûðãûçñêîé Ðåñïóáëèêè", True),
    ("Гражданский кодекс (cid:3)", False),
    ("Café au lait, résumé, naïve façade", False),
])
def test_junk_text_layers(text, junk):
    assert is_junk(text) is junk


# --- bad files: one clear error, never a traceback -------------------------------------------------------

def test_encrypted_pdf_is_a_clear_error(tmp_path):
    with pytest.raises(ExtractError) as e:
        extract(write(tmp_path, F.encrypted(), "закрытый.pdf"))
    assert "паролем" in e.value.reason and "encrypted" in e.value.reason
    assert "закрытый.pdf" in str(e.value)


def test_pdf_with_owner_password_only_is_read():
    # Restrictions without a user password: every reader opens it, so do we.
    assert read(F.encrypted(user_password="")).pages == ["Секретный текст."]


def test_truncated_pdf_is_a_clear_error(tmp_path):
    data, _ = F.running_headers()
    with pytest.raises(ExtractError) as e:
        extract(write(tmp_path, data[: len(data) // 2]))
    assert "повреждённый" in e.value.reason and "corrupt" in e.value.reason


def test_garbage_after_pdf_header_is_a_clear_error(tmp_path):
    with pytest.raises(ExtractError) as e:
        extract(write(tmp_path, b"%PDF-1.7\n" + b"\x00garbage" * 100))
    assert "PDF" in e.value.reason


def test_jpeg_renamed_pdf_is_a_clear_error(tmp_path):
    with pytest.raises(ExtractError) as e:
        extract(write(tmp_path, F.jpeg_bytes(), "скан.pdf"))
    assert "JPEG" in e.value.reason


# --- real files -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,pages,phrase", [
    ("civil_code_KR_part1.pdf", 173, "Гражданское законодательство определяет правовое положение"),
    ("civil_code_KR_part2.pdf", 303, "договором купли-продажи"),
])
def test_kyrgyz_civil_code(shared_data, name, pages, phrase):
    doc = extract(shared_data / "kg-civil-code-pdf" / name)
    assert doc.page_count == pages
    assert doc.needs_ocr == [] and doc.warnings == []
    empty = [i + 1 for i, p in enumerate(doc.pages) if len(p) < 200]
    assert empty == []
    doubled = [(i + 1, m.group()) for i, p in enumerate(doc.pages) for m in DOUBLED_RUN.finditer(p)]
    assert doubled == []
    assert phrase in doc.text
    # Word broke lines after real hyphens (`гражданско-` / `правовому`): compounds keep them.
    assert "гражданско-правов" in doc.text
    assert "гражданскоправов" not in doc.text and "купли-\n" not in doc.text


def test_dedupe_matches_pdfplumber_on_real_page(shared_data):
    with pdfplumber.open(shared_data / "kg-civil-code-pdf" / "civil_code_KR_part1.pdf", pages=[2]) as pdf:
        page = pdf.pages[0]
        assert dedupe_chars(page.chars) == page.dedupe_chars().chars
