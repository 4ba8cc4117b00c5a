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

    def __init__(self, total: int, label: str, stream=None, every: int = 50, told: bool = False):
        """`told`: the caller gives the time left (step's `seconds_left`); none is shown
        until it does (steps counted before this run would make a rate of steps wrong)."""
        global current
        self.total = max(total, 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every
        self.done = 0
        self.t0 = time.monotonic()
        self.told = told
        self._told: tuple[float, float] | None = None     # (seconds left, when) as last told
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
        now = time.monotonic()
        if not self.done or self.done >= self.total:
            return ""
        if self._told is not None:
            rest = max(0.0, self._told[0] - (now - self._told[1]))
        elif self.told:
            return ""
        else:
            rest = (now - self.t0) / self.done * (self.total - self.done)
        return f", осталось ~{int(rest // 60)}:{int(rest % 60):02d}"

    def step(self, note: str = "", seconds_left: float | None = None) -> None:
        """One more step done; `seconds_left`: the caller's own estimate of the rest (kept,
        counting down, until it gives another), for steps of unequal cost."""
        self.done += 1
        now = time.monotonic()
        if seconds_left is not None:
            self._told = (seconds_left, now)
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


class Pace:
    """Seconds left of work whose steps cost unequally (passages of 100 to 2,400 characters),
    from the rate of work units done so far (characters, not steps): counted in steps, a
    run whose first steps are its cheapest promises too little (a whole collection's vectors
    were said to need 3 more minutes when 6 were left)."""

    def __init__(self, work: float):
        self.t0 = time.monotonic()
        self.left = max(0.0, float(work))
        self.done = 0.0

    def did(self, work: float) -> None:
        self.done += work
        self.left = max(0.0, self.left - work)

    def skipped(self, work: float) -> None:
        """Work that cost no time here (found done elsewhere): no longer left, not in the rate."""
        self.left = max(0.0, self.left - work)

    def seconds_left(self) -> float | None:
        if self.done <= 0:
            return None
        return (time.monotonic() - self.t0) / self.done * self.left


class Silent(Progress):
    def __init__(self, *a, **k):
        super().__init__(0, "")
        self._stop.set()

    def step(self, note: str = "", seconds_left: float | None = None) -> None:
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
