"""Progress of long work: a bar with counts and ETA on a terminal, plain log lines otherwise."""

from __future__ import annotations

import os
import sys
import threading
import time


def beat_seconds() -> float:
    """How often a log (not a terminal) hears from long work at the least (KB_PROGRESS_SECONDS)."""
    try:
        return max(0.05, float(os.environ.get("KB_PROGRESS_SECONDS", "") or 60))
    except ValueError:
        return 60.0


# The bar being drawn now, for the summary of a run stopped by SIGTERM (kb.cli).
current: Progress | None = None


class Progress:
    """On a terminal, a bar redrawn in place; in a log, a line every `every` steps and, for
    slow steps (a scan read by OCR, vectors on a busy machine), at least once a minute: a
    thread writes the count when nothing was written for `beat_seconds()`."""

    def __init__(self, total: int, label: str, stream=None, every: int = 50):
        global current
        self.total = max(total, 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every
        self.done = 0
        self.t0 = time.monotonic()
        self._last_draw = 0.0
        self._last_line = self.t0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if self.total:
            current = self
        if not self.tty and self.total:
            threading.Thread(target=self._beat, daemon=True, name="kb-progress").start()

    def _line(self) -> None:
        with self._lock:
            self.stream.write(f"{self.label}: {self.done}/{self.total}{self._eta()}"
                              f" (прошло {_minutes(time.monotonic() - self.t0)})\n")
            self.stream.flush()
            self._last_line = time.monotonic()

    def _beat(self) -> None:
        every = beat_seconds()
        while not self._stop.wait(min(every, 5.0)):
            if time.monotonic() - self._last_line >= every:
                try:
                    self._line()
                except (OSError, ValueError):       # the log was closed under us
                    return

    def _eta(self) -> str:
        el = time.monotonic() - self.t0
        if not self.done or self.done >= self.total:
            return ""
        rest = el / self.done * (self.total - self.done)
        return f", осталось ~{int(rest // 60)}:{int(rest % 60):02d}"

    def step(self, note: str = "") -> None:
        self.done += 1
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw < 0.1 and self.done < self.total:
                return
            self._last_draw = now
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            bar = "█" * filled + "·" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}{self._eta()} {note[:40]:<40}")
            self.stream.flush()
        elif self.done % self.every == 0 or self.done == self.total or now - self._last_line >= beat_seconds():
            self._line()

    def close(self) -> None:
        global current
        self._stop.set()
        if current is self:
            current = None
        if self.tty and self.total:
            self.stream.write("\n")
            self.stream.flush()


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} мин {int(seconds % 60):02d} с"


class Silent(Progress):
    def __init__(self, *a, **k):
        super().__init__(0, "")
        self._stop.set()

    def step(self, note: str = "") -> None:
        pass

    def close(self) -> None:
        pass


class Events(Silent):
    """One line per file read, `extracted<TAB>path`, for a program watching `kb index`
    (the upload page shows a file as read before the whole run has committed)."""

    def __init__(self, total: int = 0, label: str = "", stream=None, **k):
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr

    def step(self, note: str = "") -> None:
        self.stream.write(f"extracted\t{note}\n")
        self.stream.flush()
