"""Indexing after an upload or a deletion, in the background, with a status per file.

    jobs = Indexing(corpus, index_dir); jobs.request(["reports/a.pdf"]); jobs.status(paths)

`kb index` runs in a child process, as `kb serve --rescan` runs it (its extraction pool and
writer processes are not forked from the threaded server), one run at a time; files asked
for during a run are taken by the next one. When another `kb index` holds the index (the
rescan, a person at the terminal), the run waits and tries again. A file's status: `queued`,
`indexing`, `extracted` (its text is read; the run has not committed yet), then `indexed` or
`failed` with the reason from the report. `steps` lists the statuses it went through.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

RETRIES = 30          # a locked index is retried every second, up to this many times


class Indexing:
    def __init__(self, corpus: Path, index_dir: Path):
        self.corpus, self.index_dir = Path(corpus), Path(index_dir)
        self._state: dict[str, dict] = {}
        self._waiting: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def request(self, paths: list[str]) -> None:
        with self._lock:
            for p in paths:
                self._state[p] = {"status": "queued", "steps": ["queued"]}
                self._waiting.add(p)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="kb-upload-index", daemon=True)
                self._thread.start()

    def status(self, paths: list[str]) -> dict[str, dict]:
        with self._lock:
            return {p: dict(self._state.get(p, {"status": "unknown"})) for p in paths}

    def wait(self, timeout: float = 120) -> None:
        """Until no run is going (tests)."""
        t = self._thread
        if t is not None:
            t.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                batch, self._waiting = self._waiting, set()
                if not batch:
                    self._thread = None
                    return
                for p in batch:
                    self._set(p, {"status": "indexing"})
            report, error = self._run(batch)
            with self._lock:
                for p in batch:
                    if self._state.get(p, {}).get("status") not in ("indexing", "extracted"):
                        continue          # asked for again meanwhile: the next run says
                    self._set(p, _outcome(p, report, error))

    def _set(self, path: str, state: dict) -> None:
        """The caller holds the lock."""
        steps = self._state.get(path, {}).get("steps", [])
        self._state[path] = {**state, "steps": [*steps, state["status"]]}

    def _tee(self, stream, batch: set[str]):
        """Lines of the child's stderr: `extracted` events update the files' status, the
        others are kept (the last one is the error to show)."""
        for line in stream:
            kind, _, path = line.rstrip("\n").partition("\t")
            if kind == "extracted":
                if path in batch:
                    with self._lock:
                        if self._state.get(path, {}).get("status") == "indexing":
                            self._set(path, {"status": "extracted"})
            else:
                yield line

    def _run(self, batch: set[str]) -> tuple[dict | None, str | None]:
        cmd = [sys.executable, "-m", "kb.cli", "index", "--json", "--quiet", "--events", "--corpus", str(self.corpus),
               "--index", str(self.index_dir)]
        for _ in range(RETRIES):
            errors: list[str] = []
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
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
