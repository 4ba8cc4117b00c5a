"""Checks made before a view runs: the Host header, and how many searches one client runs at once.

    allowed_hosts(bind_host, extra)  -> the names to accept in Host, or None (no check)
    install(app, allowed_hosts=..., max_per_client=...)
"""

from __future__ import annotations

import ipaddress
import math
import mmap
import threading
import zlib
from collections import Counter
from collections.abc import Iterable

from flask import Flask, g, request
from werkzeug.exceptions import TooManyRequests

from kb import config
from kb.web.params import ParamError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
# Routes that search or read a whole document: the expensive ones (kb.web's own endpoint names).
LIMITED = {"views.results", "views.consult", "views.doc", "api.api_search", "api.api_consult",
           "api.api_document", "api.api_similar", "export.export_results", "export.feed"}
# In flight at once per client address on those routes (kb serve --max-per-client,
# KB_MAX_PER_CLIENT), across all the workers of kb serve. A server process answers one
# search at a time (one shared whoosh searcher under a lock), so one client's searches add
# up for everybody: measured on ../shared/data,
# four 5-second searches of one client held another client's search 19.7 s, two 9.7 s.
# Two still lets a person load a page of results and a document at once.
MAX_PER_CLIENT = 2


def host_name(value: str) -> str | None:
    """The name of a Host header value without its port, lowercased; None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value.partition("]")
        name += sep
    else:
        name, _, rest = value.partition(":")
        rest = ":" + rest if rest else ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    return name.rstrip(".") or None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """Host names `kb serve` accepts, or None for no check.

    Bound to a loopback address, a page of any other site could still reach kb through DNS
    rebinding (its name resolving to 127.0.0.1): only the loopback names, the bound address
    and the `extra` names pass. Bound elsewhere, names are checked only when some are given.
    """
    names = {n for n in (host_name(e) for e in extra if e.strip()) if n}
    if not names and not _is_loopback(bind_host):
        return None
    names.update(LOOPBACK_NAMES)
    try:
        ip = ipaddress.ip_address(bind_host.strip("[]"))
    except ValueError:
        names.add(bind_host.lower())
    else:
        if not ip.is_unspecified:
            names.add(f"[{ip}]" if ip.version == 6 else str(ip))
    return frozenset(names)


class InFlight:
    """Requests being served, per client address, in this process."""

    def __init__(self, limit: int):
        self.limit = limit
        self._count: Counter[str] = Counter()
        self._lock = threading.Lock()

    def enter(self, client: str) -> bool:
        with self._lock:
            if self._count[client] >= self.limit:
                return False
            self._count[client] += 1
            return True

    def leave(self, client: str) -> None:
        with self._lock:
            self._count[client] -= 1
            if self._count[client] <= 0:
                del self._count[client]

    def worker(self, number: int) -> None:
        """Nothing to do in one process."""


class SharedInFlight:
    """Requests being served, per client address, counted across the workers of
    `kb serve --workers N`: the limit is per client, not per client and worker (else one client
    could hold 2 searches of every worker, i.e. all of them).

    The counts are a table in shared memory (an anonymous mmap made by the parent before it
    forks, so every worker maps the same pages): a row per worker, a column per bucket of
    client addresses (crc32; two clients in one bucket share a limit, unlikely among 65,536).
    A worker writes only its own row, under its own thread lock, and reads the others: it adds
    the request first, then sums the column and takes it back if over the limit, so two workers
    racing can both refuse but never both admit past the limit. No lock is shared between
    processes: a killed worker could not leave one held; its row is zeroed by its replacement
    (the requests it was serving are gone with it)."""

    BUCKETS = 1 << 16

    def __init__(self, limit: int, workers: int):
        self.limit, self.rows, self.row = limit, workers, 0
        self._mem = mmap.mmap(-1, workers * self.BUCKETS * 4)     # MAP_SHARED | MAP_ANONYMOUS
        self._counts = memoryview(self._mem).cast("i")
        self._lock = threading.Lock()

    def worker(self, number: int) -> None:
        """In worker `number` (1..N), after the fork: its row, cleared of a dead predecessor's."""
        self.row = number - 1
        with self._lock:
            start = self.row * self.BUCKETS * 4
            self._mem[start:start + self.BUCKETS * 4] = bytes(self.BUCKETS * 4)

    def _bucket(self, client: str) -> int:
        return zlib.crc32(client.encode("utf-8", "replace")) % self.BUCKETS

    def enter(self, client: str) -> bool:
        b = self._bucket(client)
        mine = self.row * self.BUCKETS + b
        with self._lock:
            self._counts[mine] += 1
            if sum(self._counts[r * self.BUCKETS + b] for r in range(self.rows)) > self.limit:
                self._counts[mine] -= 1
                return False
            return True

    def leave(self, client: str) -> None:
        mine = self.row * self.BUCKETS + self._bucket(client)
        with self._lock:
            if self._counts[mine] > 0:
                self._counts[mine] -= 1


def install(app: Flask, *, allowed_hosts: frozenset[str] | None = None,
            max_per_client: int = MAX_PER_CLIENT, workers: int = 1) -> None:
    """Register the checks on `app`. Flask's TRUSTED_HOSTS is not used: Werkzeug 3.1 cuts
    a trusted name at its first ':' (so "[::1]" never matches) and compares case-sensitively,
    and its error is raised before the URL adapter exists, so no error page can be built.
    `workers`: processes that will serve this app after a fork (each then calls `worker`)."""
    in_flight = None
    if max_per_client > 0:
        in_flight = SharedInFlight(max_per_client, workers) if workers > 1 else InFlight(max_per_client)
    app.extensions["kb_in_flight"] = in_flight
    app.config.update(KB_ALLOWED_HOSTS=allowed_hosts, KB_MAX_PER_CLIENT=max_per_client)

    @app.before_request
    def check_host():
        # A browser always sends Host; a request without one cannot come from a rebinding page.
        host = request.headers.get("Host")
        if allowed_hosts is not None and host is not None and host_name(host) not in allowed_hosts:
            raise ParamError("неизвестное имя сервера в заголовке Host", "unknown server name in the Host header")

    @app.before_request
    def limit_per_client():
        if in_flight is None or request.endpoint not in LIMITED:
            return
        client = request.remote_addr or "-"
        if not in_flight.enter(client):
            # By the time budget of a search, one of this client's requests has ended.
            raise TooManyRequests(retry_after=max(1, math.ceil(config.query_seconds())))
        g.kb_client = client

    @app.teardown_request
    def release(_exc):
        client = g.pop("kb_client", None)
        if client is not None:
            in_flight.leave(client)


def worker(app: Flask, number: int) -> None:
    """Called in worker `number` of `kb serve --workers N` after the fork, before it serves."""
    in_flight = app.extensions.get("kb_in_flight")
    if in_flight is not None:
        in_flight.worker(number)
