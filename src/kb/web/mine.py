"""A signed-in person's page: their saved searches (kb.search.saved), with the documents added
since their last visit. Thin: forms in, kb.search.saved out.

The searches are kept in INDEX/saved-searches.json, beside the index generations (not inside
one: a rebuild must not lose them), or in the shared PostgreSQL database of a cluster
(kb.state); `owner` is the account's id, so a renamed account keeps them.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kb.search.saved import FILTER_KEYS, SavedSearches, new_documents, store_for

bp = Blueprint("mine", __name__)
FILE = "saved-searches.json"


def _store() -> SavedSearches:
    return store_for(current_app.config["KB_INDEX"], FILE)


def _owner() -> str:
    return current_user.get_id()


def _own(search_id: str):
    s = _store().get(search_id) if search_id.isalnum() else None
    if s is None or s.owner != _owner():
        abort(404)
    return s


@bp.get("/me")
@login_required
def page():
    rows = []
    for s in _store().list(_owner()):
        count, docs = new_documents(current_app.config["KB_INDEX"], s, limit=5)
        rows.append((s, count, docs))
    return render_template("mine.html", rows=rows)


@bp.post("/me/searches")
@login_required
def save():
    filters = {k: [v for v in request.form.getlist(k) if v][:20] for k in FILTER_KEYS}
    sort = request.form.get("sort", "relevance")
    _store().add(_owner(), request.form.get("q", "")[:500], filters,
                 sort if sort in ("relevance", "date") else "relevance")
    return redirect(url_for("mine.page"))


@bp.get("/me/searches/<search_id>")
@login_required
def open_search(search_id: str):
    s = _own(search_id)
    _store().visit(s.id)
    args = {"q": s.query, **s.filters}
    if s.sort != "relevance":
        args["sort"] = s.sort
    return redirect(url_for("views.results", **args))


@bp.post("/me/searches/<search_id>/delete")
@login_required
def delete(search_id: str):
    _store().remove(_own(search_id).id)
    return redirect(url_for("mine.page"))
