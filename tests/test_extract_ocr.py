"""Scans: image-only PDFs, TIFF and JPEG files read by Tesseract, reported honestly, cached,
found by `kb search`. Fixtures are drawn here (tests/ocr_fixtures.py); tests needing
Tesseract skip locally without it and fail in CI (KB_REQUIRE_OCR)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

import ocr_fixtures as F
from kb.cli import main
from kb.errors import ExtractError, MissingTool
from kb.extract import budget, extract, ocr
from kb.index import Manifest, update_index
from kb.search import search


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def recall(truth: str, got: str) -> float:
    """Share of the words drawn that were read (as in bench/ocr.py)."""
    want, have = words(truth), set(words(got))
    return sum(w in have for w in want) / len(want)


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    d = tmp_path_factory.mktemp("scans")
    out = {}
    for name, make in (("отчёт-скан.pdf", F.russian_scan_pdf), ("айыл-өкмөтү.tif", F.kyrgyz_tiff),
                       ("токтом.jpg", F.kyrgyz_jpeg)):
        data, truth = make()
        (d / name).write_bytes(data)
        out[name] = (d / name, truth)
    return out


@pytest.fixture(scope="module")
def extracted(scans, tesseract):
    return {name: extract(path) for name, (path, _) in scans.items()}


def test_image_only_pdf_is_read_with_its_confidence(scans, extracted):
    doc = extracted["отчёт-скан.pdf"]
    [truth] = scans["отчёт-скан.pdf"][1]
    assert doc.format == "pdf" and doc.page_count == 1
    assert recall(truth, doc.pages[0]) >= 0.97, doc.pages[0]
    assert "капитальный ремонт" in " ".join(doc.pages[0].split())
    assert list(doc.ocr) == [1] and doc.ocr[1] >= 80
    assert doc.needs_ocr == [] and doc.warnings == []
    assert doc.page_info == [{"page": 1, "ocr": True, "confidence": doc.ocr[1]}]


def test_multipage_tiff_is_a_document_of_pages_in_kyrgyz_and_russian(scans, extracted):
    doc = extracted["айыл-өкмөтү.tif"]
    truth = scans["айыл-өкмөтү.tif"][1]
    assert doc.format == "tiff" and doc.page_count == 2 and sorted(doc.ocr) == [1, 2]
    for page, want in zip(doc.pages, truth):
        assert recall(want, page) >= 0.95, page
    assert {"ң", "ө", "ү"} <= set(doc.pages[0])          # Kyrgyz letters survive
    assert "өкмөтүнүн" in words(doc.pages[0]) and "выселение" in words(doc.pages[1])


def test_jpeg_photo_is_a_document(scans, extracted):
    doc = extracted["токтом.jpg"]
    [truth] = scans["токтом.jpg"][1]
    assert doc.format == "jpeg" and doc.page_count == 1 and doc.ocr[1] >= 80
    assert recall(truth, doc.pages[0]) >= 0.95, doc.pages[0]


def test_extract_json_carries_the_ocr_flag_per_page(scans, tesseract, capsys):
    path = scans["токтом.jpg"][0]
    assert main(["extract", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "jpeg" and len(data["pages"]) == 1
    [info] = data["page_info"]
    assert info["page"] == 1 and info["ocr"] is True and info["confidence"] >= 80
    assert data["metadata"]["ocr"] == {"1": info["confidence"]}


def test_text_pdf_pages_are_not_flagged(tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(F.text_pdf(F.RUSSIAN[:1])[0])
    doc = extract(path)
    assert doc.ocr == {} and doc.page_info == [{"page": 1, "ocr": False, "confidence": None}]


def test_blank_scan_is_a_warning_never_a_silent_success(tmp_path, tesseract):
    from PIL import Image

    path = tmp_path / "пусто.pdf"
    path.write_bytes(F.image_pdf([Image.new("L", (1240, 1754), 255)]))
    doc = extract(path)
    assert doc.pages == [""] and list(doc.ocr) == [1]
    assert doc.warnings == ["стр. 1: на скане не найден текст",
                            "в PDF не найдено текста ни на одной странице: документ не будет найден поиском"]


def test_pdf_without_text_and_without_ocr_is_a_warning(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setattr("kb.config.OCR", False)
    path = tmp_path / "скан.pdf"
    path.write_bytes(F.image_pdf([Image.new("L", (600, 800), 255)] * 2))
    doc = extract(path)
    assert doc.needs_ocr == [1, 2] and doc.ocr == {}
    assert "распознавание отключено (KB_OCR=0); не распознаны стр. 1-2" in doc.warnings
    assert doc.warnings[-1].startswith("в PDF не найдено текста")


def test_image_without_tesseract_fails_with_what_to_install(tmp_path, monkeypatch):
    def missing():
        raise ocr.OcrUnavailable("распознавание недоступно: не установлен tesseract (apt-get install tesseract-ocr)")

    monkeypatch.setattr(ocr, "_setup", missing)
    path = tmp_path / "фото.png"
    F.render(F.text_pdf(["Текст"])[0], 50).save(path)
    with pytest.raises(MissingTool) as e:
        extract(path)
    assert "tesseract" in e.value.reason


def test_time_budget_keeps_what_was_read_and_names_the_rest(scans, tesseract):
    budget.start(0.5)           # less than a page: nothing may start
    try:
        doc = extract(scans["айыл-өкмөтү.tif"][0])
    finally:
        budget.start(None)
    assert doc.needs_ocr == [1, 2] and doc.ocr == {}
    assert doc.warnings[0] == "не хватило времени на распознавание (KB_FILE_SECONDS): не распознаны стр. 1-2"


def test_page_spans():
    assert ocr.spans([1, 3, 4, 5, 9]) == "1, 3-5, 9"


def test_image_suffix_with_other_content_is_a_clear_error(tmp_path):
    path = tmp_path / "фото.png"
    path.write_text("не картинка", encoding="utf-8")
    with pytest.raises(ExtractError) as e:
        extract(path)
    assert "не является изображением .png" in e.value.reason


def test_png_named_jpg_is_read_as_the_picture_it_is(tmp_path, tesseract):
    path = tmp_path / "фото.jpg"
    F.render(F.text_pdf(["Выселение граждан из жилых помещений"])[0], 200).save(path, "PNG")
    doc = extract(path)
    assert doc.format == "png" and "выселение" in words(doc.pages[0])


def test_image_bomb_is_refused(tmp_path, tesseract):
    from PIL import Image

    path = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000), 1).save(path)    # 144 Mpx, a few KB
    with pytest.raises(ExtractError) as e:
        extract(path)
    assert "слишком велико" in e.value.reason


def test_scans_are_indexed_found_reported_and_cached(scans, tesseract, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path, _ in scans.values():
        (corpus / path.name).write_bytes(path.read_bytes())
    (corpus / "закон.txt").write_text("Статья 1. Жилищное законодательство.", encoding="utf-8")
    index = tmp_path / "index"
    report = update_index(corpus, index, show_progress=False, workers=2)
    assert report.failed == [] and len(report.added) == 4
    assert (report.ocr_pages, report.ocr_files) == (4, 3)
    assert "Распознано (OCR): страниц 4 в файлах: 3" in report.lines()

    def found(query: str) -> set[str]:
        return {g.path for g in search(index, query).groups}

    assert found("выселение") == {"отчёт-скан.pdf", "айыл-өкмөтү.tif"}
    assert found("капитального ремонта") == {"отчёт-скан.pdf"}
    assert found("токтому") == {"токтом.jpg"}
    assert "айыл-өкмөтү.tif" in found("кеңеш")

    # The document's page says it is a scan.
    from kb.web import create_app

    doc_id = next(e.doc_id for rel, e in Manifest.load(index).files.items() if rel == "айыл-өкмөтү.tif")
    page = create_app(corpus, index).test_client().get(f"/doc/{doc_id}").get_data(as_text=True)
    assert re.search(r'<dd class="ocr">текст распознан \(OCR\), уверенность \d+ %', page), page
    text_id = next(e.doc_id for rel, e in Manifest.load(index).files.items() if rel == "закон.txt")
    assert 'class="ocr"' not in create_app(corpus, index).test_client().get(f"/doc/{text_id}").get_data(as_text=True)

    # A rebuild takes the recognised text from the cache: with OCR off, nothing is lost.
    monkeypatch.setenv("KB_OCR", "0")
    again = update_index(corpus, index, show_progress=False, workers=2, rebuild=True)
    assert again.failed == [] and again.ocr_pages == 4
    assert found("токтому") == {"токтом.jpg"}


def test_index_reports_a_scan_without_text(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("KB_OCR", "0")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "скан.pdf").write_bytes(F.image_pdf([Image.new("L", (600, 800), 255)]))
    report = update_index(corpus, tmp_path / "index", show_progress=False, workers=1)
    assert report.added == ["скан.pdf"] and report.ocr_pages == 0
    assert "скан.pdf: в PDF не найдено текста ни на одной странице: документ не будет найден поиском" \
        in report.warnings
    assert any(line.startswith("предупреждение: скан.pdf: стр. 1: нет текстового слоя") for line in report.lines())


def test_unread_pages_are_not_cached_so_a_rebuild_reads_them(tmp_path, monkeypatch, tesseract):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    img, _ = F.scanned_page(F.RUSSIAN[2:3], seed=7)
    (corpus / "скан.pdf").write_bytes(F.image_pdf([img]))
    index = tmp_path / "index"
    monkeypatch.setenv("KB_OCR", "0")
    first = update_index(corpus, index, show_progress=False, workers=1)
    assert first.ocr_pages == 0 and search(index, "выселение").groups == []
    monkeypatch.setenv("KB_OCR", "1")
    again = update_index(corpus, index, show_progress=False, workers=1, rebuild=True)
    assert again.ocr_pages == 1
    assert [g.path for g in search(index, "выселение").groups] == ["скан.pdf"]


def test_broken_images_are_clear_errors(tmp_path, tesseract, scans):
    truncated = tmp_path / "обрыв.jpg"
    truncated.write_bytes(scans["токтом.jpg"][0].read_bytes()[:3000])
    with pytest.raises(ExtractError) as e:
        extract(truncated)
    assert e.value.reason.startswith("повреждённое или нечитаемое изображение: image file is truncated")
    garbage = tmp_path / "мусор.tif"
    garbage.write_bytes(b"II*\x00" + b"\x07" * 50)
    with pytest.raises(ExtractError) as e:
        extract(garbage)
    assert e.value.reason == "повреждённое или нечитаемое изображение (формат не распознан)"


def test_image_with_ocr_turned_off_fails_saying_so(tmp_path, monkeypatch, scans):
    monkeypatch.setattr("kb.config.OCR", False)
    with pytest.raises(MissingTool) as e:
        extract(scans["токтом.jpg"][0])
    assert e.value.reason == "распознавание отключено (KB_OCR=0)"


def test_scan_with_a_few_words_of_text_layer_is_recognised(tmp_path, tesseract):
    """A scanner's PDF with a stamp in its text layer: the page is the image, not the stamp."""

    img, truth = F.scanned_page(F.RUSSIAN[:2], seed=8)
    path = _image_with_line(tmp_path / "копия.pdf", img, "Копия верна", 8, 40, 20)
    doc = extract(path)
    assert list(doc.ocr) == [1] and recall(truth, doc.pages[0]) >= 0.95, doc.pages[0]


def _image_with_line(path, img, text: str, size: int, x: int, y: int):
    """A one-page A4 PDF: the image over the whole page and one line of real text on it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    F._register()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.drawImage(ImageReader(img), 0, 0, *A4)
    c.setFont(F.FONT, size)
    c.drawString(x, y, text)
    c.showPage()
    c.save()
    path.write_bytes(buf.getvalue())
    return path


def test_cover_photo_under_a_title_keeps_the_title(tmp_path, tesseract):
    from PIL import Image

    photo = Image.linear_gradient("L").resize((1240, 1754))     # a picture, no letters
    path = _image_with_line(tmp_path / "обложка.pdf", photo, "Годовой отчёт 2019", 20, 60, 780)
    doc = extract(path)
    assert doc.pages == ["Годовой отчёт 2019"] and doc.ocr == {} and doc.warnings == []
