"""Indexing after an upload or a deletion, in the background, with a status per file.

    jobs = Indexing(corpus, index_dir); jobs.request(["reports/a.pdf"]); jobs.status(paths)

`kb index` runs in a child process, as `kb serve --rescan` runs it (its extraction pool and
writer processes are not forked from the threaded server), one run at a time; files asked
for during a run are taken by the next one. When another `kb index` holds the index (the
rescan, a person at the terminal), the run waits and tries again. A file's status: `queued`,
`indexing`, `extracted` (its text is read; the run has not committed yet), then `indexed` or
`failed` with the reason from the report. `steps` lists the statuses it went through.

The statuses live in the server's state (kb.state: `INDEX/upload-jobs.sqlite3`, or the shared
PostgreSQL database), not in a process's memory:
under `kb serve --workers N` the file is uploaded to one worker and its status asked of
whichever worker the next connection reaches. Who runs the jobs: with `run_here` (one process,
the tests' apps) a thread of this process starts at a request; the workers of a pool only
queue, and the pool's keeper process (kb.web.workers) runs `run_forever`, so that exactly
one place starts `kb index` for uploads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from kb.procs import dies_with_us
from kb import state
from kb.state.db import Database, Migration

RETRIES = 30          # a locked index is retried every second, up to this many times
FILE = "upload-jobs.sqlite3"
KEEP_DAYS = 7         # finished statuses are dropped after this long

_TABLE = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    steps TEXT NOT NULL,            -- JSON list of the statuses it went through
    reason TEXT,
    asked INTEGER NOT NULL,         -- how many times it was asked for: a run's outcome applies
                                    -- only if it was not asked for again meanwhile
    updated {time} NOT NULL
)
"""
MIGRATIONS = [Migration(1, sqlite=_TABLE.format(time="REAL"), postgres=_TABLE.format(time="DOUBLE PRECISION"))]
_RUNNING = ("indexing", "extracted")


