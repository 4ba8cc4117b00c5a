"""Scans made here: pages drawn with reportlab (DejaVu Serif, a Cyrillic TTF with Kyrgyz
ң ө ү), rendered to images with pypdfium2 at 300 dpi, and damaged the way real scans are:
turned by about a degree, blurred, speckled and JPEG-compressed. Each fixture returns the
file's bytes and the text drawn on it (the ground truth of tests and bench/ocr.py).

The texts are written for kb (not taken from anywhere); the Kyrgyz one carries the
inflected forms the search must join: өкмөтү, өкмөтүнүн, өкмөттүн, кеңеши, кеңешинин.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "DejaVuSerif"
FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
SCAN_DPI = 300

RUSSIAN = [
    "Общественное объединение провело мониторинг соблюдения жилищных прав граждан в городе "
    "Бишкек и в Чуйской области в течение 2019 года.",
    "Собственники помещений в многоквартирном доме обязаны нести расходы на содержание общего "
    "имущества, включая взносы на капитальный ремонт.",
    "Выселение граждан из жилых помещений допускается только по основаниям и в порядке, "
    "предусмотренным законом, с предоставлением другого жилья.",
    "Юристы организации дали консультации по вопросам приватизации квартир, регистрации по "
    "месту жительства и споров с управляющими компаниями.",
]

KYRGYZ = [
    "Айыл өкмөтү жергиликтүү өз алдынча башкаруунун аткаруу органы болуп саналат.",
    "Айыл өкмөтүнүн башчысы жергиликтүү кеңеш тарабынан шайланат жана кеңешке отчет берет.",
    "Жарандардын турак жайга болгон укугу мыйзам менен корголот, эч ким турак жайынан "
    "мыйзамсыз чыгарылбайт.",
    "Өкмөттүн токтому менен бекитилген тартипте жер тилкелерин пайдалануу маселелери чечилет.",
    "Мамлекеттик органдар жана жергиликтүү кеңештер жарандардын арыздарын отуз күндүн ичинде "
    "кароого милдеттүү.",
    "Шаардык кеңешинин депутаттары үй-жай маселелери боюнча ачык угууларды өткөрүштү.",
]


def _register() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))


def _wrap(c, text: str, size: float, width: float) -> list[str]:
    lines, cur = [], ""
    for w in text.split():
        trial = f"{cur} {w}".strip()
        if cur and c.stringWidth(trial, FONT, size) > width:
            lines.append(cur)
            cur = w
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def text_pdf(paragraphs: list[str], *, size: float = 11.0, title: str | None = None) -> tuple[bytes, str]:
    """A one-page PDF with a text layer; returns (bytes, the lines drawn, newline-joined)."""
    _register()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    drawn: list[str] = []
    y = 780.0
    if title:
        c.setFont(FONT, 14)
        c.drawString(56, y, title)
        drawn.append(title)
        y -= 30
    c.setFont(FONT, size)
    for para in paragraphs:
        for line in _wrap(c, para, size, 480):
            c.drawString(56, y, line)
            drawn.append(line)
            y -= size * 1.45
        y -= size * 0.6
    c.showPage()
    c.save()
    return buf.getvalue(), "\n".join(drawn)


def render(pdf: bytes, dpi: int = SCAN_DPI):
    """The first page as a greyscale PIL image at `dpi`."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    try:
        return doc[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()


def damage(img, *, seed: int = 1, angle: float = 1.0, blur: float = 0.8, speckle: float = 0.0025,
           quality: int = 45):
    """What a scanner and a copier do to a page: turned, blurred, speckled, JPEG-compressed."""
    from PIL import Image, ImageFilter

    rnd = random.Random(seed)
    img = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(blur))
    px = img.load()
    w, h = img.size
    for _ in range(int(w * h * speckle)):
        px[rnd.randrange(w), rnd.randrange(h)] = 0 if rnd.random() < 0.5 else 255
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("L")


def scanned_page(paragraphs: list[str], *, seed: int = 1, title: str | None = None, **kw):
    """(damaged page image, its text)."""
    pdf, truth = text_pdf(paragraphs, title=title)
    return damage(render(pdf), seed=seed, **kw), truth


def image_pdf(images) -> bytes:
    """A PDF of page images only, no text layer: what a scanner writes."""
    from reportlab.lib.utils import ImageReader

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for img in images:
        c.drawImage(ImageReader(img), 0, 0, *A4)
        c.showPage()
    c.save()
    return buf.getvalue()


def jpeg(img, quality: int = 70) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, dpi=(SCAN_DPI, SCAN_DPI))
    return buf.getvalue()


def tiff(images) -> bytes:
    """A multi-page TIFF (LZW), one frame a page."""
    buf = io.BytesIO()
    first, *rest = list(images)
    first.save(buf, "TIFF", save_all=True, append_images=rest, compression="tiff_lzw",
               dpi=(SCAN_DPI, SCAN_DPI))
    return buf.getvalue()


# --- the documents of the tests ------------------------------------------------------------------

def russian_scan_pdf() -> tuple[bytes, list[str]]:
    img, truth = scanned_page(RUSSIAN, seed=1, title="Отчёт о мониторинге жилищных прав")
    return image_pdf([img]), [truth]


def kyrgyz_tiff() -> tuple[bytes, list[str]]:
    """Two pages: Kyrgyz, then Russian."""
    a, ta = scanned_page(KYRGYZ[:3], seed=2, title="Айыл өкмөтүнүн маалыматы")
    b, tb = scanned_page(RUSSIAN[2:], seed=3, angle=-1.0)
    return tiff([a, b]), [ta, tb]


def kyrgyz_jpeg() -> tuple[bytes, list[str]]:
    img, truth = scanned_page(KYRGYZ[3:], seed=4)
    return jpeg(img), [truth]
