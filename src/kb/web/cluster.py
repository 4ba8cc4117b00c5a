"""What a node of several `kb serve` says to the others and to a load balancer.

    GET /health                    liveness: the process answers (no index needed)
    GET /health/ready              readiness: a sound generation is published here; a follower's lag
    GET /cluster/generation        the published generation's files (kb.index.replica.describe)
    GET /cluster/files/<rel>       one of those files
      (both need X-KB-Cluster-Key equal to KB_CLUSTER_SECRET; without a secret: 404, wrong: 403)

On a follower (`kb serve --follow URL`), uploads, their statuses and deletions are passed on to
the indexer as the signed-in person (`forward_writes`), and an original file it does not hold is
asked of the indexer with that person's rights. On the indexer, a request with the cluster key
and `X-KB-On-Behalf: NAME` runs as that account of its own (`on_behalf`), for those routes only.
"""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, abort, after_this_request, current_app, g, jsonify, redirect, \
    render_template, request, send_file, url_for
from flask_login import current_user

from kb import cluster
from kb.errors import KbError
from kb.index import replica, store
from kb.web.errors import WebError, wants_json

bp = Blueprint("cluster", __name__)

# Routes a follower passes on, and the only ones the indexer runs on behalf of an account.
WRITES = {"upload.receive", "upload.status", "upload.delete"}
ON_BEHALF_OK = WRITES | {"files.original"}
GENERATION = "X-KB-Generation"
STALE_AFTER = 60.0      # seconds without a successful round after which /health/ready says "stale"


def _key_ok() -> bool:
    key = current_app.config.get("KB_CLUSTER_KEY")
    if not key:
        abort(404)      # no secret on this server: the endpoints do not exist
    return cluster.key_matches(request.headers.get(cluster.HEADER), key)


def _refuse_node():
    return jsonify(WebError(403, "неверный ключ кластера (X-KB-Cluster-Key)", "cluster key refused").to_json()), 403


@bp.get("/cluster/generation")
def generation():
    if not _key_ok():
        return _refuse_node()
    try:
        return jsonify(replica.describe(current_app.config["KB_INDEX"]))
    except replica.SyncError as e:
        return jsonify(WebError(503, str(e), "published generation unreadable").to_json()), 503


@bp.get("/cluster/files/<path:rel>")
def file(rel: str):
    if not _key_ok():
        return _refuse_node()
    path = replica.file_path(current_app.config["KB_INDEX"], rel)
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/octet-stream", conditional=False, etag=False, max_age=0)


@bp.get("/health")
def live():
    return jsonify({"status": "ok"})


@bp.get("/health/ready")
def ready():
    """200 when this node can answer searches, else 503; details of a follower's source and
    errors only for staff or another node."""
    index_dir = current_app.config["KB_INDEX"]
    gen = store.current(index_dir)
    sound = gen is not None and store.read_seal(gen) is not None
    body: dict = {"ready": sound, "generation": gen.name if gen else None,
                  "role": "follower" if current_app.config.get("KB_FOLLOW") else "indexer"}
    if current_app.config.get("KB_FOLLOW"):
        lag = replica.lag(replica.read_state(index_dir), index_dir) or {}
        since = lag.get("since_success")
        body["follow"] = {"behind": lag.get("behind"), "since_success": since,
                          "stale": since is None or since > STALE_AFTER, "error": bool(lag.get("last_error"))}
        insider = (current_user.is_authenticated and current_user.is_staff) or \
            cluster.key_matches(request.headers.get(cluster.HEADER), current_app.config.get("KB_CLUSTER_KEY"))
        if insider:
            body["follow"].update(indexer=lag.get("indexer"), remote=lag.get("remote"),
                                  last_error=lag.get("last_error"))
    return jsonify(body), 200 if sound else 503


# --- on the indexer: a follower acting for one of its accounts ---------------------------------

def on_behalf():
    """Before the session and token checks: a request from another node for a named account."""
    name = request.headers.get(cluster.ON_BEHALF)
    if name is None:
        return None
    key = current_app.config.get("KB_CLUSTER_KEY")
    if request.endpoint not in ON_BEHALF_OK or not cluster.key_matches(request.headers.get(cluster.HEADER), key):
        return _refuse_node()
    from kb.web.auth import WebUser

    user = current_app.config["KB_ACCOUNTS"].get(name)
    if user is None or not user.is_staff:
        return jsonify(WebError(403, f"на индексаторе нет учётной записи сотрудника «{name[:64]}»: создайте её "
                                     "там тем же именем (или используйте общую базу учётных записей)",
                                "no such staff account on the indexer").to_json()), 403
    current_app.login_manager._update_request_context_with_user(WebUser(user))
    gen = store.current(current_app.config["KB_INDEX"])

    @after_this_request
    def say_generation(resp):
        # What the indexer publishes now: a follower says "indexed" only once it serves that too.
        if gen is not None:
            resp.headers[GENERATION] = gen.name
        return resp

    g.kb_token_user = True          # not a browser's cookie: no CSRF form token to check
    client = request.headers.get(cluster.CLIENT, "")
    try:
        request.remote_addr = str(ipaddress.ip_address(client))
    except ValueError:
        pass
    return None


# --- on a follower: writes go to the indexer ---------------------------------------------------

