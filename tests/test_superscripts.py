"""Superscript article numbers (issue 10): `91<sup>12</sup>` is article 91.12, not 9112,
in HTML (<sup>, a class styled `vertical-align: super`, an inline style), DOCX superscript
runs and PDF raised text; other superscripts (m²) are left as they were."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import pdf_fixtures
from kb.extract import extract
from kb.segment import segment


def _html(tmp_path: Path, body: str, style: str = "") -> str:
    p = tmp_path / "law.html"
    p.write_text(f"<html><head><style>{style}</style></head><body>{body}</body></html>", encoding="utf-8")
    return extract(p).text


def test_html_sup_tag(tmp_path):
    text = _html(tmp_path, "<p>Статья 91<sup>12</sup>. Договор</p><p>площадь 5 м<sup>2</sup></p>")
    assert "Статья 91.12. Договор" in text
    assert "площадь 5 м2" in text


def test_html_superscript_class_and_inline_style(tmp_path):
    style = ".W9 {\n vertical-align: super;\n font-size: 100%;\n}\n.W1 { font-weight: bold }"
    body = ('<p class="H">Статья 161<span class="W9" style="">1</span>. Советы</p>'
            '<p>частью 1<span style="vertical-align: super">2</span> статьи 8<span class="W1">1</span></p>')
    text = _html(tmp_path, body, style)
    assert "Статья 161.1. Советы" in text
    assert "частью 1.2 статьи 81" in text          # a class that is not superscript changes nothing


def test_docx_superscript_runs(tmp_path):
    import docx

    d = docx.Document()
    p = d.add_paragraph("Статья 106")
    r = p.add_run("4")
    r.font.superscript = True
    p.add_run(". Особенности управления")
    p = d.add_paragraph("площадь 5 м")
    r = p.add_run("2")
    r.font.superscript = True
    f = tmp_path / "law.docx"
    d.save(f)
    assert extract(f).pages[0].splitlines()[:2] == ["Статья 106.4. Особенности управления", "площадь 5 м2"]


def test_pdf_raised_digits(tmp_path):
    if not pdf_fixtures.fonts_available():
        pytest.skip("needs DejaVu fonts (scripts/setup --test)")
    data, want = pdf_fixtures.superscripts()
    f = tmp_path / "law.pdf"
    f.write_bytes(data)
    assert extract(f).pages[0].splitlines() == want


@pytest.mark.shared_data
def test_real_pravo_gov_ru_articles(shared_data):
    doc = extract(shared_data / "rf-codes-html" / "102090645_zhilishchnyj_kodeks_rf.html")
    arts = {p.article for p in segment(doc).passages}
    assert {"91.12", "161.1", "91.1"} <= arts
    assert not {"9112", "1611"} & arts
    doc = extract(shared_data / "rf-codes-html" / "102033239_grazhdanskij_kodeks_rf_ch1.html")
    arts = {p.article for p in segment(doc).passages}
    assert "106.4" in arts and "1064" not in arts
