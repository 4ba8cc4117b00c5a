"""SQLite files kept in the index folder (accounts, the audit log): created readable by their
owner only (they hold password hashes and who read what), in WAL mode so that the server's
threads and a `kb user` at the terminal do not block each other, one connection per thread
(sqlite3 connections must not cross threads)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path


class PerThread:
    def __init__(self, path: Path, schema: str, foreign_keys: bool = False,
                 prepare: Callable[[sqlite3.Connection], None] | None = None):
        """`prepare(con)`: run on each new connection after the schema (functions it needs,
        columns an older file lacks)."""
        self.path, self.schema, self.foreign_keys, self.prepare = Path(path), schema, foreign_keys, prepare
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        """This thread's connection; the file and its tables are made at the first one."""
        con = getattr(self._local, "con", None)
        if con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            if new:
                self.path.chmod(0o600)
            if self.foreign_keys:
                con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(self.schema)
            if self.prepare is not None:
                self.prepare(con)
            self._local.con = con
        return con
