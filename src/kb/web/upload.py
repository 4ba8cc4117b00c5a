"""Staff add, replace and delete documents from the browser; admins empty the trash.

Thin: the rules of names, folders and formats are kb.uploads'; indexing runs in the
background (kb.web.jobs) and the page asks for each file's status until it is searchable.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from kb.audit import record
from kb.enrich.doctype import TYPES as DOC_TYPES
from kb.names import readable
from kb.search import catalog
from kb.uploads import ACCEPTED, MAX_UPLOAD_MB, Exists, UploadError, empty_trash, place, to_trash, trash_files
from kb.web.auth import refusal
from kb.web.errors import WebError, wants_json
from kb.web.jobs import Indexing
from kb.web.views import valid_doc_id

bp = Blueprint("upload", __name__)
MAX_FILES = 50
MAX_FILES_BODY = 4     # one request carries at most this many files' worth of the size limit


def _jobs() -> Indexing:
    jobs = current_app.extensions.get("kb_indexing")
    if jobs is None:
        jobs = current_app.extensions["kb_indexing"] = Indexing(
            current_app.config["KB_CORPUS"], current_app.config["KB_INDEX"],
            run_here=current_app.config.get("KB_JOBS_HERE", True))
    return jobs


def trash_dir() -> Path:
    return Path(current_app.config["KB_INDEX"]) / "trash"


def _folders() -> list[str]:
    corpus = Path(current_app.config["KB_CORPUS"])
    out = []
    for p in sorted(corpus.rglob("*")):
        rel = p.relative_to(corpus)
        # Folders whose names are not UTF-8 cannot be chosen in a form: not offered.
        if p.is_dir() and not p.is_symlink() and not any(part.startswith(".") for part in rel.parts) \
                and str(rel) == readable(str(rel)):
            out.append(str(rel))
        if len(out) >= 200:
            break
    return out


def allow_large_body():
    """A larger body than the 64 KB of other routes, for the upload route only; registered
    before CSRF protection, which reads the form."""
    if request.endpoint == "upload.receive":
        request.max_content_length = (MAX_UPLOAD_MB * MAX_FILES_BODY + 1) * 1024 * 1024


@bp.get("/upload")
def form():
    if (refused := refusal("staff")) is not None:
        return refused
    return render_template("upload.html", folders=_folders(), accepted=ACCEPTED, max_mb=MAX_UPLOAD_MB,
                           doc_types=DOC_TYPES, results=None)


@bp.post("/upload")
def receive():
    if (refused := refusal("staff")) is not None:
        return refused
    files = [f for f in request.files.getlist("files") if f and f.filename][:MAX_FILES]
    # Replacing a document names it by id: its path comes from the index, never from the form.
    replace_doc = (request.form.get("replace_doc") or "").strip()
    info = catalog(current_app.config["KB_INDEX"]).get(replace_doc) if valid_doc_id(replace_doc) else None
    if replace_doc and info is None:
        abort(404)
    replace_path = (info.file or info.path) if info else ""
    folder = request.form.get("folder_new", "").strip() or request.form.get("folder", "").strip()
    replace = request.form.get("replace") == "1" or bool(replace_path)
    side = {"access": request.form.get("access") if request.form.get("access") in ("public", "staff") else "",
            "title": request.form.get("title", "").strip()[:300],
            "type": request.form.get("type") if request.form.get("type") in DOC_TYPES else "",
            "date": request.form.get("date", "").strip()[:10]}
    if side["date"] and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", side["date"]):
        side["date"] = ""
    results, placed = [], []
    corpus = Path(current_app.config["KB_CORPUS"])
    if not files:
        results.append({"name": "", "status": "failed", "reason": "не выбран ни один файл"})
    if replace_path and request.form.get("confirm") != "1":
        files = []
        results.append({"name": "", "status": "failed", "reason": "подтвердите замену: отметьте «Да, заменить»"})
    for f in files:
        name = f.filename
        target_folder = folder
        if replace_path:
            target_folder, _, name = replace_path.rpartition("/")
            name = name or replace_path
        try:
            data = f.read(MAX_UPLOAD_MB * 1024 * 1024 + 1)
            done = place(corpus, target_folder, name, data, replace=replace, sidecar=side, trash=trash_dir())
        except Exists as e:
            results.append({"name": f.filename, "status": "exists", "reason": str(e)})
            continue
        except UploadError as e:
            results.append({"name": f.filename, "status": "failed", "reason": str(e)})
            continue
        # Shown, reported and tracked by its readable name (kb index reports it so).
        rel = readable(done.path)
        placed.append(rel)
        results.append({"name": f.filename, "path": rel, "status": "queued"})
        record(current_app.config["KB_INDEX"], "replace" if done.replaced else "upload", actor=current_user.name,
               address=request.remote_addr, target=rel, detail=side["access"] or None)
    if placed:
        _jobs().request(placed)
    status = 200 if placed else 400
    if wants_json():
        return jsonify({"files": results}), status
    return render_template("upload.html", folders=_folders(), accepted=ACCEPTED, max_mb=MAX_UPLOAD_MB,
                           doc_types=DOC_TYPES, results=results), status


@bp.get("/upload/status")
def status():
    if (refused := refusal("staff")) is not None:
        return refused
    paths = request.args.getlist("path")[:MAX_FILES]
    return jsonify({"files": _jobs().status(paths)})


@bp.post("/doc/<doc_id>/delete")
def delete(doc_id: str):
    if (refused := refusal("staff")) is not None:
        return refused
    info = catalog(current_app.config["KB_INDEX"]).get(doc_id) if valid_doc_id(doc_id) else None
    if info is None:
        abort(404)
    if request.form.get("confirm") != "1":
        return render_template("error.html", error=WebError(400, "Подтвердите удаление: отметьте «Да, удалить».",
                                                              "confirmation required"),
                               q=""), 400
    rel = info.file or info.path
    try:
        to_trash(current_app.config["KB_CORPUS"], trash_dir(), rel)
    except UploadError as e:
        return render_template("error.html", error=WebError(400, str(e), "cannot delete"), q=""), 400
    shown = readable(rel)
    record(current_app.config["KB_INDEX"], "delete", actor=current_user.name, address=request.remote_addr,
           target=shown)
    _jobs().request([shown])
    return redirect(url_for("upload.form", deleted=shown))


@bp.get("/admin/trash")
def trash():
    if (refused := refusal("admin")) is not None:
        return refused
    files = [readable(str(p.relative_to(trash_dir()))) for p in trash_files(trash_dir())]
    return render_template("trash.html", files=files)


@bp.post("/admin/trash/empty")
def trash_empty():
    if (refused := refusal("admin")) is not None:
        return refused
    n = empty_trash(trash_dir())
    record(current_app.config["KB_INDEX"], "trash.empty", actor=current_user.name, address=request.remote_addr,
           detail=str(n))
    return redirect(url_for("upload.trash"))

