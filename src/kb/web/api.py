"""The JSON API: the same data as the pages, for scripts. Errors are JSON too (see app.py)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from kb.search import Filters, catalog, document, documents, empty_result, search
from kb.search.reading import DEFAULT_LIMIT, MAX_LIMIT
from kb.search.results import notice_json
from kb.search.consult import consult
from kb.search.similar import similar
from kb.web import params
from kb.web.views import notice, valid_doc_id

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def api_search():
    p = params.search_params(request.args)
    if not p.q:
        raise params.ParamError("пустой запрос: укажите параметр q", "empty query: give the q parameter")
    if msg := notice():
        return empty_result(p.q, msg, per_page=p.per_page, sort=p.sort).to_json()
    res = search(current_app.config["KB_INDEX"], p.q, page=p.page, per_page=p.per_page,
                 filters=Filters(doc_type=p.types, year=p.years, cites=p.cites, category=p.categories,
                                 region=p.regions, lang=p.langs, since=p.since), sort=p.sort, exact=p.exact, copies=p.copies)
    return res.to_json()


DOCS_LIMIT, DOCS_MAX = 100, 1000


@bp.get("/documents")
def api_documents():
    p = params.browse_params(request.args)
    offset = params.integer(request.args, "offset", 0, 0, 10**9)
    limit = params.integer(request.args, "limit", DOCS_LIMIT, 1, DOCS_MAX)
    if msg := notice():
        return {"total": 0, "offset": offset, "limit": limit, "next_offset": None, "documents": [],
                "notice": notice_json(msg)}
    docs = documents(current_app.config["KB_INDEX"], doc_type=p.types, year=p.years, category=p.categories,
                     region=p.regions, sort=p.sort)
    end = offset + limit
    return {"total": len(docs), "offset": offset, "limit": limit, "next_offset": end if end < len(docs) else None,
            "documents": [d.to_json() for d in docs[offset:end]], "notice": None}


@bp.get("/openapi.json")
def api_openapi():
    """The API described for tools (OpenAPI 3.1), from kb.web.openapi."""
    from kb.web.openapi import spec

    return spec(request.url_root)


@bp.get("/documents/<doc_id>")
def api_document(doc_id: str):
    q = params.query_text(request.args)
    offset = params.integer(request.args, "offset", 0, 0, 10**9)
    limit = params.integer(request.args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if not valid_doc_id(doc_id):
        abort(404)
    view = document(current_app.config["KB_INDEX"], doc_id, q or None, offset=offset, limit=limit)
    if view is None:
        abort(404)
    return view.to_json()


@bp.get("/documents/<doc_id>/similar")
def api_similar(doc_id: str):
    if not valid_doc_id(doc_id):
        abort(404)
    index = current_app.config["KB_INDEX"]
    if catalog(index).get(doc_id) is None:
        abort(404)
    limit = params.integer(request.args, "limit", 5, 1, 20)
    docs = similar(index, doc_id, limit=limit)
    return {"doc_id": doc_id, "similar": [d.to_json() for d in docs]}


@bp.get("/consult")
def api_consult():
    text = params.long_text(request.args, "text")
    if not text:
        raise params.ParamError("пустой текст: укажите параметр text", "empty text: give the text parameter")
    limit = params.integer(request.args, "limit", 5, 1, 20)
    if msg := notice():
        return {"consultations": [], "acts": [], "articles": [], "staff_records_hidden": False,
                "notice": notice_json(msg)}
    c = consult(current_app.config["KB_INDEX"], text, limit)
    return {"notice": None,
            "articles": [a.to_json() for a in c.articles],
            "staff_records_hidden": c.staff_hidden,
            "consultations": [{**f["doc"].to_json(), "consultation": f["consultation"],
                               "cites": [x.to_json() for x in f["cites"]]} for f in c.found],
            "acts": [{**a["act"].to_json(), "count": a["count"],
                      "articles": [art.to_json() for art in a["articles"].values()]} for a in c.acts]}
