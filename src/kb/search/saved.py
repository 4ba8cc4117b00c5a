"""Saved searches: a query with its filters, whose new documents a person is told about.

    store = SavedSearches(Path("state/saved-searches.json"))
    s = store.add("owner-id", "выселение", {"type": ["отчёт"]})
    new_documents(index_dir, s)          -> documents matching, added since the last visit
    store.visit(s.id)                    -> last_visit set to now

There are no accounts yet (issue 13): `owner` is an opaque string that the account layer will
fill with a user id, and that decides whose page lists a search. The store is one JSON file
written atomically; it is small (a person keeps tens of searches, not thousands). A change
reads, edits and rewrites the whole file under a lock on `<file>.lock` (flock: one per open
file, so it holds between threads of one process as between processes): the workers of
`kb serve --workers N` (and each request, which makes its own store object) would otherwise
lose each other's changes; reads need no lock, the file is replaced whole.
"""

from __future__ import annotations

import calendar
import contextlib
import fcntl
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.errors import KbError, QueryError
from kb.index import querymodel as qm
from kb.search.catalog import DocInfo
from kb.state.db import Migration

FILTER_KEYS = ("type", "year", "cites", "category", "region")
MAX_PER_OWNER = 100


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class SavedSearch:
    id: str
    owner: str                      # the account it belongs to ("" until accounts exist)
    query: str
    filters: dict = field(default_factory=dict)     # {"type": [...], "year": [...], ...} as in the URL
    sort: str = "relevance"
    created: str = ""               # UTC ISO 8601
    last_visit: str = ""            # new documents are those added after this (UTC ISO 8601)

    def to_filters(self, since: str = "") -> qm.Filters:
        f = self.filters
        return qm.Filters(doc_type=list(f.get("type", [])), year=list(f.get("year", [])),
                          cites=list(f.get("cites", [])), category=list(f.get("category", [])),
                          region=list(f.get("region", [])), since=since)


class SavedSearches:
    """The saved searches of everyone, in one JSON file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _changing(self):
        """Held while a change reads and rewrites the file: this thread's lock, then the
        file lock other processes (and other store objects) take."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)          # the lock goes with the descriptor

    def _load(self) -> dict[str, SavedSearch]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise KbError(f"файл сохранённых поисков {self.path} не читается: {e} (saved searches unreadable)") from None
        return {d["id"]: SavedSearch(**d) for d in data.get("searches", [])}

    def _save(self, items: dict[str, SavedSearch]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"searches": [asdict(s) for s in items.values()]}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        os.replace(tmp, self.path)

    def add(self, owner: str, query: str, filters: dict | None = None, sort: str = "relevance") -> SavedSearch:
        """Save a search (the query is checked first); its last visit is now."""
        from kb.search import parse

        query = " ".join((query or "").split())
        if query:
            parse(query)
        filters = {k: list(v) for k, v in (filters or {}).items() if k in FILTER_KEYS and v}
        if not query and not filters:
            raise QueryError("пустой поиск: нужен запрос или фильтр (empty search)")
        def make() -> SavedSearch:
            now = _now()
            return SavedSearch(id=secrets.token_hex(6), owner=owner, query=query, filters=filters, sort=sort,
                               created=now, last_visit=now)
        return self._insert(owner, make)

    def _insert(self, owner: str, make) -> SavedSearch:
        with self._changing():
            items = self._load()
            if sum(1 for s in items.values() if s.owner == owner) >= MAX_PER_OWNER:
                raise QueryError(f"сохранено уже {MAX_PER_OWNER} поисков (too many saved searches)")
            s = make()
            items[s.id] = s
            self._save(items)
            return s

    def list(self, owner: str) -> list[SavedSearch]:
        with self._lock:
            return sorted((s for s in self._load().values() if s.owner == owner), key=lambda s: s.created)

    def get(self, search_id: str) -> SavedSearch | None:
        with self._lock:
            return self._load().get(search_id)

    def remove(self, search_id: str) -> bool:
        with self._changing():
            items = self._load()
            if items.pop(search_id, None) is None:
                return False
            self._save(items)
            return True

    def visit(self, search_id: str, when: str | None = None) -> SavedSearch | None:
        """Mark the search as seen now: later documents count as new."""
        with self._changing():
            items = self._load()
            s = items.get(search_id)
            if s is None:
                return None
            s.last_visit = when or _now()
            self._save(items)
            return s


