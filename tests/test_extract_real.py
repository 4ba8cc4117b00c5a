"""The real documents of ../shared/data (all folders but bench/) extract without error."""

from __future__ import annotations

import re

import pytest

from kb.extract import extract, extract_many, iter_files
from kb.extract.doubled import collapse_line

pytestmark = pytest.mark.shared_data

FOLDERS = ["reports", "kg-codes-txt", "rf-housing-docx", "rf-codes-html", "kg-civil-code-pdf"]


def _documents(root):
    files = []
    for folder in FOLDERS:
        files += iter_files(root / folder)
    return files


def test_all_folders_but_bench_are_covered(shared_data):
    folders = {p.name for p in shared_data.iterdir() if p.is_dir()} - {"bench"}
    assert folders == set(FOLDERS)


def test_every_document_extracts(shared_data):
    # The way `kb index` reads them: worker processes under the default time and memory
    # bounds, which must not fail a real document.
    files = _documents(shared_data)
    assert len(files) == 1 + 11 + 18 + 5 + 2
    failed = []
    results = dict(extract_many(files))
    assert sorted(results) == sorted(files)
    for path in files:
        doc = results[path]
        if isinstance(doc, Exception):
            failed.append(f"{path.name}: {doc}")
            continue
        assert doc.page_count >= 1, path
        assert len(doc.text) > 1000, path
        # No mojibake: Cyrillic documents must read as Cyrillic.
        assert len(re.findall("[а-яё]", doc.text[:20000])) > 500, path
        assert "\ufffd" not in doc.text, path
    assert not failed, "\n".join(failed)


def test_docx_and_html_titles(shared_data):
    doc = extract(shared_data / "rf-codes-html" / "102090645_zhilishchnyj_kodeks_rf.html")
    assert doc.title == "Жилищный кодекс Российской Федерации"
    assert "Статья 1. Основные начала жилищного законодательства" in doc.headings
    doc = extract(shared_data / "rf-housing-docx" / "Жилищный кодекс Российской Федерации.docx")
    assert doc.title.startswith('"Жилищный кодекс Российской Федерации" от 29.12.2004 N 188-ФЗ')
    assert "Статья 1. Основные начала жилищного законодательства" in doc.headings


@pytest.fixture(scope="module")
def report(shared_data):
    return extract(shared_data / "reports" / "interbilim-annual-report-2019.txt")


def test_annual_report_headings(report):
    lines = report.text.splitlines()
    assert lines[0] == "I. ВВЕДЕНИЕ."
    assert "1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ В КЫРГЫЗСКОЙ РЕСПУБЛИКЕ В 2019 ГОДУ" in lines
    assert report.headings[:2] == [
        "I. ВВЕДЕНИЕ.",
        "1.1. ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ В КЫРГЫЗСКОЙ РЕСПУБЛИКЕ В 2019 ГОДУ",
    ]
    assert "II. ДЕЯТЕЛЬНОСТЬ И ДОСТИЖЕНИЯ «МЦ ИНТЕРБИЛИМ» В 2019 ГОДУ" in lines
    assert "Головной офис ОО «МЦ Интербилим»" in lines


def test_annual_report_no_doubled_line_left(report):
    left = [line for line in report.text.splitlines() if collapse_line(line) is not None]
    assert left == []
    # Independently of the rule: no run of 3+ letter pairs (`ВВЕЕДД`) anywhere.
    assert not re.search(r"(?:([А-ЯЁA-Z])\1){3,}", report.text)


def test_annual_report_other_repairs(report):
    text = report.text
    assert "Общественно-политическая ситуация характеризовалась" in text
    assert "\uf0b7" not in text and "\uf0a7" not in text and "•" in text
