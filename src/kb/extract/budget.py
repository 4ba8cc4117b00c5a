"""The time left for the file being extracted, for readers that work page by page (OCR).

Why: the extraction pool kills a worker past the per-file bound (KB_FILE_SECONDS) and the
whole file fails. A long scan would lose every page it had already recognised; a reader
that watches this budget stops a little before the bound and keeps what it has, with a
warning naming the pages left unread.
"""

from __future__ import annotations

import time

# The part of the bound a reader may use; the rest is left for cleaning and sending back.
SHARE = 0.85

_deadline: float | None = None


def start(seconds: float | None) -> None:
    """A new file begins: it has `seconds` (None: no bound)."""
    global _deadline
    _deadline = None if not seconds else time.monotonic() + SHARE * seconds


def remaining() -> float | None:
    """Seconds left for this file, or None when unbounded."""
    return None if _deadline is None else _deadline - time.monotonic()
