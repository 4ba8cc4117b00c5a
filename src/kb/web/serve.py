"""`kb serve`: bring the index up to date, then serve the app on waitress (or Flask's reloader)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
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
    from kb.procs import dies_with_us

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
        # It dies with the server: a killed run leaves the index as it was, the next one redoes it.
        done = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--corpus", str(corpus),
                               "--index", str(index_dir)], capture_output=True, text=True,
                              preexec_fn=dies_with_us())
        lines = done.stdout.strip().splitlines()[-3:]
        if done.returncode:
            lines += done.stderr.strip().splitlines()[-1:]      # the error, not the progress lines
        for line in lines:
            print(line, file=out, flush=True)


def require_admin_for(host: str, index_dir: Path) -> None:
    """Serving beyond this computer (`--host 0.0.0.0`, a LAN address) needs an admin account:
    without one nobody could sign in to manage the server, and a server left open by mistake
    should not start. Loopback serving (the default) needs none."""
    from kb.accounts import Accounts
    from kb.web.guard import _is_loopback

    if _is_loopback(host) or Accounts(index_dir).has_admin():
        return
    raise KbError(f"--host {host}: сервер будет доступен из сети, а администратора ещё нет. Создайте его:\n"
                  f"  kb user add ИМЯ --role admin --index {index_dir}\n"
                  "и запустите снова (an admin account is required to serve beyond this computer)")


def follow_settings(url: str) -> str:
    """`kb serve --follow URL`: the URL as used, once the settings are known to be sound."""
    from kb import cluster

    url = cluster.check_url(url)
    if not cluster.cluster_key():
        raise KbError("--follow: задайте KB_CLUSTER_SECRET (или KB_CLUSTER_SECRET_FILE) — тот же ключ, что на "
                      "индексаторе: без него индексатор не отдаёт индекс (cluster secret required)")
    return url


def first_round(url: str, index_dir: Path, out=None) -> None:
    """One round before serving, so a follower that starts answers from the indexer's current
    generation (or, the indexer being down, from the copy it already holds)."""
    from kb import cluster
    from kb.index import replica, store

    out = out or sys.stderr
    print(f"kb: копирую индекс с индексатора {url} ...", file=out, flush=True)
    state = cluster.follow_once(Path(index_dir), cluster.Source(url, cluster.cluster_key()),
                                replica.read_state(index_dir) or {}, out)
    gen = store.current(Path(index_dir))
    if gen is None:
        print("kb: индекса пока нет: страницы скажут об этом, пока индексатор его не опубликует", file=out, flush=True)
    elif state.get("last_error"):
        print(f"kb: отвечаю по прежней копии {gen.name}", file=out, flush=True)


def build_vectors(corpus: Path, index_dir: Path, out=None) -> None:
    """The passage vectors, in a child `kb index` (lexical part already up to date, so it goes
    straight to the vectors) while the server answers lexically; the semantic part joins each
    query once they are built. A child, like the re-index: the embedding engine's threads and
    memory stay out of the server, and it dies with it. Its progress lines are dropped."""
    from kb.analysis import embed
    from kb.procs import dies_with_us

    if not embed.enabled():
        return
    out = out or sys.stderr
    print("kb: строятся векторы смысла (поиск по словам уже работает) ...", file=out, flush=True)
    done = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--quiet", "--corpus", str(corpus),
                           "--index", str(index_dir)], capture_output=True, text=True,
                          preexec_fn=dies_with_us())
    lines = done.stdout.strip().splitlines()[-1:]
    if done.returncode:
        lines += done.stderr.strip().splitlines()[-1:]
    for line in lines:
        print(f"kb: {line}", file=out, flush=True)


def preload() -> None:
    """Load, before the workers are forked, the read-only data every worker needs and that is
    not the index: the word vectors (numpy arrays) and the morphology dictionaries. The workers
    share those pages with the parent (copy-on-write: nothing writes to them) instead of each
    loading its own copy, and a restarted worker has them at once. Neither opens a file that
    stays open, nor starts a thread."""
    from kb.analysis.vectors import word_vectors
    from kb.morphology import analyzer

    word_vectors()
    analyzer()


# The headers a proxy is told to set (docs/usage.md, the nginx example). X-Forwarded-Port and
# Forwarded stay untrusted, so waitress drops them: a client's copy passed on by a proxy that
# does not set them could otherwise change the links.
FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})


def proxy_settings(hops: int) -> dict:
    """waitress's settings for `kb serve --proxy N`: the client's address, scheme and host are
    those the N-th proxy counting back from kb received (X-Forwarded-For/-Proto/-Host: the
    N-th value from the end; what the client wrote before them is ignored), set by waitress
    in the request before the app and the access log see it, in every worker. Any peer is trusted:
    waitress takes one proxy address only, and kb cannot know the proxy's; behind a proxy kb
    listens where only the proxy reaches it (docs/usage.md). Without a proxy: nothing, and
    waitress drops those headers (its default), so a client cannot claim another address."""
    if not hops:
        return {}
    return {"trusted_proxy": "*", "trusted_proxy_count": int(hops), "trusted_proxy_headers": set(FORWARDED),
            "clear_untrusted_proxy_headers": True}


def serve(corpus: Path, index_dir: Path, *, host: str = "127.0.0.1", port: int = 5000,
          debug: bool = False, threads: int = 8, rescan: float = 60.0, allowed_hosts: Iterable[str] = (),
          access_log: Path | None = None, log_queries: bool = False, max_per_client: int | None = None,
          proxy: int = 0, workers: int | None = None, follow: str | None = None,
          follow_every: float = 2.0) -> int:
    """`allowed_hosts`: names accepted in Host besides the loopback ones (guard.allowed_hosts);
    `access_log`: a file for the access log (default stderr); `log_queries`: show query values in it;
    `proxy`: behind that many reverse proxies with HTTPS (0: none; proxy_settings, Secure cookies);
    `workers`: server processes (kb.web.workers; default one per core, 1: this process alone);
    `follow`: the indexer's URL: this node copies its published index every `follow_every`
    seconds (kb.cluster) instead of indexing a corpus, and passes uploads on to it.
    Returns the exit status."""
    from kb.web import guard, workers as pool
    from kb.web.accesslog import AccessLog
    from kb.web.app import create_app

    require_admin_for(host, index_dir)
    follow = follow_settings(follow) if follow else None
    n = pool.default_count() if workers is None else workers
    # The port first: a taken one is said at once, not after indexing. Not listening yet, so
    # a connection is refused until a server takes it, as before.
    socks = [] if debug else pool.bind(host, port)
    if follow:
        from kb.index.replica import RULES

        # Who sees what, by the indexer's rules as copied (kb.index.replica): a follower has no
        # corpus of its own, and until the copy exists every document no sidecar opens is hidden.
        if os.environ.get("KB_ACCESS", "").strip():
            print("kb: KB_ACCESS не действует на узле-последователе: действуют правила доступа индексатора "
                  "(ignored on a follower)", file=sys.stderr, flush=True)
        os.environ["KB_ACCESS"] = str(Path(index_dir).resolve() / RULES)
        first_round(follow, index_dir)
    else:
        from kb.index.replica import forget_state

        forget_state(index_dir)         # a former follower now indexing: no lag to show

    # Under the reloader this module runs twice; the child (WERKZEUG_RUN_MAIN) skips indexing.
    if not os.environ.get("WERKZEUG_RUN_MAIN") and not follow:
        prepare_index(corpus, index_dir)
    hosts = guard.allowed_hosts(host, allowed_hosts)
    # Built here, before any fork: the workers inherit it, and an error in it (a damaged
    # session key) is said once. It opens nothing yet (readers and SQLite connections are
    # made at the first request, in the process that serves it).
    app = create_app(corpus, index_dir, allowed_hosts=hosts, proxy=proxy, jobs_here=n == 1 or debug,
                     max_per_client=guard.MAX_PER_CLIENT if max_per_client is None else max_per_client,
                     workers=1 if debug else n, follow=follow)
    try:
        # Opened once, in append mode: every worker writes whole lines to the same file.
        log = open(access_log, "a", encoding="utf-8", buffering=1) if access_log else sys.stderr
    except OSError as e:
        raise KbError(f"не открыть журнал запросов {access_log}: {e.strerror} (cannot open the access log)") from None
    if debug and proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's development server has no trusted-proxy settings: werkzeug's own, outermost.
        # Scheme and host as the nearest proxy passes them on: ProxyFix would ignore a single
        # X-Forwarded-Proto behind two proxies, and waitress refuses two.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy, x_proto=1, x_host=1)
    app.wsgi_app = AccessLog(app.wsgi_app, log, show_queries=log_queries)
    url = f"http://{host if ':' not in host else '[' + host + ']'}:{port}/"
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=True)
        return 0
    from waitress import serve as waitress_serve

    from kb.search import warm_up

    corpus, index_dir = Path(corpus), Path(index_dir)

    def once_per_server() -> None:
        """The vector build and the `--rescan` watcher (a follower: its loop): in this process, or in the keeper."""
        if follow:
            from kb.cluster import follow_forever

            threading.Thread(target=follow_forever, args=(index_dir, follow, follow_every), daemon=True).start()
            return
        threading.Thread(target=build_vectors, args=(corpus, index_dir), daemon=True).start()
        if rescan > 0:
            threading.Thread(target=watch_corpus, args=(corpus, index_dir, rescan), daemon=True).start()

    def serve_here(wsgi) -> None:
        threading.Thread(target=warm_up, args=(index_dir,), daemon=True).start()
        waitress_serve(wsgi, sockets=socks, threads=threads, ident="kb", **proxy_settings(proxy))

    print(f"kb: поиск открыт на {url} (Ctrl+C — остановить)", file=sys.stderr, flush=True)
    if hosts is not None:
        print(f"kb: принимаются имена сервера: {', '.join(sorted(hosts))}", file=sys.stderr, flush=True)
    from kb.web.jobs import Indexing

    if n == 1:
        once_per_server()
        if not follow:
            app.extensions["kb_indexing"] = jobs = Indexing(corpus, index_dir)
            jobs.resume()
        serve_here(app)
        return 0

    def keeper() -> None:
        once_per_server()
        if follow:
            threading.Event().wait()        # the follower's loop runs in its thread
        Indexing(corpus, index_dir, run_here=False).run_forever()

    preload()
    from kb.state import release

    release()               # the session key was read: each worker opens its own connections

    print(f"kb: рабочих процессов: {n}", file=sys.stderr, flush=True)
    def worker(number: int) -> None:
        guard.worker(app, number)
        serve_here(pool.tagged(app, number))

    return pool.Pool(n, worker, keeper).run()
