"""The HTML pages: home, results, document, browse. Each view validates, calls kb.search, renders."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from kb.search import (PART_PASSAGES, Filters, catalog, document, document_facets, documents, empty_result,
                       index_notice, matches_in, part_of, search)
from kb.index.access import restricted, staff_ids
from kb.search.consult import consult as consult_story
from kb.search.fill import coverage_line
from kb.search.reading import locate, locate_point
from kb.search.similar import similar, text_language
from kb.search.results import split_message
from kb.web import params
from kb.web.errors import NotFoundHere

bp = Blueprint("views", __name__)

PER_PAGE = 10
_DOC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def valid_doc_id(doc_id: str) -> bool:
    return bool(_DOC_ID.match(doc_id))


def type_label(doc_type: str) -> str:
    return (doc_type[:1].upper() + doc_type[1:]) if doc_type else "Без типа"


def format_size(n: int) -> str:
    for unit in ("байт", "КБ", "МБ"):
        if n < 1024 or unit == "МБ":
            return f"{n:.0f} {unit}" if unit == "байт" else f"{n:.1f} {unit}".replace(".", ",")
        n /= 1024
    return str(n)


def _index():
    return current_app.config["KB_INDEX"]


def notice() -> str | None:
    """Why there is nothing to search yet (no index, or no documents in it), else None."""
    # The corpus folder is named to staff only: no server path in an anonymous answer.
    return index_notice(_index(), None if restricted() else current_app.config["KB_CORPUS"])


def notice_ru(msg: str | None) -> str:
    """The Russian part of a kb message, as a sentence."""
    if not msg:
        return ""
    ru = split_message(msg)[0]
    return ru[:1].upper() + ru[1:]


def page_window(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers to show around the current one; None marks a gap (…)."""
    keep = {1, pages} | set(range(max(1, page - width), min(pages, page + width) + 1))
    out: list[int | None] = []
    for n in sorted(keep):
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


FACET_TOP = 5          # facet values shown before "ещё"
CHART_SPAN = 40        # years in a row shown with their empty years; a longer span shows only years found
CHART_STEP, CHART_HEIGHT, CHART_BAR = 28, 92, 56


