"""One call that gives the index what enrich knows about a document."""

from __future__ import annotations

from pathlib import Path

from kb.enrich.citations import find_citations, infer_jurisdiction
from kb.enrich.doctype import classify
from kb.enrich.requisites import act_requisites, document_year
from kb.enrich.sidecar import SidecarError, read_sidecar
from kb.enrich.title import choose_title, file_words, organisations
from kb.extract import Document
from kb.segment import Segmented


def describe(doc: Document, rel: str, corpus: Path, seg: Segmented | None = None) -> dict:
    """title, doc_type, year, meta (requisites, citations, sidecar) and citations by passage."""
    text = doc.text
    doubt = None
    try:
        side = read_sidecar(doc.path)
    except SidecarError as e:
        # Kept with the sidecar's path inside the collection, never the server's own path: the
        # reason is shown to staff and admins, the document is hidden from everyone else.
        side, doubt = {}, f"{Path(rel).parent.joinpath(Path(e.path).name).as_posix()}: {e.reason}"
    title = (side.get("title") or doc.title or Path(rel).stem).strip()
    doc_type = classify(title, text, rel, sidecar=side)
    meta: dict = {}
    if side:
        meta["sidecar"] = {k: v for k, v in side.items() if v not in (None, "", [], {})}
    if doubt:
        meta["access_error"] = doubt      # kb.index.access: staff-only until the sidecar reads
    if doc_type == "нормативный акт":
        req = act_requisites(title, text)
        meta["requisites"] = {k: v for k, v in req.items() if v}
    year = None
    if side.get("date"):
        year = int(str(side["date"])[:4])
    year = year or document_year(title, text, doc.dates)
    # Else the year its file name gives (`annual-report-2019.pdf`).
    year = year or document_year(" ".join(file_words(rel)), "", None)
    title = choose_title(doc.title, doc.title_source, text, rel, sidecar_title=side.get("title") or "",
                         doc_type=doc_type, year=year)
    orgs = organisations(text)
    if side.get("organisation"):
        orgs = [str(side["organisation"])] + [o for o in orgs if o != side["organisation"]]
    if orgs:
        meta["organisations"] = orgs

    # Citations, found passage by passage so a result can say which passage cites what.
    juris = infer_jurisdiction(text)
    own_key = meta.get("requisites", {}).get("act_key")
    by_passage: dict[int, set[str]] = {}
    cited: dict[str, dict] = {}
    for p in (seg.passages if seg else []):
        keys = set()
        for c in find_citations(p.text, default_jurisdiction=juris):
            if not c.act_key or c.act_key == own_key:
                continue
            keys.add(c.act_key)
            entry = cited.setdefault(c.act_key, {"act_key": c.act_key, "kind": c.kind, "name": c.name,
                                                 "number": c.number, "date": c.date,
                                                 "jurisdiction": c.jurisdiction, "articles": set(),
                                                 "passages": set()})
            entry["articles"].update(c.articles)
            entry["passages"].add(p.ordinal)
        if keys:
            by_passage[p.ordinal] = keys
    meta["citations"] = [
        {**v, "articles": sorted(v["articles"], key=_article_order), "passages": sorted(v["passages"])}
        for v in sorted(cited.values(), key=lambda v: -len(v["passages"]))
    ]
    return {"title": title, "doc_type": doc_type, "year": year, "meta": meta, "passage_cites": by_passage}


def _article_order(a: str):
    head = a.split("-")[0].split(".")[0]
    return (int(head) if head.isdigit() else 10**9, a)