class JobStore:
    """The statuses of the files asked to be indexed, shared by the processes of one server."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self._db = state.LazyDatabase(self.index_dir, "upload-jobs", MIGRATIONS, file=FILE)

    def queue(self, paths: list[str]) -> None:
        now = time.time()
        db = self._db()
        with db.transaction("upload-jobs"):
            for p in paths:
                db.execute("INSERT INTO files (path, status, steps, reason, asked, updated) "
                           "VALUES (?, 'queued', '[\"queued\"]', NULL, 1, ?) "
                           "ON CONFLICT (path) DO UPDATE SET status = 'queued', steps = '[\"queued\"]', "
                           "reason = NULL, asked = files.asked + 1, updated = excluded.updated", (p, now))

    def status(self, paths: list[str]) -> dict[str, dict]:
        db = self._db()
        out = {}
        for p in paths:
            row = db.execute("SELECT status, steps, reason FROM files WHERE path = ?", (p,)).fetchone()
            if row is None:
                out[p] = {"status": "unknown"}
                continue
            out[p] = {"status": row[0], "steps": json.loads(row[1])}
            if row[2] is not None:
                out[p]["reason"] = row[2]
        return out

    def has_queued(self) -> bool:
        return self._db().execute("SELECT 1 FROM files WHERE status = 'queued' LIMIT 1").fetchone() is not None

    def take(self) -> dict[str, int]:
        """The queued files, now `indexing`: path -> its `asked` count at this moment."""
        db = self._db()
        with db.transaction("upload-jobs"):
            batch = dict(db.execute("SELECT path, asked FROM files WHERE status = 'queued'").fetchall())
            for p, asked in batch.items():
                self._step(db, p, asked, "indexing", None)
            db.execute("DELETE FROM files WHERE status NOT IN ('queued', 'indexing', 'extracted') AND updated < ?",
                       (time.time() - KEEP_DAYS * 86400,))
        return batch

    def advance(self, path: str, asked: int, status: str, reason: str | None = None,
                only_from: tuple[str, ...] = _RUNNING) -> None:
        """`path` goes to `status` if it is still in this run (same `asked`, status in `only_from`)."""
        db = self._db()
        with db.transaction("upload-jobs"):
            row = db.execute("SELECT status, asked FROM files WHERE path = ?", (path,)).fetchone()
            if row is not None and row[1] == asked and row[0] in only_from:
                self._step(db, path, asked, status, reason)

    def requeue_unfinished(self) -> None:
        """Files a killed runner left `indexing` are queued again (at the keeper's start)."""
        self._db().execute("UPDATE files SET status = 'queued', steps = '[\"queued\"]', updated = ? "
                           "WHERE status IN ('indexing', 'extracted')", (time.time(),))

    @staticmethod
    def _step(db: Database, path: str, asked: int, status: str, reason: str | None) -> None:
        steps = json.loads(db.execute("SELECT steps FROM files WHERE path = ?", (path,)).fetchone()[0])
        db.execute("UPDATE files SET status = ?, steps = ?, reason = ?, updated = ? WHERE path = ? AND asked = ?",
                   (status, json.dumps([*steps, status]), reason, time.time(), path, asked))


class Indexing:
    def __init__(self, corpus: Path, index_dir: Path, *, run_here: bool = True):
        """`run_here`: start the runner thread in this process at a request; False: another
        process runs `run_forever` over the same index folder (the keeper of a worker pool)."""
        self.corpus, self.index_dir = Path(corpus), Path(index_dir)
        self.store = JobStore(index_dir)
        self.run_here = run_here
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def request(self, paths: list[str]) -> None:
        self.store.queue(paths)
        if not self.run_here:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="kb-upload-index", daemon=True)
                self._thread.start()

    def status(self, paths: list[str]) -> dict[str, dict]:
        return self.store.status(paths)

    def resume(self) -> None:
        """At the start of a server: files a stopped server left queued or half-indexed are
        indexed again (their statuses would otherwise stay `indexing` for ever)."""
        self.store.requeue_unfinished()
        if self.store.has_queued():
            self.request([])

    def wait(self, timeout: float = 120) -> None:
        """Until no run is going (tests)."""
        t = self._thread
        if t is not None:
            t.join(timeout)

    def run_forever(self, poll: float = 0.5) -> None:
        """The runner of a worker pool: files queued by any worker are indexed here."""
        self.store.requeue_unfinished()
        while True:
            self.run_pending()
            time.sleep(poll)

    def run_pending(self) -> None:
        """Index what is queued now, in this thread, until nothing is."""
        if self.store.has_queued():
            self._loop()

    def _loop(self) -> None:
        while True:
            with self._lock:
                batch = self.store.take()
                if not batch:
                    self._thread = None
                    return
            report, error = self._run(batch)
            for p, asked in batch.items():
                outcome = _outcome(p, report, error)
                self.store.advance(p, asked, outcome["status"], outcome.get("reason"))

    def _tee(self, stream, batch: dict[str, int]):
        """Lines of the child's stderr: `extracted` events update the files' status, the
        others are kept (the last one is the error to show)."""
        for line in stream:
            kind, _, path = line.rstrip("\n").partition("\t")
            if kind == "extracted":
                if path in batch:
                    self.store.advance(path, batch[path], "extracted", only_from=("indexing",))
            else:
                yield line

    def _run(self, batch: dict[str, int]) -> tuple[dict | None, str | None]:
        cmd = [sys.executable, "-m", "kb.cli", "index", "--json", "--quiet", "--events", "--corpus", str(self.corpus),
               "--index", str(self.index_dir)]
        for _ in range(RETRIES):
            errors: list[str] = []
            # It dies with the server (a killed run leaves the index as it was; the file stays
            # in the corpus, and the next start of `kb serve` indexes it).
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  preexec_fn=dies_with_us()) as child:
                # stderr is read as it comes (the files read so far), stdout at the end.
                reader = threading.Thread(target=lambda: errors.extend(self._tee(child.stderr, batch)),
                                          daemon=True)
                reader.start()
                out = child.stdout.read()
                child.wait()
                reader.join()
            if child.returncode == 0 or out.strip().startswith("{"):
                try:
                    return json.loads(out), None
                except ValueError:
                    return None, "отчёт индексации не читается"
            err = ([e for e in errors if e.strip()] or ["индексация не удалась"])[-1].strip()
            if "another kb index" not in err:
                return None, err
            time.sleep(1)
        return None, "индекс занят другим процессом"


def _outcome(path: str, report: dict | None, error: str | None) -> dict:
    if report is None:
        return {"status": "failed", "reason": error or "индексация не удалась"}
    for f in report.get("failed", []):
        if f.get("path") == path:
            return {"status": "failed", "reason": f.get("reason", "")}
    if path in report.get("removed", []):
        return {"status": "removed"}
    return {"status": "indexed"}
