"""The SQLite backend: one file per part of the state in the index folder, created readable by
its owner only (password hashes, who read what), in WAL mode so that the server's threads and
a `kb user` at the terminal do not block each other, one connection per thread (sqlite3
connections must not cross threads). A write transaction is BEGIN IMMEDIATE: SQLite has one
writer per file, so the lock name is not needed."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from kb.state.db import Conflict, Database, Migration, Result, StateUnavailable, migrate


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, path: Path, part: str, migrations: Sequence[Migration],
                 prepare: Callable[[sqlite3.Connection], None] | None = None):
        """`prepare(con)`: run on each new connection before the migrations (functions they need)."""
        self.path, self.part, self.migrations, self.prepare = Path(path), part, list(migrations), prepare
        self._local = threading.local()

    @classmethod
    def get(cls, path: Path, part: str, migrations: Sequence[Migration], prepare=None) -> "SqliteDatabase":
        # A new object per store, as the files always were: a test or an admin that removes
        # the file gets a new one at the next store opened.
        return cls(path, part, migrations, prepare)

    def where(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection; the file and its tables are made at the first one."""
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                new = not self.path.exists()
                con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                if new:
                    self.path.chmod(0o600)
                con.execute("PRAGMA foreign_keys = ON")
                con.execute("PRAGMA journal_mode = WAL")
            except (OSError, sqlite3.Error) as e:
                raise StateUnavailable(f"не открыть файл {self.path}: {e} (cannot open the state file)") from None
            if self.prepare is not None:
                self.prepare(con)
            self._local.con = con
            self._local.depth = 0
            migrate(self, self.part, self.migrations)
        return con

    def execute(self, sql: str, args: Sequence = ()) -> Result:
        con = self.connection()
        try:
            cur = con.execute(sql, tuple(args))
            rows = cur.fetchall() if cur.description else []
        except sqlite3.IntegrityError as e:
            raise Conflict(str(e)) from None
        return Result(rows, cur.rowcount)

    @contextlib.contextmanager
    def transaction(self, lock: str):
        con = self.connection()
        if self._local.depth:                  # nested (a migration inside a store's transaction)
            yield
            return
        con.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")
        finally:
            self._local.depth = 0
