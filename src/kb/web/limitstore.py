"""The login limits' counters in the server's state (kb.state), shared by every process.

    Limiter(..., storage_uri=uri(index_dir))     # "kb-state:///.../index"

Flask-Limiter counts through a storage of the `limits` library. Its `memory://` storage
lives in one process: with `kb serve --workers N` each worker would count on its own, and
5 wrong passwords per account would become 5 x N (and a restart would forget them all).
`limits` finds a storage by the scheme of its URI among the subclasses of
`limits.storage.Storage` (their `STORAGE_SCHEME`): this one registers `kb-state`, so
Flask-Limiter and its fixed-window strategy stay as they are and only the place of the
counters changes: `INDEX/login-limits.sqlite3` by default, the shared PostgreSQL database
when one is configured (then the nodes of a cluster count together: five wrong passwords
spread over three nodes lock the account). Redis or memcached would do the same with one
more server to run and secure.

A counter is (key, count, expires); an increment is one `INSERT ... ON CONFLICT` statement,
atomic across processes and nodes, that starts a new window when the old one has expired.
Login limits are the only user: a handful of writes a minute.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from limits.storage import Storage

from kb import state
from kb.state.db import Migration, StateUnavailable

FILE = "login-limits.sqlite3"
SCHEME = "kb-state"

_TABLE = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count BIGINT NOT NULL,
    expires {time} NOT NULL
)
"""
MIGRATIONS = [Migration(1, sqlite=_TABLE.format(time="REAL"), postgres=_TABLE.format(time="DOUBLE PRECISION"))]


def uri(index_dir: Path) -> str:
    """The storage URI of the counters of the server folder `index_dir`."""
    return f"{SCHEME}://{Path(index_dir).resolve()}"


class CounterStorage(Storage):
    """Fixed-window counters (Flask-Limiter's default strategy) in the server's state."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        path = unquote(urlsplit(uri).path)
        if not path:
            raise ValueError(f"{SCHEME}: no folder in {uri!r}")
        self.index_dir = Path(path)
        self._db = state.LazyDatabase(self.index_dir, "limits", MIGRATIONS, file=FILE)

    @property
    def base_exceptions(self):
        return (sqlite3.Error, StateUnavailable)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._db()
        # Windows that are over count as 0 anyway: dropped here so the table stays small.
        db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        row = db.execute(
            "INSERT INTO counters (key, count, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN counters.expires <= ? THEN excluded.count ELSE counters.count + excluded.count END, "
            "expires = CASE WHEN counters.expires <= ? THEN excluded.expires ELSE counters.expires END "
            "RETURNING count", (key, amount, now + expiry, now, now)).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._db().execute("SELECT expires FROM counters WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except (sqlite3.Error, StateUnavailable):
            return False
        return True

    def reset(self) -> int | None:
        db = self._db()
        n = db.execute("SELECT COUNT(*) FROM counters").fetchone()[0]
        db.execute("DELETE FROM counters")
        return int(n)

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))