def forward_writes():
    """After the session checks: uploads, their statuses and deletions made on a follower go to
    the indexer as the signed-in person; an original file not held here is fetched from it."""
    url = current_app.config.get("KB_FOLLOW")
    if not url or request.endpoint is None:
        return None
    if request.endpoint == "files.original":
        return _original(url)
    if request.endpoint not in WRITES and request.endpoint not in ("upload.form", "upload.trash",
                                                                    "upload.trash_empty"):
        return None
    from kb.web.auth import refusal

    # The indexer's address is said to staff only: an anonymous visitor gets the sign-in first.
    if (refused := refusal("admin" if request.endpoint.startswith("upload.trash") else "staff")) is not None:
        return refused
    if request.endpoint.startswith("upload.trash"):
        return _page_error(409, f"Корзина хранится на сервере-индексаторе: откройте её там ({url}/admin/trash).",
                           "the trash is on the indexer")
    if (refused := refusal("staff")) is not None:
        return refused
    if request.endpoint == "upload.form":
        return _form(None)
    try:
        if request.endpoint == "upload.status":
            status, body, headers = _send(url, "GET", "/upload/status",
                                          params=[("path", p) for p in request.args.getlist("path")])
            return jsonify(_not_here_yet(body, headers.get(GENERATION, ""))), status
        if request.endpoint == "upload.receive":
            data = [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]
            files = [("files", (f.filename, f.stream, f.mimetype or "application/octet-stream"))
                     for f in request.files.getlist("files") if f and f.filename]
            status, body, _ = _send(url, "POST", "/upload", data=data, files=files)
            results = body.get("files") if isinstance(body.get("files"), list) else []
            if wants_json():
                return jsonify(body), status
            return _form(results, status)
        # upload.delete
        doc_id = request.view_args.get("doc_id", "")
        status, body, headers = _send(url, "POST", f"/doc/{doc_id}/delete",
                                      data={"confirm": request.form.get("confirm", "")})
        if status in (301, 302, 303):
            from urllib.parse import parse_qs, urlsplit

            deleted = parse_qs(urlsplit(headers.get("Location", "")).query).get("deleted", [""])[0]
            return redirect(url_for("upload.form", deleted=deleted))
        err = body.get("error", {}) if isinstance(body, dict) else {}
        return _page_error(status, err.get("message_ru") or "Индексатор не удалил документ.", "not deleted")
    except KbError as e:
        if wants_json():
            return jsonify(WebError(502, str(e), "indexer unreachable").to_json()), 502
        if request.endpoint == "upload.receive":
            return _form([{"name": "", "status": "failed", "reason": str(e)}], 502)
        return _page_error(502, str(e), "indexer unreachable")


def _not_here_yet(body: dict, theirs: str) -> dict:
    """An upload the indexer has indexed (or a deletion done) is "copying" until this node
    serves the indexer's generation of that moment."""
    ours = store.current(current_app.config["KB_INDEX"])
    behind = bool(theirs[1:].isdigit() and theirs.startswith("g")) and (
        ours is None or int(ours.name[1:]) < int(theirs[1:]))
    files = body.get("files")
    if behind and isinstance(files, dict):
        for s in files.values():
            if isinstance(s, dict) and s.get("status") in ("indexed", "removed"):
                s["status"] = "copying"
    return body


def _send(url: str, method: str, path: str, **kw):
    status, body, headers = cluster.forward(url, method, path, on_behalf=current_user.name,
                                            client=request.remote_addr, **kw)
    return status, body, headers


def _page_error(status: int, ru: str, en: str):
    err = WebError(status, ru, en)
    if wants_json():
        return jsonify(err.to_json()), status
    return render_template("error.html", error=err, q=""), status


def _folders() -> list[str]:
    """The corpus's folders as the index knows them (a follower holds no corpus)."""
    from kb.search import catalog

    out: set[str] = set()
    for info in catalog(current_app.config["KB_INDEX"]).all():
        folder = (info.file or info.path).rpartition("/")[0]
        parts = folder.split("/") if folder else []
        out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(out)[:200]


def _form(results, status: int = 200):
    from kb.enrich.doctype import TYPES as DOC_TYPES
    from kb.uploads import ACCEPTED, MAX_UPLOAD_MB

    return render_template("upload.html", folders=_folders(), accepted=ACCEPTED, max_mb=MAX_UPLOAD_MB,
                           doc_types=DOC_TYPES, results=results), status


def _original(url: str):
    """The original file: from this node's corpus when it has one, else from the indexer, asked
    as the signed-in person (or anonymously), so the indexer's own access check decides."""
    from kb.web.files import original_path

    if original_path(request.view_args.get("doc_id", "")) is not None:
        return None
    import requests

    headers = {}
    key = current_app.config.get("KB_CLUSTER_KEY")
    if current_user.is_authenticated and key:
        headers = {cluster.HEADER: key, cluster.ON_BEHALF: current_user.name, cluster.CLIENT: request.remote_addr or ""}
    http = requests.Session()
    http.trust_env = False          # no proxy of the environment between the nodes
    try:
        r = http.get(f"{url}{request.path}", headers=headers, stream=True, timeout=cluster.TIMEOUT,
                     allow_redirects=False)
    except requests.RequestException:
        return _page_error(502, "Исходный файл хранится на сервере-индексаторе, а он сейчас недоступен; "
                                "попробуйте позже.", "indexer unreachable")
    if r.status_code != 200:
        r.close()
        http.close()
        abort(404 if r.status_code in (403, 404) else 502)
    keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "content-disposition",
                                                                 "content-length", "content-security-policy")}
    resp = Response(r.iter_content(1 << 16), status=200, headers=keep)
    resp.call_on_close(r.close)
    resp.call_on_close(http.close)
    return resp

