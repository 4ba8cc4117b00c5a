"""One `kb index` at a time: an OS lock that dies with its process (kill -9 included).

A POSIX record lock (`lockf`), not `flock`: it belongs to the process, so children forked
while it is held (extraction workers, whoosh's writer processes) do not inherit it, and a
child that outlives a killed `kb index` cannot keep the next run out. Record locks do not
exclude threads of one process, so a thread lock per folder does that.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from kb.errors import IndexLocked

_in_process: dict[str, threading.Lock] = {}
_registry = threading.Lock()


class WriteLock:
    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / "write.lock"
        self._fd: int | None = None
        self._thread_lock: threading.Lock | None = None

    def _refuse(self, holder: str = "") -> IndexLocked:
        who = f" (pid {holder})" if holder else ""
        return IndexLocked(
            f"индекс {self.path.parent} уже обновляет другой процесс kb{who}; "
            "дождитесь его окончания (another kb index is running)"
        )

    def __enter__(self) -> "WriteLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = str(self.path.resolve())
        with _registry:
            tl = _in_process.setdefault(key, threading.Lock())
        if not tl.acquire(blocking=False):
            raise self._refuse(str(os.getpid()))
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            finally:
                os.close(fd)
                tl.release()
            raise self._refuse(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd, self._thread_lock = fd, tl
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)          # closing releases the record lock
            self._fd = None
        if self._thread_lock is not None:
            self._thread_lock.release()
            self._thread_lock = None
