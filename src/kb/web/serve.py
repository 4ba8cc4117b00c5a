"""`kb serve`: bring the index up to date, then serve the app on waitress (or Flask's reloader)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from kb.errors import KbError


def prepare_index(corpus: Path, index_dir: Path, out=None) -> None:
    """Index the corpus when the index is missing or stale, with progress on `out` (stderr)."""
    out = out or sys.stderr
    from kb.index import is_stale, update_index

    if not Path(corpus).is_dir():
        raise KbError(f"папка с документами не найдена: {corpus} (corpus folder not found)")
    if not is_stale(corpus, index_dir):
        print(f"Индекс {index_dir} актуален.", file=out)
        return
    print(f"Индексирую {corpus} -> {index_dir} ...", file=out)
    report = update_index(Path(corpus), Path(index_dir), show_progress=True)
    for line in report.lines():
        print(line, file=out)


def watch_corpus(corpus: Path, index_dir: Path, every: float, out=None, rounds: int | None = None) -> None:
    """Every `every` seconds, re-index when files of the corpus were added, changed or removed.

    `kb index` runs as a child process: its extraction pool and writer processes are not
    forked from this threaded server. The pages read the new index at their next request.
    """
    from kb.index import is_stale

    out = out or sys.stderr
    n = 0
    while rounds is None or n < rounds:
        n += 1
        time.sleep(every)
        try:
            if not is_stale(corpus, index_dir):
                continue
        except OSError:
            continue
        print("Документы изменились: обновляю индекс ...", file=out, flush=True)
        done = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--corpus", str(corpus),
                               "--index", str(index_dir)], capture_output=True, text=True)
        lines = done.stdout.strip().splitlines()[-3:]
        if done.returncode:
            lines += done.stderr.strip().splitlines()[-1:]      # the error, not the progress lines
        for line in lines:
            print(line, file=out, flush=True)


def serve(corpus: Path, index_dir: Path, *, host: str = "127.0.0.1", port: int = 5000,
          debug: bool = False, threads: int = 8, rescan: float = 60.0) -> None:
    from kb.web.app import create_app

    # Under the reloader this module runs twice; the child (WERKZEUG_RUN_MAIN) skips indexing.
    if not os.environ.get("WERKZEUG_RUN_MAIN"):
        prepare_index(corpus, index_dir)
    app = create_app(corpus, index_dir)
    url = f"http://{host if ':' not in host else '[' + host + ']'}:{port}/"
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=True)
        return
    from waitress import serve as waitress_serve

    from kb.search import warm_up

    threading.Thread(target=warm_up, args=(Path(index_dir),), daemon=True).start()
    if rescan > 0:
        threading.Thread(target=watch_corpus, args=(Path(corpus), Path(index_dir), rescan), daemon=True).start()
    print(f"kb: поиск открыт на {url} (Ctrl+C — остановить)", file=sys.stderr, flush=True)
    waitress_serve(app, host=host, port=port, threads=threads, ident="kb")
