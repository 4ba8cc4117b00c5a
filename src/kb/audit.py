"""The audit log of a team server: who did what and when, in SQLite beside the accounts.

    record(index_dir, "login.failed", actor="anna", address="10.0.0.5")
    AuditLog(index_dir).read(limit=100, action=None, actor=None) -> [Event] newest first

Append-only from the application's side: this module has no update or delete. Kept in its
own file (`audit.sqlite3`) so that an admin can archive or truncate it without touching the
accounts. What is recorded: account changes, logins and failed logins, token creation and
revocation, views of staff documents. Never a password or a whole token (a token's first
characters name it).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.sqlitefile import PerThread

FILE = "audit.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    action TEXT NOT NULL,
    actor TEXT,
    address TEXT,
    target TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
"""


@dataclass(frozen=True)
class Event:
    id: int
    at: float
    action: str
    actor: str | None
    address: str | None
    target: str | None
    detail: str | None

    def to_json(self) -> dict:
        d = asdict(self)
        d["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))
        return d


class AuditLog:
    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / FILE
        self._conns = PerThread(self.path, _SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    def add(self, action: str, *, actor: str | None = None, address: str | None = None,
            target: str | None = None, detail: str | None = None) -> None:
        self._db().execute("INSERT INTO events (at, action, actor, address, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                           (time.time(), action, actor, address, target, detail))

    def read(self, *, limit: int = 100, action: str | None = None, actor: str | None = None) -> list[Event]:
        if not self.path.exists():
            return []
        where, args = [], []
        if action:
            where.append("action = ?")
            args.append(action)
        if actor:
            where.append("actor = ?")
            args.append(actor)
        sql = ("SELECT id, at, action, actor, address, target, detail FROM events"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?")
        return [Event(*r) for r in self._db().execute(sql, (*args, max(1, min(limit, 10_000))))]


_logs: dict[str, AuditLog] = {}
_lock = threading.Lock()


def log_for(index_dir: Path) -> AuditLog:
    key = str(Path(index_dir).resolve())
    with _lock:
        if key not in _logs:
            _logs[key] = AuditLog(Path(index_dir))
        return _logs[key]


def record(index_dir: Path, action: str, **fields) -> None:
    """Append one event; a log that cannot be written never stops the action (it is reported)."""
    try:
        log_for(index_dir).add(action, **fields)
    except (OSError, sqlite3.Error) as e:
        import sys

        print(f"kb: журнал действий не записан ({action}): {e}", file=sys.stderr)