_TABLE = """
CREATE TABLE IF NOT EXISTS saved_searches (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    query TEXT NOT NULL,
    filters TEXT NOT NULL,          -- JSON, as in the file
    sort TEXT NOT NULL,
    created TEXT NOT NULL,
    last_visit TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS saved_searches_owner ON saved_searches(owner)
"""
MIGRATIONS = [Migration(1, sqlite=_TABLE, postgres=_TABLE)]
_COLS = "id, owner, query, filters, sort, created, last_visit"


class SharedSavedSearches(SavedSearches):
    """The same searches in the shared database of a cluster (kb.state, PostgreSQL): every
    node lists and changes the same ones. Used when a database URL is configured; the
    embedded default stays the JSON file, which needs no migration of what people saved."""

    def __init__(self, index_dir: Path):
        from kb import state

        self.path = Path(index_dir)
        self._db = state.database(index_dir, "saved", MIGRATIONS, file="saved-searches.sqlite3")

    @staticmethod
    def _row(r: tuple) -> SavedSearch:
        return SavedSearch(id=r[0], owner=r[1], query=r[2], filters=json.loads(r[3]), sort=r[4],
                           created=r[5], last_visit=r[6])

    def _insert(self, owner: str, make) -> SavedSearch:
        with self._db.transaction("saved"):
            n = self._db.execute("SELECT COUNT(*) FROM saved_searches WHERE owner = ?", (owner,)).fetchone()[0]
            if n >= MAX_PER_OWNER:
                raise QueryError(f"сохранено уже {MAX_PER_OWNER} поисков (too many saved searches)")
            s = make()
            self._db.execute(f"INSERT INTO saved_searches ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (s.id, s.owner, s.query, json.dumps(s.filters, ensure_ascii=False), s.sort,
                              s.created, s.last_visit))
            return s

    def list(self, owner: str) -> list[SavedSearch]:
        rows = self._db.execute(f"SELECT {_COLS} FROM saved_searches WHERE owner = ? ORDER BY created, id",
                                (owner,)).fetchall()
        return [self._row(r) for r in rows]

    def get(self, search_id: str) -> SavedSearch | None:
        r = self._db.execute(f"SELECT {_COLS} FROM saved_searches WHERE id = ?", (search_id,)).fetchone()
        return self._row(r) if r else None

    def remove(self, search_id: str) -> bool:
        return self._db.execute("DELETE FROM saved_searches WHERE id = ?", (search_id,)).rowcount > 0

    def copy_from(self, source: SavedSearches) -> int:
        """Every search of a JSON file, as it is (`kb state copy`); into an empty table only."""
        items = list(source._load().values())
        with self._db.transaction("saved"):
            if self._db.execute("SELECT 1 FROM saved_searches LIMIT 1").fetchone() is not None:
                raise KbError(f"в базе {self._db.where()} уже есть сохранённые поиски: копировать можно только "
                              "в новую базу (target table is not empty)")
            for s in items:
                self._db.execute(f"INSERT INTO saved_searches ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (s.id, s.owner, s.query, json.dumps(s.filters, ensure_ascii=False), s.sort,
                                  s.created, s.last_visit))
        return len(items)

    def visit(self, search_id: str, when: str | None = None) -> SavedSearch | None:
        self._db.execute("UPDATE saved_searches SET last_visit = ? WHERE id = ?", (when or _now(), search_id))
        return self.get(search_id)


def store_for(index_dir: Path, file: str) -> SavedSearches:
    """The saved searches of a server: the JSON `file` of its index folder, or the shared
    database when one is configured (kb.state)."""
    from kb import state

    if state.shared():
        return SharedSavedSearches(index_dir)
    return SavedSearches(Path(index_dir) / file)


def _next_second(stamp: str) -> str:
    """The second after `stamp`: `since` filters are "at or after", and a document indexed in the
    very second a search was saved or visited was already in what the person saw then."""
    try:
        t = time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return stamp
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(t) + 1))


def new_documents(index_dir: Path, saved: SavedSearch, limit: int = 20) -> tuple[int, list[DocInfo]]:
    """(how many, the newest `limit`) documents matching the saved search that were added to the
    collection after its last visit."""
    from kb.search import newest, search

    since = _next_second(saved.last_visit) if saved.last_visit else "0000"
    filters = saved.to_filters(since)
    if not saved.query:
        every = [d for d, _ in newest(index_dir, "", filters=filters, limit=10**6)]
        return len(every), every[:limit]
    docs = [d for d, _ in newest(index_dir, saved.query, filters=filters, limit=limit)]
    return search(index_dir, saved.query, filters=filters, per_page=1).total_docs, docs
