"""The original files, served by document id only: the path comes from the index, never the URL."""

from __future__ import annotations

import mimetypes
import os
import re
import unicodedata
import zlib
from pathlib import Path
from urllib.parse import quote

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
    path = (corpus / (info.file or info.path)).resolve()
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
    shown, ascii_name = download_names(path.name)
    # Werkzeug's send_file builds Content-Disposition from download_name and fails (a 500) on
    # a newline or on bytes that are not UTF-8: it gets the ASCII name, the header is ours.
    # Its ETag encodes the path as UTF-8, which fails on a name with bytes that are not UTF-8.
    # Its Cache-Control (max_age=0: no-cache) is replaced by app.py's private, no-store: a staff
    # file must not stay in a shared computer's browser cache.
    st = path.stat()
    etag = f"{st.st_mtime}-{st.st_size}-{zlib.adler32(os.fsencode(path)) & 0xFFFFFFFF}"
    resp = send_file(path, mimetype=mime.split(";")[0], as_attachment=ext not in _INLINE, download_name=ascii_name,
                     conditional=True, max_age=0, etag=etag)
    names = {"filename": ascii_name}
    if shown != ascii_name:
        names["filename*"] = "UTF-8''" + quote(shown, safe="!#$&+-.^_`|~")   # RFC 5987 attr-chars
    resp.headers.set("Content-Disposition", "attachment" if ext not in _INLINE else "inline", **names)
    resp.headers["Content-Type"] = mime   # werkzeug appends its own utf-8 to any text/ type
    # A corpus HTML file may carry scripts: the sandbox keeps them away from kb's origin.
    resp.headers["Content-Security-Policy"] = "sandbox"
    return resp


def download_names(name: str) -> tuple[str, str]:
    """(the name to show, an ASCII fallback) for Content-Disposition (RFC 6266).

    The shown name keeps Cyrillic and punctuation; control characters (a newline) and bytes
    that are not UTF-8 (kept by Python as surrogates) become "_". The fallback, for old
    clients, has only letters, digits and `._-()` and spaces, never quotes or backslashes.
    """
    raw = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    shown = "".join(_shown_char(c) for c in raw).strip() or "document"
    stem, dot, ext = shown.rpartition(".") if "." in shown.strip(".") else (shown, "", "")

    def ascii_only(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9._() -]", "_", text)).strip(" ._")

    fallback_stem, fallback_ext = ascii_only(stem), ascii_only(ext)
    if not re.search(r"[A-Za-z0-9]", fallback_stem):
        fallback_stem = "document"
    return shown, fallback_stem + (dot + fallback_ext if fallback_ext else "")


def _shown_char(c: str) -> str:
    cat = unicodedata.category(c)
    if c == "\ufffd" or cat[0] == "C" or cat in ("Zl", "Zp"):
        return "_"
    return " " if cat == "Zs" else c


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes()[:1_000_000].decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        return e.start > 999_990   # cut inside a multi-byte character at the limit
