"""Extraction worker processes that survive their files.

Each worker is a fresh interpreter (multiprocessing "spawn": no file descriptors, locks
or memory inherited from `kb index`; ~0.2 s to start), takes one file at a time over a
pipe and runs under a memory rlimit. The parent waits on the pipes and the process
sentinels, so whatever happens to a worker costs one file, never the batch:

- it dies (segfault, OOM kill, killed from outside): its file fails with the signal,
  a new worker takes its place;
- it runs past the wall-time bound: killed, its file fails as timed out;
- an allocation fails under its RLIMIT_DATA: its file fails as over memory and the
  worker retires, so the next file starts with a small heap.

Every worker asks the kernel to kill it when the parent dies (kb.procs), so `kill -9` of
`kb index` leaves none running.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from kb import config
from kb.errors import ExtractError, KbError, LimitExceeded
from kb.extract import budget
from kb.extract.document import Document

# Failing with a peak RSS this close to the memory bound is the bound's doing: C libraries
# report a failed allocation as something else (lxml: "XMLSyntaxError: unknown error").
_NEAR_LIMIT = 0.75
# A worker still this big after a file retires, so that the next file gets the room.
_RETIRE_AT = 0.5
# A worker that dies before it is ready points at the environment, not at a file.
_START_ATTEMPTS = 3
# Start-up (an interpreter and kb.extract, ~0.2 s here, more on a loaded machine) is not
# the file's time: until ready, a worker has this long whatever the per-file bound.
_START_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """Bounds of one file's extraction in a worker; None: unbounded."""

    seconds: float | None = None      # wall time of one file
    memory_mb: int | None = None      # the worker's RLIMIT_DATA

    @classmethod
    def defaults(cls) -> "Limits":
        """kb.config's: KB_FILE_SECONDS (300) and KB_FILE_MEMORY_MB (1024); 0 = unbounded."""
        return cls(seconds=config.FILE_SECONDS or None, memory_mb=config.FILE_MEMORY_MB or None)


def time_reason(seconds: float) -> str:
    return f"превышено время извлечения: {seconds:g} с (time limit exceeded; KB_FILE_SECONDS)"


def memory_reason(mb: int) -> str:
    return f"превышен лимит памяти {mb} МБ (memory limit exceeded; KB_FILE_MEMORY_MB)"


def crash_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "?"
        return f"процесс извлечения аварийно завершился (сигнал {-exitcode}) (worker crashed: {name})"
    return f"процесс извлечения аварийно завершился (код {exitcode}) (worker crashed)"


# --- the worker ---------------------------------------------------------------------------

def _proc_status(key: str) -> int | None:
    """A `/proc/self/status` size (VmHWM, VmRSS) in bytes; None where there is no /proc."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(key.encode() + b":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> None:
    # "5" resets VmHWM, the peak RSS, to the current RSS (Linux 4.0+): the peak then is
    # this file's, not the worker's lifetime's.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _bound_memory(mb: int | None) -> None:
    # No core file from a crashed worker that may hold a gigabyte.
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    if mb:
        # RLIMIT_DATA, not RLIMIT_AS: it counts the heap and private writable mappings,
        # not shared libraries and reserved address space (35 MB more in a worker with
        # every reader loaded; docs/architecture.md), so the bound means its number.
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        soft = mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _out_of_memory(exc: BaseException, mb: int) -> bool:
    seen, hops = exc, 0
    while seen is not None and hops < 20:
        if isinstance(seen, MemoryError):
            return True
        seen, hops = seen.__cause__ or seen.__context__, hops + 1
    peak = _proc_status("VmHWM")
    return peak is not None and peak >= _NEAR_LIMIT * mb * 1024 * 1024


def _extract_one(extract, path: Path, limits: Limits) -> Document | ExtractError:
    try:
        return extract(path)
    except ExtractError as e:
        err, cause = e, e
    except Exception as e:  # noqa: BLE001 - a bug of kb's on this file still fails this file only
        err, cause = ExtractError(path, f"внутренняя ошибка kb: {type(e).__name__}: {e}"[:300]), e
    if limits.memory_mb and _out_of_memory(cause, limits.memory_mb):
        return LimitExceeded(path, memory_reason(limits.memory_mb))
    return err


def _work(conn: Connection, parent_pid: int, limits: Limits) -> None:
    """A worker's life: files from `conn` until None or EOF, each answered with its result."""
    from kb.procs import die_with_parent

    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's: it stops the pool
    _bound_memory(limits.memory_mb)
    from kb.extract import extract

    conn.send(("ready", os.getpid()))
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        _reset_peak()
        budget.start(limits.seconds)
        result = _extract_one(extract, path, limits)
        rss = _proc_status("VmRSS") or 0
        retire = isinstance(result, LimitExceeded) or bool(
            limits.memory_mb and rss > _RETIRE_AT * limits.memory_mb * 1024 * 1024)
        try:
            conn.send(("done", result, retire))
        except Exception as e:  # noqa: BLE001 - pickling a huge result may fail: the file fails
            failed = (LimitExceeded(path, memory_reason(limits.memory_mb))
                      if limits.memory_mb and _out_of_memory(e, limits.memory_mb)
                      else ExtractError(path, f"результат не передаётся: {type(e).__name__}: {e}"[:300]))
            conn.send(("done", failed, True))
            return
        if retire:
            return


