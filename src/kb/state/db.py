"""The interface both backends give, and the migrations that keep a schema current.

    db.execute(sql, args) -> Result        # `?` placeholders, one statement
    with db.transaction("lock-name"): ...  # statements of this thread in one transaction,
                                           # one writer at a time per lock name

A migration is a numbered step of one part's schema: its DDL for each backend (they differ in
types and generated ids only) and an optional Python step that works on both. `migrate`
applies the steps a database has not had yet, in a transaction, under the lock "schema" (two
nodes starting at once do not both apply them), and records the part's version in the
`schema_version` table. A database whose version is newer than this release knows is
refused: an older kb must not write into a schema it does not understand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from kb.errors import KbError


class StateUnavailable(KbError):
    """The database of the server's state cannot be reached or used; the message says why, in
    Russian, and what still works."""


class Conflict(Exception):
    """A unique or foreign key constraint refused a write (either backend)."""


class Result:
    """The rows of a statement (read at once: a pooled connection goes back at the end of
    the call) and how many rows it changed."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, rows: list[tuple], rowcount: int):
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple]:
        return self.rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)


@dataclass(frozen=True)
class Migration:
    version: int
    sqlite: str = ""            # statements separated by `;` (none may hold one in a literal)
    postgres: str = ""
    python: Callable[["Database"], None] | None = None


class Database:
    """What the stores of kb's state use; kb.state.sqlite and kb.state.postgres implement it."""

    kind = ""                   # "sqlite" or "postgresql"

    def execute(self, sql: str, args: Sequence = ()) -> Result:
        raise NotImplementedError

    def transaction(self, lock: str) -> contextlib.AbstractContextManager:
        raise NotImplementedError

    def exists(self) -> bool:
        """Something was ever stored (SQLite: the file is there)."""
        return True

    def where(self) -> str:
        """The database for a message: a file, or a server without its password."""
        raise NotImplementedError


def migrate(db: Database, part: str, migrations: Sequence[Migration]) -> None:
    latest = max((m.version for m in migrations), default=0)
    with db.transaction("schema"):
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (part TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        row = db.execute("SELECT version FROM schema_version WHERE part = ?", (part,)).fetchone()
        current = row[0] if row else 0
        if current > latest:
            raise StateUnavailable(f"схема «{part}» в базе {db.where()} версии {current}, а эта версия kb знает "
                                   f"только до {latest}: обновите kb на этом сервере (database schema is newer "
                                   "than this release)")
        for m in sorted(migrations, key=lambda m: m.version):
            if m.version <= current:
                continue
            for stmt in (m.sqlite if db.kind == "sqlite" else m.postgres).split(";"):
                if stmt.strip():
                    db.execute(stmt)
            if m.python is not None:
                m.python(db)
        if latest != current:
            db.execute("INSERT INTO schema_version (part, version) VALUES (?, ?) "
                       "ON CONFLICT (part) DO UPDATE SET version = excluded.version", (part, latest))
