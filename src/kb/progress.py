"""Progress of long work: a bar with counts and ETA on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None, every: int = 50):
        self.total = max(total, 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every
        self.done = 0
        self.t0 = time.monotonic()
        self._last_draw = 0.0

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
        elif self.done % self.every == 0 or self.done == self.total:
            self.stream.write(f"{self.label}: {self.done}/{self.total}{self._eta()}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")
            self.stream.flush()


class Silent(Progress):
    def __init__(self, *a, **k):
        super().__init__(0, "")

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
