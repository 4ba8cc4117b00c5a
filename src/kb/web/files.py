"""The original files, served by document id only: the path comes from the index, never the URL."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file

from kb.search import catalog
from kb.web.views import valid_doc_id

bp = Blueprint("files", __name__)

_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".rtf": "application/rtf",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
}
# Shown in the browser; anything else (DOCX, DOC, RTF) downloads.
_INLINE = {".pdf", ".txt", ".html", ".htm"}


def original_path(doc_id: str) -> Path | None:
    """corpus/<path> of an indexed document, if it still exists inside the corpus folder."""
    if not valid_doc_id(doc_id):
        return None
    info = catalog(current_app.config["KB_INDEX"]).get(doc_id)
    if info is None:
        return None
    corpus = current_app.config["KB_CORPUS"].resolve()
    path = (corpus / info.path).resolve()
    # The manifest is trusted, but a symlink or an edited manifest must not leave the corpus.
    if not path.is_relative_to(corpus) or not path.is_file():
        return None
    return path


@bp.get("/file/<doc_id>")
def original(doc_id: str):
    path = original_path(doc_id)
    if path is None:
        abort(404)
    ext = path.suffix.lower()
    mime = _TYPES.get(ext) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mime.startswith("text/"):
        # Werkzeug would claim utf-8 for any text; non-UTF-8 Russian files are nearly always cp1251.
        mime += "; charset=utf-8" if _is_utf8(path) else "; charset=windows-1251"
    resp = send_file(path, mimetype=mime.split(";")[0], as_attachment=ext not in _INLINE, download_name=path.name,
                     conditional=True, max_age=0)
    resp.headers["Content-Type"] = mime   # werkzeug appends its own utf-8 to any text/ type
    # A corpus HTML file may carry scripts: the sandbox keeps them away from kb's origin.
    resp.headers["Content-Security-Policy"] = "sandbox"
    return resp


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes()[:1_000_000].decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        return e.start > 999_990   # cut inside a multi-byte character at the limit
