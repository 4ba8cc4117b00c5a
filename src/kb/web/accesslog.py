"""One line per request for `kb serve`: time, status, duration, method, path.

    2025-03-14T10:02:11.512+06:00 200 38 ms GET /search?q=…&page=…

Query values are hidden by default (`q=…`): lawyers' queries can be confidential, and a log
outlives the search; `--log-queries` shows them. A WSGI middleware around the whole app, so
every response is logged, 400/404/429/500 included; the line is written when the server
has sent the body (werkzeug's ClosingIterator), so the duration covers the download too.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import TextIO
from urllib.parse import quote, unquote_plus

from werkzeug.wsgi import ClosingIterator

HIDDEN = "…"


def _printable(text: str) -> str:
    """`text` for one log line: control characters, spaces and separators percent-encoded."""
    return "".join(c if c.isprintable() and c not in " %&=" else quote(c, safe="") for c in text)


def _path(environ) -> str:
    # PATH_INFO is bytes as latin-1 (PEP 3333): back to bytes, then percent-encoded as sent.
    raw = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1", "replace")
    return quote(raw, safe="/-._~!$'()*+,;:@")


def query_string(qs: str, show_values: bool) -> str:
    """The query string for the log: names kept, values shown decoded or replaced by "…"."""
    out = []
    for part in qs.split("&"):
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = _printable(unquote_plus(name.encode("latin-1", "replace").decode("utf-8", "replace")))
        if not eq:
            out.append(name)
        elif not show_values:
            out.append(f"{name}={HIDDEN if value else ''}")
        else:
            out.append(f"{name}={_printable(unquote_plus(value.encode('latin-1', 'replace').decode('utf-8', 'replace')))}")
    return "&".join(out)


class AccessLog:
    """WSGI middleware writing one line per request to `out` (stderr or an opened log file)."""

    def __init__(self, app, out: TextIO, show_queries: bool = False):
        self.app = app
        self.out = out
        self.show_queries = show_queries
        # This process's threads, one line at a time. The workers of `kb serve --workers N`
        # share no lock: each writes a whole line in one write() to the file the parent opened
        # in append mode, so lines do not interleave.
        self._lock = threading.Lock()

    def line(self, environ, status: str, started: float) -> str:
        ms = (time.perf_counter() - started) * 1000
        path = _path(environ)
        qs = query_string(environ.get("QUERY_STRING", ""), self.show_queries)
        when = datetime.now().astimezone().isoformat(timespec="milliseconds")
        method = _printable(environ.get("REQUEST_METHOD", "-"))
        return f"{when} {status} {ms:.0f} ms {method} {path}{'?' + qs if qs else ''}"

    def write(self, environ, status: str, started: float) -> None:
        text = self.line(environ, status, started) + "\n"
        with self._lock:
            try:
                self.out.write(text)
                self.out.flush()
            except (OSError, ValueError):
                pass        # a full disk or a closed stream must not break the answer

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        status = ["500"]        # if the app fails before answering, the server sends a 500

        def start(st, headers, exc_info=None):
            status[0] = st.split(" ", 1)[0]
            return start_response(st, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            self.write(environ, "500", started)
            raise
        return ClosingIterator(body, lambda: self.write(environ, status[0], started))
