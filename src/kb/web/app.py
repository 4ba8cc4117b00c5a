"""The app factory: wires the pages, the API and one error handler that never leaks a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kb import cluster as nodes
from kb.web import admin, api, auth, cluster, export, files, guard, mine, upload, views
from kb.audit import record
from kb.index import access
from kb.search.export import MAX_ROWS as EXPORT_ROWS
from kb.web.errors import from_exception, wants_json

# Templates live in the repository's top-level templates/ (issue 4); static files beside this module.
TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
STATIC = Path(__file__).resolve().parent / "static"

log = logging.getLogger("kb.web")

_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(corpus: Path, index_dir: Path, *, allowed_hosts: frozenset[str] | None = None,
               max_per_client: int = guard.MAX_PER_CLIENT, proxy: int = 0, jobs_here: bool = True,
               workers: int = 1, follow: str | None = None) -> Flask:
    """The app over an index; `allowed_hosts`: names accepted in Host (None: any, see
    guard.allowed_hosts); `max_per_client`: searches in flight per client address (0: no limit);
    `proxy`: behind that many reverse proxies with HTTPS (0: none): session cookies are Secure
    and X-Forwarded-Prefix is honoured; the client's address, scheme and host come from the
    server (kb.web.serve.proxy_settings: waitress reads X-Forwarded-For/-Proto/-Host before the
    app, and without a proxy drops them, so a client cannot pass for another address and escape
    the login limits); `jobs_here`: upload indexing runs in a thread of this process (False:
    another process of the server runs it, kb.web.jobs); `workers`: processes that will serve it
    after a fork (kb.web.workers), for the per-client limit to count across them (guard.worker
    in each); `follow`: the indexer's URL on a follower (kb.web.cluster passes writes on to it)."""
    app = Flask("kb.web", template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.update(KB_CORPUS=Path(corpus), KB_INDEX=Path(index_dir),
                      MAX_CONTENT_LENGTH=64 * 1024, JSON_AS_ASCII=False, KB_JOBS_HERE=jobs_here,
                      KB_FOLLOW=follow, KB_CLUSTER_KEY=nodes.cluster_key())
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    # Before CSRF reads the form: the upload route's larger body limit, then every body over
    # its route's limit refused whole (413), whatever the route or method.
    app.before_request(upload.allow_large_body)
    app.before_request(_refuse_large_body)
    # Another node acting for an account (before the session is read), then the user, and so
    # what the request may see (on a follower, writes go to the indexer: after guard's checks).
    app.before_request(cluster.on_behalf)
    auth.install(app, Path(index_dir), secure_cookies=bool(proxy))
    app.register_blueprint(cluster.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(mine.bp)
    app.register_blueprint(upload.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(export.bp)
    app.jinja_env.globals.update(type_label=views.type_label, format_size=views.format_size,
                                 passage_url=views.passage_url, page_url=views.page_url,
                                 stable_url=views.stable_url, year_chart=views.year_chart,
                                 FACET_TOP=views.FACET_TOP, EXPORT_ROWS=EXPORT_ROWS)
    app.jinja_env.filters["notice_ru"] = views.notice_ru
    guard.install(app, allowed_hosts=allowed_hosts, max_per_client=max_per_client, workers=workers)
    app.before_request(cluster.forward_writes)      # after the Host check

    @app.errorhandler(Exception)
    def handle_error(e: Exception):
        err = from_exception(e)
        if err.status == 500 and not isinstance(e, HTTPException):
            log.exception("unexpected error on %s", request.path)
        # Retry-After of a 429, Allow of a 405.
        headers = {k: v for k, v in e.get_headers() if k in ("Retry-After", "Allow")} \
            if isinstance(e, HTTPException) else {}
        if wants_json():
            return err.to_json(), err.status, headers
        # The query stays in the box so a 400 can be fixed in place.
        q = " ".join(request.args.get("q", "").split())[:500]
        return render_template("error.html", error=err, q=q), err.status, headers

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy", _CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    @app.after_request
    def not_stored(resp):
        # Pages and answers may hold staff documents or depend on who asks: no browser or proxy
        # keeps them (a shared computer's cache, "back" after logout). Only static files, and the
        # feed and API description asked anonymously, may be kept, and checked again (ETag) each time.
        if request.endpoint == "static":
            return resp
        if request.endpoint in _PUBLIC_KEPT and not current_user.is_authenticated:
            resp.headers["Cache-Control"] = "no-cache"
        else:
            resp.headers["Cache-Control"] = "private, no-store"
        return resp

    @app.after_request
    def audit_staff_views(resp):
        # Reading a staff document (its page, original or API record) is recorded.
        doc_id = (request.view_args or {}).get("doc_id")
        if doc_id and resp.status_code == 200 and request.endpoint in _DOC_VIEWS \
                and doc_id in access.staff_ids(app.config["KB_INDEX"]):
            from flask_login import current_user

            record(app.config["KB_INDEX"], "view.staff", actor=getattr(current_user, "name", None),
                   address=request.remote_addr, target=doc_id, detail=request.endpoint)
        return resp

    if proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the prefix, as the nearest proxy passes it on: waitress has no setting for it.
        # The address, scheme and host are set by waitress itself, before the access log and
        # every hook see the request.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=0, x_host=0, x_prefix=1)
    return app


_DOC_VIEWS = {"views.doc", "files.original", "api.api_document"}
_PUBLIC_KEPT = {"export.feed", "api.api_openapi"}


def _refuse_large_body():
    """413 for a body declared larger than the route's limit, before anything reads it: werkzeug
    refuses it only when the form is read, and a route that reads none would answer otherwise."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