def year_chart(values) -> dict | None:
    """Bars of the year chart from the `year` facet (FacetValue: value, count, selected): one a
    year, oldest first, empty years between kept when the span is short. None without years."""
    found = {int(v.value): v for v in values if v.value.isdigit()}
    if not found:
        return None
    lo, hi = min(found), max(found)
    years = range(lo, hi + 1) if hi - lo < CHART_SPAN else sorted(found)
    top = max(v.count for v in found.values()) or 1
    every = max(1, -(-len(years) // 14))        # a year label every Nth bar, so labels never overlap
    bars = []
    for i, y in enumerate(years):
        v = found.get(y)
        n = v.count if v else 0
        h = round(CHART_BAR * n / top) if n else 0
        bars.append({"year": str(y), "count": n, "selected": bool(v and v.selected), "x": i * CHART_STEP + 3,
                     "w": CHART_STEP - 6, "h": max(h, 2) if n else 0, "y": 14 + CHART_BAR - (max(h, 2) if n else 0),
                     "label": i % every == 0 or i == len(years) - 1 or bool(v and v.selected)})
    return {"bars": bars, "width": len(years) * CHART_STEP, "height": CHART_HEIGHT,
            "summary": ", ".join(f"{b['year']} — {b['count']}" for b in bars if b["count"])}


@bp.get("/")
def home():
    if msg := notice():
        return render_template("home.html", docs=[], types=[], years=[], passages=0, notice=msg)
    docs = documents(_index())
    facets = document_facets(_index())
    # Counted as `kb index` and `kb check` count (access.counts): the public is told how many
    # documents only staff see, staff how many of theirs are such.
    return render_template("home.html", docs=docs, types=facets["type"], years=facets["year"],
                           passages=sum(d.passages for d in docs), staff_only=len(staff_ids(_index())),
                           hidden=restricted())


@bp.get("/search")
def results():
    p = params.search_params(request.args)
    p.per_page = PER_PAGE   # the page size of the UI is fixed; the API takes per_page
    if not p.q:
        if p.types or p.years:
            return redirect(url_for("views.browse", type=p.types, year=p.years))
        return redirect(url_for("views.home"))
    if msg := notice():
        res = empty_result(p.q, msg, per_page=p.per_page)
        return render_template("results.html", res=res, p=p, window=[1])
    res = search(_index(), p.q, page=p.page, per_page=p.per_page,
                 filters=Filters(doc_type=p.types, year=p.years, cites=p.cites, category=p.categories,
                                 region=p.regions, lang=p.langs, since=p.since), sort=p.sort, exact=p.exact, copies=p.copies)
    if res.groups == [] and res.total_docs and p.page > res.pages:
        # A page past the end (an old bookmark): the last page is what the person wants.
        return redirect(url_for("views.results", **p.url_args(page=res.pages)))
    return render_template("results.html", res=res, p=p, window=page_window(res.page, res.pages),
                           meaning=coverage_line(res.meaning))


@bp.get("/doc/<doc_id>")
def doc(doc_id: str):
    q = params.query_text(request.args)
    part = params.integer(request.args, "part", 1, 1, 10**6)
    if not valid_doc_id(doc_id):
        abort(404)
    article, page = params.article(request.args), params.integer(request.args, "page", 0, 1, 10**6)
    point, table = request.args.get("pt", "")[:40], request.args.get("tb", "")[:40]
    if (point or table) and not article and not page:
        # A point or table of an act without articles (`?pt=1-40`, `?tb=2-9`): to the passage holding it now.
        found = locate_point(_index(), doc_id, point or table, table=not point)
        if found is None:
            if catalog(_index()).get(doc_id) is None:
                abort(404)
            what = ("пункта", "point") if point else ("таблицы", "table")
            raise NotFoundHere(f"В документе нет {what[0]} {(point or table).split('-', 1)[-1]}",
                               f"the document has no such {what[1]}")
        return redirect(passage_url(doc_id, found, q or None))
    if article or page:
        # A stable link (`?st=84`, `?page=12`): to the part that holds it now, at its anchor.
        found = locate(_index(), doc_id, article=article or None, page=page or None)
        if found is None:
            if catalog(_index()).get(doc_id) is None:
                abort(404)
            what = (f"статьи {article}", f"article {article}") if article else (f"страницы {page}", f"page {page}")
            raise NotFoundHere(f"В документе нет {what[0]}", f"the document has no {what[1]}")
        anchor = f"st-{article}" if article else f"page-{page}"
        return redirect(url_for("views.doc", doc_id=doc_id, q=q or None, part=found if found > 1 else None)
                        + f"#{anchor}")
    view = document(_index(), doc_id, q or None, offset=(part - 1) * PART_PASSAGES, pages=True)
    if view is None:
        abort(404)
    if part > view.parts:
        # An old link into a document that has since become shorter: its last part.
        return redirect(url_for("views.doc", doc_id=doc_id, q=q or None, part=view.parts))
    matches = matches_in(_index(), doc_id, q) if q else None
    return render_template("document.html", view=view, info=view.info, q=q, matches=matches,
                           parts=page_window(view.part, view.parts),
                           is_pdf=view.info.format == "pdf", similar=similar(_index(), doc_id),
                           consult=view.info.meta.get("consultation"),
                           similar_consult=similar(_index(), doc_id, doc_type=CONSULTATION)
                           if view.info.doc_type == CONSULTATION else [])


def passage_url(doc_id: str, ordinal: int, q: str | None = None, here: tuple | None = None) -> str:
    """A link to passage `ordinal`: just its anchor when it is on the page shown (`here` =
    (doc_id, part)), else the document's part that holds it."""
    return _part_url(doc_id, part_of(ordinal or 0), f"p-{ordinal or 0}", q, here)


def stable_url(doc_id: str, anchor: str | None, ordinal: int = 0, external: bool = False) -> str:
    """A link to a passage that survives re-indexing: `/doc/<id>?st=84`, `?page=12`, `?pt=1-40`,
    `?tb=2-9` (the server finds the part); without a stable anchor, the passage's part and `#p-N`."""
    kind, _, value = (anchor or "").partition("-")
    if kind == "st":
        return url_for("views.doc", doc_id=doc_id, st=value, _external=external)
    if kind == "page":
        return url_for("views.doc", doc_id=doc_id, page=value, _external=external)
    if kind in ("pt", "tb"):
        return url_for("views.doc", doc_id=doc_id, **{kind: value}, _external=external)
    part = part_of(ordinal or 0)
    return url_for("views.doc", doc_id=doc_id, part=part if part > 1 else None, _external=external) + f"#p-{ordinal or 0}"


def page_url(doc_id: str, page: int, part: int, q: str | None = None, here: tuple | None = None) -> str:
    return _part_url(doc_id, part, f"page-{page}", q, here)


def _part_url(doc_id: str, part: int, anchor: str, q: str | None, here: tuple | None) -> str:
    if here == (doc_id, part):
        return f"#{anchor}"
    return url_for("views.doc", doc_id=doc_id, q=q or None, part=part if part > 1 else None) + f"#{anchor}"


CONSULTATION = "консультация"


@bp.get("/consult")
def consult():
    text = params.long_text(request.args, "text")
    msg = notice()
    found = consult_story(_index(), text) if text and not msg else None
    lang = text_language(_index(), text) if found and (found.found or found.articles) else None
    return render_template("consult.html", text=text, c=found, notice=msg, lang=lang)


@bp.get("/docs")
def browse():
    p = params.browse_params(request.args)
    chosen = dict(doc_type=p.types, year=p.years, category=p.categories, region=p.regions)
    if msg := notice():
        return render_template("browse.html", docs=[], p=p, types=[], years=[], categories=[], regions=[],
                               total=0, notice=msg)
    docs = documents(_index(), sort=p.sort, **chosen)
    facets = document_facets(_index(), **chosen)
    return render_template("browse.html", docs=docs, p=p, types=facets["type"], years=facets["year"],
                           categories=facets["category"], regions=facets["region"],
                           total=len(catalog(_index()).all()))
