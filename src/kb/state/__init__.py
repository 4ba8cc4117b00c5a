"""Where a team server keeps what it knows besides the index: accounts and tokens, session
versions, the audit log, the login limits' counters, saved searches, the upload queue and the
session key.

    db = database(index_dir, ACCOUNTS)     # the store of one part of the state
    db.execute("SELECT ... WHERE id = ?", (1,)).fetchone()
    with db.transaction("users"): ...      # one writer at a time for that lock name

Two backends behind one interface (kb.state.db.Database), chosen by the process's setting:
- SQLite (the default, nothing to run): one file per part in the index folder, as before
  (accounts.sqlite3, audit.sqlite3, login-limits.sqlite3, upload-jobs.sqlite3; saved
  searches stay a JSON file, kb.search.saved);
- PostgreSQL when a URL is given (`KB_DATABASE_URL=postgresql://...` or `--database URL`):
  every part in one database that several `kb serve` nodes share, through a connection pool.

The statements are written once, with `?` placeholders, in the SQL both understand (ON
CONFLICT, RETURNING); only the tables' definitions differ, in each part's migrations
(kb.state.db.Migration), applied by themselves when a part is first opened and recorded in
a `schema_version` table.
"""

from __future__ import annotations

import os
from pathlib import Path

from kb.state.db import Database, Migration, Result, StateUnavailable

__all__ = ["Database", "LazyDatabase", "Migration", "Result", "StateUnavailable", "database", "database_url", "release",
           "shared", "unavailable"]

ENV = "KB_DATABASE_URL"
_SCHEMES = ("postgresql://", "postgres://")


def database_url() -> str | None:
    """The PostgreSQL URL this process uses (KB_DATABASE_URL; `--database` sets it), or None
    for the SQLite files. A URL of another kind is refused, saying so."""
    url = os.environ.get(ENV, "").strip()
    if not url:
        return None
    if not url.startswith(_SCHEMES):
        raise StateUnavailable(f"{ENV}: нужен адрес вида postgresql://пользователь@сервер/база, а не «{url[:40]}» "
                               "(only postgresql:// URLs are supported)")
    return url


def shared() -> bool:
    """The state is in PostgreSQL (shared by every node), not in the index folder's files."""
    return database_url() is not None


def unavailable() -> str | None:
    """None when the state can be reached (always, with the SQLite files); else why, in Russian:
    for a readiness check (/health, kb check) of a node of a cluster."""
    url = database_url()
    if url is None:
        return None
    from kb.state.postgres import PostgresDatabase

    try:
        PostgresDatabase.get(url).execute("SELECT 1")
    except StateUnavailable as e:
        return str(e)
    return None


def release() -> None:
    """Close this process's connections to the shared database (before forking workers: a
    connection must not be shared by two processes, and each worker makes its own pool)."""
    import sys

    if "kb.state.postgres" in sys.modules:
        from kb.state.postgres import PostgresDatabase

        for db in list(PostgresDatabase._open.values()):
            db.close()


def database(index_dir: Path, part: str, migrations: list[Migration], *, file: str,
             prepare=None) -> Database:
    """The database holding `part` of the state: PostgreSQL when configured, else the SQLite
    `file` of the index folder. `prepare(con)`: run on each new SQLite connection."""
    url = database_url()
    if url is not None:
        from kb.state.postgres import PostgresDatabase

        return PostgresDatabase.get(url).part(part, migrations)
    from kb.state.sqlite import SqliteDatabase

    return SqliteDatabase.get(Path(index_dir) / file, part, migrations, prepare=prepare)


class LazyDatabase:
    """`database(...)` opened at its first call, not when its owner is made: nothing is open in
    a server before it forks its workers, and a database that is down fails the use, not the
    start."""

    def __init__(self, index_dir: Path, part: str, migrations: list[Migration], *, file: str):
        self._args = (Path(index_dir), part, migrations)
        self._file = file
        self._db: Database | None = None

    def __call__(self) -> Database:
        if self._db is None:
            self._db = database(*self._args, file=self._file)
        return self._db
