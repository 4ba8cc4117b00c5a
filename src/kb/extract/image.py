"""Image files as documents: a photo of a notice, a scanned letter, a multi-page TIFF.

Each frame of the image is a page, read by Tesseract (kb.extract.ocr). Pillow (which
pdfplumber brings) decodes them; its decompression-bomb guard is an error here, not a
warning, and the number of frames is bounded, so a hostile file costs little.
"""

from __future__ import annotations

import io
import warnings as pywarnings
from pathlib import Path

from kb.errors import ExtractError, MissingTool
from kb.extract import ocr
from kb.extract.clean import clean_chars, tidy_lines
from kb.extract.document import RawText
from kb.extract.hyphens import join_line_breaks

# Pixels of one frame: an A4 page at 600 dpi is 35 Mpx; more is a bomb, not a scan.
MAX_PIXELS = 80_000_000
MAX_FRAMES = 2_000
NO_TEXT_WARNING = "на изображении не найдено текста: документ не будет найден поиском"


def _dpi(img) -> int | None:
    """The resolution the file declares, when it is plausible for a scan."""
    dpi = img.info.get("dpi")
    try:
        value = round(float(dpi[0] if isinstance(dpi, (tuple, list)) else dpi))
    except (TypeError, ValueError, IndexError):
        return None
    return value if 70 <= value <= 1200 else None


def read_image(path: Path, data: bytes) -> RawText:
    """Pages of recognised text, one a frame; fails when OCR is not available at all."""
    from PIL import Image, UnidentifiedImageError

    why = ocr.unavailable()
    if why:
        raise MissingTool(path, why)
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")       # Pillow's notes on odd EXIF are not the user's business
        pywarnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            frames = getattr(img, "n_frames", 1)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ExtractError(path, f"изображение слишком велико (более {MAX_PIXELS // 1_000_000} Мпикс)") from None
        except UnidentifiedImageError:
            raise ExtractError(path, "повреждённое или нечитаемое изображение (формат не распознан)") from None
        except Exception as e:  # noqa: BLE001 - Pillow raises many kinds on broken files
            raise ExtractError(path, f"повреждённое или нечитаемое изображение ({type(e).__name__}: {e})"[:300]) from None
        if frames > MAX_FRAMES:
            raise ExtractError(path, f"слишком много страниц в изображении: {frames} > {MAX_FRAMES}")

        def frame(i: int):
            def load():
                img.seek(i)
                if img.width * img.height > MAX_PIXELS:
                    raise ValueError(f"кадр слишком велик: {img.width}x{img.height}")
                page = img.copy()
                page.load()
                page.info["kb_dpi"] = _dpi(img)
                return page
            return load

        scans = ocr.recognise_pages([(i + 1, frame(i)) for i in range(frames)])
    if not scans.lines and scans.failed:
        # Not one frame could be decoded: a broken file, not a blank scan.
        raise ExtractError(path, f"повреждённое или нечитаемое изображение: {scans.failed[0]}"[:300])
    pages = []
    for n in range(1, frames + 1):
        text = join_line_breaks("\n".join(scans.lines.get(n, [])))
        pages.append(tidy_lines(clean_chars(text)))
    warnings = list(scans.warnings)
    if not any(p.strip() for p in pages):
        warnings.append(NO_TEXT_WARNING)
    return RawText(pages=pages, warnings=warnings, needs_ocr=scans.unread, ocr=scans.confidence)
