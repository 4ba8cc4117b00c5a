"""The login limits' counters in a SQLite file of the index folder, shared by every process.

    Limiter(..., storage_uri=uri(index_dir))     # "kb-sqlite:///.../login-limits.sqlite3"

Flask-Limiter counts through a storage of the `limits` library. Its `memory://` storage
lives in one process: with `kb serve --workers N` each worker would count on its own, and
5 wrong passwords per account would become 5 x N (and a restart would forget them all).
`limits` has no file storage, but it finds a storage by the scheme of its URI among the
subclasses of `limits.storage.Storage` (their `STORAGE_SCHEME`): this one registers
`kb-sqlite`, so Flask-Limiter and its fixed-window strategy stay as they are and only the
place of the counters changes. Redis or memcached would do the same with a server to run
and secure; SQLite is already how kb keeps accounts and the audit log (kb.sqlitefile:
owner-only, WAL, a connection per thread).

A counter is (key, count, expires); an increment is one `INSERT ... ON CONFLICT` statement,
atomic across processes (SQLite takes the write lock for it), that starts a new window
when the old one has expired. Login limits are the only user: a handful of writes a minute.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from limits.storage import Storage

from kb.sqlitefile import PerThread

FILE = "login-limits.sqlite3"
SCHEME = "kb-sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires REAL NOT NULL
);
"""


def uri(index_dir: Path) -> str:
    """The storage URI of the counters of the server folder `index_dir`."""
    return f"{SCHEME}://{(Path(index_dir) / FILE).resolve()}"


class SqliteStorage(Storage):
    """Fixed-window counters (Flask-Limiter's default strategy) in one SQLite file."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        path = unquote(urlsplit(uri).path)
        if not path:
            raise ValueError(f"{SCHEME}: no file in {uri!r}")
        # Opened lazily, per thread: nothing is open in a process before it forks its workers.
        self._db = PerThread(Path(path), _SCHEMA)

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        con = self._db.get()
        # Windows that are over count as 0 anyway: dropped here so the file stays small.
        con.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        row = con.execute(
            "INSERT INTO counters (key, count, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires <= ? THEN excluded.count ELSE count + excluded.count END, "
            "expires = CASE WHEN expires <= ? THEN excluded.expires ELSE expires END "
            "RETURNING count", (key, amount, now + expiry, now, now)).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._db.get().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                     (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._db.get().execute("SELECT expires FROM counters WHERE key = ? AND expires > ?",
                                     (key, time.time())).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._db.get().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        con = self._db.get()
        n = con.execute("SELECT COUNT(*) FROM counters").fetchone()[0]
        con.execute("DELETE FROM counters")
        return int(n)

    def clear(self, key: str) -> None:
        self._db.get().execute("DELETE FROM counters WHERE key = ?", (key,))

