"""Defaults shared by every stage, overridable from the environment."""

from __future__ import annotations

import os
from pathlib import Path

# Files larger than this are refused before parsing (bytes); KB_MAX_FILE_MB overrides.
MAX_FILE_BYTES = int(float(os.environ.get("KB_MAX_FILE_MB", "200")) * 1024 * 1024)
# Unpacked size limit of a DOCX (zip bombs): checked from the zip directory before parsing.
# The largest real DOCX of the test corpus unpacks to 4.7 MB.
MAX_UNPACKED_BYTES = int(float(os.environ.get("KB_MAX_UNPACKED_MB", "100")) * 1024 * 1024)
# Elements an HTML file may have; counted by a cheap pre-scan before the tree is built.
# BeautifulSoup and the walker cost ~1.25 KB and ~0.1 s per 1,000 elements here (999,000
# took 99 s and 1.25 GB): this many fit in the default worker memory. Real pages: < 10,000.
HTML_MAX_ELEMENTS = int(os.environ.get("KB_HTML_MAX_ELEMENTS", "500000"))

# Per-file bounds of extraction, enforced by the worker pool (kb.extract.pool); 0 = none.
# Wall time of one file (the 303-page Kyrgyz Civil Code PDF takes ~40 s on a slow core).
FILE_SECONDS = float(os.environ.get("KB_FILE_SECONDS", "300"))
# Memory of one worker process, as RLIMIT_DATA (heap and private mappings; real files
# here need under 100 MB).
FILE_MEMORY_MB = int(float(os.environ.get("KB_FILE_MEMORY_MB", "1024")))

# Scanned pages and images are read by Tesseract (kb.extract.ocr); KB_OCR=0 turns it off
# (such pages are then reported as unread, images fail).
OCR = os.environ.get("KB_OCR", "1").strip() not in ("0", "no", "false", "off")


# Time one search may spend in the index before it stops and shows what it has found.
QUERY_SECONDS = 5.0


def query_seconds() -> float:
    """The search time budget: $KB_QUERY_SECONDS (read at each search), else QUERY_SECONDS."""
    raw = os.environ.get("KB_QUERY_SECONDS", "").strip()
    if not raw:
        return QUERY_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 3600:
        from kb.errors import KbError

        raise KbError(f"KB_QUERY_SECONDS: нужно число секунд больше 0, а не «{raw}» "
                      "(must be a number of seconds > 0)")
    return value


QUERY_EMBED_MS = 1500


def query_embed_ms() -> int:
    """Milliseconds a search may spend embedding its best lexical candidates that have no
    passage vector yet (kb.search.fill): $KB_QUERY_EMBED_MS, read at each search; 0 turns it off."""
    raw = os.environ.get("KB_QUERY_EMBED_MS", "").strip()
    if not raw:
        return QUERY_EMBED_MS
    if not raw.isdigit() or int(raw) > 60_000:
        from kb.errors import KbError

        raise KbError(f"KB_QUERY_EMBED_MS: нужно целое число миллисекунд от 0 до 60000, а не «{raw}» "
                      "(must be milliseconds, 0-60000)")
    return int(raw)


def default_corpus() -> Path:
    return Path(os.environ.get("KB_CORPUS", "corpus"))


def default_index() -> Path:
    return Path(os.environ.get("KB_INDEX", "index"))
