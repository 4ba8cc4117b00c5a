"""One `kb index` at a time: an OS file lock that dies with its process (kill -9 included)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from kb.errors import IndexLocked


class WriteLock:
    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / "write.lock"
        self._fd: int | None = None

    def __enter__(self) -> "WriteLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 32).decode().strip()
            finally:
                os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise IndexLocked(
                f"индекс {self.path.parent} уже обновляет другой процесс kb{who}; "
                "дождитесь его окончания (another kb index is running)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
