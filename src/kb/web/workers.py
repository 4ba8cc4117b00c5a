"""`kb serve --workers N`: one port, N pre-forked processes serving the app on it.

    socks = bind(host, port)                     # in the parent: a taken port is one clear error
    Pool(n, serve_worker, keeper).run()          # forks, supervises, stops them all
                                                 # (serve_worker serves on the inherited socks)

Why processes: waitress's threads share one interpreter lock, and a search is Python work
(kb.index._bag, snippets, templates), so one `kb serve` used one core however many clients
came. Each worker here is a whole server (waitress with its threads) on the sockets the parent
bound; the kernel hands each new connection to a worker that is waiting in accept, so a worker
busy with a search leaves the next connection to an idle one.

Process layout (docs/architecture.md): the parent binds, forks and supervises only: it opens
no index, starts no thread and so can fork again at any time (a replacement worker) without
copying a lock some thread held. The `keeper` child does what must happen once per server:
the `--rescan` watcher, the background vector build, the upload indexing jobs (kb.web.jobs
queues them in a SQLite file every worker writes to). The workers open their own index
readers after the fork, and each reopens on its own when `CURRENT` changes.

- A worker or the keeper that dies is started again (said on stderr); one that keeps dying at
  start stops the server with an error rather than spinning.
- SIGTERM, SIGINT or SIGHUP to the parent stops every child (SIGTERM, then SIGKILL after 5 s).
- Every child asks the kernel to kill it with the parent (kb.procs.die_with_parent), so a
  `kill -9` of the parent leaves nothing running.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from kb.errors import KbError
from kb.procs import die_with_parent

HEADER = "X-KB-Worker"     # which worker answered (its number, 1..N): operators and tests
_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
_STOPS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
QUICK = 3.0                # a child that dies sooner than this after its start failed to start
MAX_QUICK = 5              # ... this many times in a row: the server stops
BACKOFF = 0.5              # seconds before restarting it, times its quick deaths in a row


def default_count() -> int:
    """The CPU cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def bind(host: str, port: int) -> list[socket.socket]:
    """TCP sockets bound to host:port, one per address the name has (`localhost`: 127.0.0.1 and
    ::1, as waitress binds them), not yet listening: the workers' waitress calls listen, and
    until then a connection is refused, as before serving started. Errors are KbError."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, socket.AF_UNSPEC, socket.SOCK_STREAM,
                                   socket.IPPROTO_TCP, socket.AI_PASSIVE)
    except socket.gaierror:
        raise KbError(f"--host {host}: такого адреса нет (unknown host)") from None
    socks: list[socket.socket] = []
    try:
        for family, kind, proto, _, addr in dict.fromkeys(infos):
            socks.append(_bind_one(family, kind, proto, addr, host, port))
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def _bind_one(family, kind, proto, addr, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as waitress does
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise KbError(f"порт {port} на {host} уже занят (другой kb serve или другая программа): "
                          f"выберите другой --port (address already in use)") from None
        if e.errno == errno.EACCES:
            raise KbError(f"нет прав открыть порт {port}: порты ниже 1024 — только для администратора "
                          "системы; выберите --port 1024 или выше (permission denied)") from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise KbError(f"--host {host}: этого адреса нет у этого компьютера (address not available)") from None
        raise KbError(f"не открыть порт {port} на {host}: {e.strerror} (cannot bind)") from None
    return sock


def name_process(name: str) -> None:
    """The process's name in `ps` and /proc/PID/comm (15 bytes): `kb-worker-2`, `kb-keeper`."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)   # PR_SET_NAME
        except (OSError, AttributeError):
            pass


def tagged(wsgi_app, number: int):
    """WSGI middleware: every answer says which worker gave it (`X-KB-Worker: 2`). Only the
    worker's number, which says nothing an attacker could use; it lets an operator (and the
    tests) see that the load is spread and which worker is slow."""
    value = str(number)

    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, (HEADER, value)], exc_info)
        return wsgi_app(environ, start)
    return app


@dataclass
class _Child:
    name: str                     # "рабочий процесс 2", "фоновый процесс"
    target: Callable[[], None]
    pid: int = 0
    started: float = 0.0
    quick_deaths: int = 0


class Pool:
    """The parent's side: fork the keeper and `workers` servers, restart the dead, stop all."""

    def __init__(self, workers: int, serve_worker: Callable[[int], None], keeper: Callable[[], None] | None = None,
                 out=None):
        """`serve_worker(number)` runs in worker `number` (1..workers) and serves until killed;
        `keeper()` runs in the one keeper process."""
        self.out = out or sys.stderr
        self.children: list[_Child] = []
        if keeper is not None:
            self.children.append(_Child("фоновый процесс", lambda: self._enter("kb-keeper", keeper)))
        for n in range(1, workers + 1):
            self.children.append(_Child(f"рабочий процесс {n}",
                                        lambda n=n: self._enter(f"kb-worker-{n}", lambda: serve_worker(n))))
        self._parent = os.getpid()

    def say(self, text: str) -> None:
        print(f"kb: {text}", file=self.out, flush=True)

    def _enter(self, name: str, body: Callable[[], None]) -> None:
        """The first thing a child does: its name, death with the parent, default signals."""
        name_process(name)
        die_with_parent(self._parent)
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(s, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl+C reaches the parent, which stops us
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        body()

    def _start(self, child: _Child) -> None:
        self.out.flush()
        pid = os.fork()
        if pid == 0:                      # the child: never returns into the parent's code
            code = 0
            try:
                child.target()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
            except BaseException:         # noqa: BLE001 - shown, then the parent restarts it
                traceback.print_exc()
                code = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        child.pid, child.started = pid, time.monotonic()

    def run(self) -> int:
        """Serve until a stop signal; 0, or 1 when children keep dying at start."""
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            for child in self.children:
                self._start(child)
            while True:
                info = signal.sigtimedwait(_SIGNALS, 1.0)
                if info is not None and info.si_signo in _STOPS:
                    self.stop()
                    self.say("сервер остановлен")
                    return 0
                if not self._reap():
                    self.stop()
                    return 1
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)

    def _reap(self) -> bool:
        """Restart the children that ended; False when one keeps failing at start."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return True
            child = next((c for c in self.children if c.pid == pid), None)
            if child is None:
                continue
            how = (f"сигнал {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                   else f"код {os.waitstatus_to_exitcode(status)}")
            quick = time.monotonic() - child.started < QUICK
            child.quick_deaths = child.quick_deaths + 1 if quick else 0
            if child.quick_deaths >= MAX_QUICK:
                self.say(f"{child.name} завершается сразу после запуска ({how}), {MAX_QUICK} раз подряд: "
                         "сервер остановлен (see the errors above)")
                child.pid = 0
                return False
            self.say(f"{child.name} (pid {pid}) завершился ({how}); запускаю новый")
            if quick:
                time.sleep(BACKOFF * child.quick_deaths)
            self._start(child)

    def pids(self) -> list[int]:
        return [c.pid for c in self.children if c.pid]

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to every child, SIGKILL to those still there after `grace` seconds."""
        alive = set(self.pids())
        for pid in alive:
            _kill(pid, signal.SIGTERM)
        end = time.monotonic() + grace
        while alive and time.monotonic() < end:
            for pid in list(alive):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    alive.discard(pid)
            time.sleep(0.05)
        for pid in alive:
            _kill(pid, signal.SIGKILL)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        for c in self.children:
            c.pid = 0


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