# --- the parent ---------------------------------------------------------------------------

@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    ready: bool = False
    path: Path | None = None          # the file in progress
    started: float = 0.0


def _cost(p: Path) -> int:
    """Rough work of a file: a PDF page costs more than its bytes say, an image (OCR:
    seconds a page) far more."""
    weight = {".pdf": 4, ".jpg": 40, ".jpeg": 40, ".png": 20, ".tif": 20, ".tiff": 20}
    try:
        return os.stat(p).st_size * weight.get(p.suffix.lower(), 1)
    except OSError:
        return 0


class Pool:
    """`size` worker processes under `limits`; `run` yields `(path, Document | ExtractError)`
    as files finish. Use as a context manager: leaving it stops every worker."""

    def __init__(self, size: int, limits: Limits):
        self.size = max(1, size)
        self.limits = limits
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._failed_starts = 0

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def working(self) -> dict[int, Path]:
        """pid -> the file each busy worker is on (diagnostics, tests)."""
        return {w.process.pid: w.path for w in list(self._workers) if w.path is not None}

    def run(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Document | ExtractError]]:
        todo = deque(sorted(paths, key=_cost, reverse=True))
        while todo or any(w.path is not None for w in self._workers):
            self._dispatch(todo)
            yield from self._collect(todo)

    def close(self) -> None:
        """Stop every worker: idle ones see their pipe close and exit, busy ones are killed."""
        workers, self._workers = self._workers, []
        for w in workers:
            if w.path is not None:
                w.process.kill()
            w.conn.close()
        for w in workers:
            w.process.join(5)
            if w.process.exitcode is None:
                w.process.kill()
                w.process.join()

    # -- internals --

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_work, args=(child, os.getpid(), self.limits),
                                    name="kb-extract", daemon=True)
        process.start()
        child.close()       # the worker's end lives in the worker only: its death is our EOF
        w = _Worker(process, parent)
        self._workers.append(w)
        return w

    def _drop(self, w: _Worker, *, kill: bool = False) -> int | None:
        if w in self._workers:
            self._workers.remove(w)
        if kill:
            w.process.kill()
        w.conn.close()
        w.process.join(5)
        if w.process.exitcode is None:
            w.process.kill()
            w.process.join()
        return w.process.exitcode

    def _dispatch(self, todo: deque) -> None:
        """Give a file to every idle worker, starting workers up to `size`."""
        while todo:
            w = next((w for w in self._workers if w.path is None), None)
            if w is None:
                if len(self._workers) >= self.size:
                    return
                w = self._start()
            path = todo.popleft()
            try:
                w.conn.send(path)
            except OSError:             # died while idle: no file lost, try another worker
                todo.appendleft(path)
                self._drop(w)
                continue
            w.path, w.started = path, time.monotonic()

    def _deadline(self, w: _Worker) -> float:
        seconds = self.limits.seconds or 0.0
        return w.started + (seconds if w.ready else max(seconds, _START_SECONDS))

    def _timeout(self, busy: list[_Worker]) -> float | None:
        if self.limits.seconds is None or not busy:
            return None
        first = min(self._deadline(w) for w in busy)
        return max(0.0, first - time.monotonic()) + 0.01

    def _collect(self, todo: deque) -> Iterator[tuple[Path, Document | ExtractError]]:
        busy = [w for w in self._workers if w.path is not None]
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         self._timeout(busy)))
        for w in busy:
            if w.conn in ready or w.process.sentinel in ready:
                yield from self._receive(w, todo)
            elif self.limits.seconds is not None and time.monotonic() > self._deadline(w):
                path = w.path
                self._drop(w, kill=True)
                if w.ready:
                    yield path, LimitExceeded(path, time_reason(self.limits.seconds))
                else:
                    self._start_failed(path, todo, "не запустился вовремя (start timed out)")

    def _receive(self, w: _Worker, todo: deque) -> Iterator[tuple[Path, Document | ExtractError]]:
        while True:
            try:
                if not w.conn.poll():
                    raise EOFError          # the sentinel fired and nothing is left to read
                msg = w.conn.recv()
            except (EOFError, OSError):
                path, was_ready = w.path, w.ready
                code = self._drop(w)
                if was_ready:
                    yield path, ExtractError(path, crash_reason(code))
                else:
                    self._start_failed(path, todo, crash_reason(code))
                return
            if msg[0] == "ready":
                w.ready, self._failed_starts = True, 0
                w.started = time.monotonic()    # the start-up is not the file's time
                if w.conn.poll():
                    continue
                return
            _, result, retire = msg
            path, w.path = w.path, None
            if retire:
                self._drop(w)
            yield path, result
            return

    def _start_failed(self, path: Path, todo: deque, reason: str) -> None:
        # Not the file's fault: it goes back to the queue; a broken environment stops the batch.
        todo.appendleft(path)
        self._failed_starts += 1
        if self._failed_starts >= _START_ATTEMPTS:
            raise KbError(f"процесс извлечения текста не запускается: {reason}")
