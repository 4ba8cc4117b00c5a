"""The PostgreSQL backend: every part of the state in one database that several `kb serve`
nodes share, reached through a pool of connections per process (psycopg 3, psycopg_pool).

Why a pool: a request makes a few short statements, and a new connection costs a PostgreSQL
process fork and an authentication (milliseconds) where a statement costs tens of
microseconds. Each connection is checked as it leaves the pool, so after a restart of the
server the dead ones are dropped and new ones made: nodes reconnect by themselves. The pool is
made lazily in the process that uses it (its threads do not survive the fork of
`kb serve --workers N`).

Connections are in autocommit: a statement outside `transaction` is its own transaction. A
transaction takes a transaction-level advisory lock named for what it changes, so writers of
one table queue as SQLite's BEGIN IMMEDIATE makes them, across every node.

When the server cannot be reached within KB_DATABASE_TIMEOUT seconds (5), a StateUnavailable
says so in Russian (the web layer answers 503 with it; anonymous search does not touch the
database and goes on).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import zlib
from collections.abc import Sequence

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from kb.state.db import Conflict, Database, Migration, Result, StateUnavailable, migrate

_LOCK = threading.RLock()
# The pool logs each failed attempt to connect (a line a second while the server is away);
# kb says once that the database went away and once that it is back.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
# After a failure, requests are refused at once for this long, then a new pool is tried.
RETRY_AFTER = 1.0


def _timeout() -> float:
    try:
        return max(0.5, float(os.environ.get("KB_DATABASE_TIMEOUT", "") or 5))
    except ValueError:
        return 5.0


def _pool_size() -> int:
    try:
        return max(1, int(os.environ.get("KB_DATABASE_POOL", "") or 10))
    except ValueError:
        return 10


class PostgresDatabase(Database):
    kind = "postgresql"
    _open: dict[str, "PostgresDatabase"] = {}

    def __init__(self, url: str):
        self.url = url
        self._pool: ConnectionPool | None = None
        self._pid = 0
        self._local = threading.local()
        self._migrated: set[str] = set()
        self._down: tuple[float, str] | None = None      # (until when, why) after a failure
        self._failing = False                             # since the last failure, nothing succeeded

    @classmethod
    def get(cls, url: str) -> "PostgresDatabase":
        with _LOCK:
            db = cls._open.get(url)
            if db is None:
                db = cls._open[url] = cls(url)
            return db

    def part(self, name: str, migrations: Sequence[Migration]) -> "PostgresDatabase":
        """This database, its part `name` brought to the newest schema (once per process)."""
        if name not in self._migrated:
            with _LOCK:
                if name not in self._migrated:
                    migrate(self, name, migrations)
                    self._migrated.add(name)
        return self

    def where(self) -> str:
        try:
            d = conninfo.conninfo_to_dict(self.url)
        except psycopg.ProgrammingError:
            return "PostgreSQL (адрес не читается)"
        host = d.get("host") or "localhost"
        return f"PostgreSQL {host}:{d.get('port') or 5432}/{d.get('dbname') or d.get('user') or ''}"

    def pool(self) -> ConnectionPool:
        down = self._down
        if down is not None and self._pid == os.getpid():
            if time.monotonic() < down[0]:
                # Just failed: say so at once rather than make every request wait the timeout.
                raise StateUnavailable(down[1])
            self._reset()
        if self._pool is None or self._pid != os.getpid():
            with _LOCK:
                if self._pool is None or self._pid != os.getpid():
                    try:
                        pool = ConnectionPool(
                            self.url, min_size=1, max_size=_pool_size(), open=False, timeout=_timeout(),
                            check=ConnectionPool.check_connection, name="kb-state",
                            kwargs={"autocommit": True, "connect_timeout": max(1, int(_timeout()))})
                    except psycopg.ProgrammingError as e:
                        raise StateUnavailable(f"адрес базы данных не читается: {e} (bad database URL)") from None
                    pool.open(wait=False)
                    self._pool, self._pid = pool, os.getpid()
        return self._pool

    def _reset(self) -> None:
        """A new pool at the next use. psycopg_pool would reconnect by itself, but with a
        backoff that grows while the server is away (a minute after a long outage): a new pool
        connects as soon as it is asked, so a node answers again within a second of the
        database's return."""
        with _LOCK:
            old, self._pool, self._down = self._pool, None, None
        if old is not None and self._pid == os.getpid():
            threading.Thread(target=old.close, kwargs={"timeout": 1}, daemon=True).start()

    @contextlib.contextmanager
    def _errors(self):
        try:
            yield
        except psycopg.errors.IntegrityError as e:
            raise Conflict(str(e)) from None
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as e:
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            if isinstance(e, PoolTimeout):
                reason = f"нет соединения за {_timeout():g} с"
                if not self._failing:
                    reason += f" ({self._why_not()})"
            msg = (f"база данных {self.where()} недоступна: {reason}. Поиск работает, а вход, токены, "
                   "сохранённые поиски и загрузки — когда база снова ответит (state database unreachable)")
            if not self._failing:
                # Once per outage in the node's log, not at every refused request.
                print(f"kb: {msg}", file=sys.stderr, flush=True)
            self._failing = True
            self._down = (time.monotonic() + RETRY_AFTER, msg)
            raise StateUnavailable(msg) from None

    def _why_not(self) -> str:
        """What libpq says when connecting now (the pool only says it waited): for the log."""
        try:
            psycopg.connect(self.url, connect_timeout=2).close()
        except psycopg.Error as e:
            return (str(e).strip().splitlines() or [type(e).__name__])[0]
        return "соединение есть, но все заняты"

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            print(f"kb: база данных {self.where()} снова отвечает (state database reachable again)",
                  file=sys.stderr, flush=True)

    def execute(self, sql: str, args: Sequence = ()) -> Result:
        sql = sql.replace("?", "%s")
        con = getattr(self._local, "con", None)
        with self._errors():
            if con is not None:
                cur = con.execute(sql, tuple(args))
                return Result(cur.fetchall() if cur.description else [], cur.rowcount)
            with self.pool().connection() as con:
                cur = con.execute(sql, tuple(args))
                result = Result(cur.fetchall() if cur.description else [], cur.rowcount)
        if self._failing:
            self._recovered()
        return result

    @contextlib.contextmanager
    def transaction(self, lock: str):
        if getattr(self._local, "con", None) is not None:      # nested: the outer one holds
            yield
            return
        with self._errors(), self.pool().connection() as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(f"kb:{lock}".encode()),))
            self._local.con = con
            try:
                yield
            finally:
                self._local.con = None

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None
