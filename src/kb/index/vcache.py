"""Passage vectors shared by every index of this user: `$KB_CACHE/vectors/<model key>.sqlite3`.

An index keeps its own vectors (kb.index.vectors); this cache sits beside them so that a
rebuild, a second index of the same files (a copy, a test's corpus) and the test suite take
the vectors of passages embedded before instead of embedding them again: the vectors cost
about a hundred times more than the rest of indexing.

Keyed by the passage's content hash (vectors.key_of) inside a file of one model key, so
vectors of two models never mix. SQLite in WAL mode: writers of several `kb index` at once
wait for each other (busy timeout) instead of corrupting anything, and a kill -9 leaves the
last committed transaction. Bounded: past `KB_VECTOR_CACHE_ROWS` (200,000 rows, ~200 MB) the
rows used longest ago go. Any trouble with the file (a damaged database, a full disk, a
read-only folder) turns the cache off for the run with one logged line: it only saves time.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from pathlib import Path

log = logging.getLogger("kb.index")

ROWS = 200_000


def folder() -> Path:
    raw = os.environ.get("KB_CACHE", "").strip()
    return (Path(raw).expanduser() if raw else Path.home() / ".cache" / "kb") / "vectors"


def enabled() -> bool:
    return os.environ.get("KB_VECTOR_CACHE", "1").strip().lower() not in ("0", "off", "no")


def max_rows() -> int:
    try:
        return max(0, int(os.environ.get("KB_VECTOR_CACHE_ROWS", "") or ROWS))
    except ValueError:
        return ROWS


class SharedVectors:
    """The cache of one model key; `None`-safe: every method does nothing once it failed."""

    def __init__(self, model_key: str, dim: int):
        self.dim = dim
        self.path = folder() / (re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)[:120] + ".sqlite3")
        self._db: sqlite3.Connection | None = None
        if not enabled() or max_rows() == 0:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
        except (OSError, sqlite3.Error) as e:
            self._off(e)

    def _open(self) -> sqlite3.Connection:
        # Two processes opening a new file at once: switching it to WAL does not wait on the busy
        # timeout, so "database is locked" is tried again for a few seconds (seen: one of two
        # builders started together turned its cache off).
        deadline = time.monotonic() + 10
        while True:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS v (key BLOB PRIMARY KEY, vec BLOB NOT NULL, used REAL NOT NULL)")
                db.execute("CREATE INDEX IF NOT EXISTS v_used ON v(used)")
                return db
            except sqlite3.OperationalError as e:
                db.close()
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _off(self, e: Exception) -> None:
        log.warning("kb: общий кэш векторов %s отключён: %s (the shared vector cache is off)", self.path, e)
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None

    def get(self, keys: list[bytes]) -> dict:
        """The vectors (float16 rows) the cache holds for `keys`; their use is stamped."""
        import numpy as np

        if self._db is None or not keys:
            return {}
        out: dict = {}
        try:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                rows = self._db.execute(f"SELECT key, vec FROM v WHERE key IN ({','.join('?' * len(part))})",
                                        part).fetchall()
                for k, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float16)
                    # A row of another width or not numbers (a damaged page) is embedded again.
                    if vec.shape[0] == self.dim and np.isfinite(vec).all():
                        out[bytes(k)] = vec
            if out:
                now = time.time()
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("UPDATE v SET used = ? WHERE key = ?", [(now, k) for k in out])
                self._db.execute("COMMIT")
        except sqlite3.Error as e:
            self._off(e)
            return {}
        return out

    def put(self, keys: list[bytes], vecs) -> None:
        """Keep these vectors (float16), then trim the cache to its bound."""
        import numpy as np

        if self._db is None or not keys:
            return
        rows = np.asarray(vecs, dtype=np.float16)
        now = time.time()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO v (key, vec, used) VALUES (?, ?, ?)",
                                 [(k, rows[i].tobytes(), now) for i, k in enumerate(keys)])
            over = self._db.execute("SELECT COUNT(*) FROM v").fetchone()[0] - max_rows()
            if over > 0:
                self._db.execute("DELETE FROM v WHERE key IN (SELECT key FROM v ORDER BY used LIMIT ?)", (over,))
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._off(e)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
