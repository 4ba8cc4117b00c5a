"""From a segmented, enriched document to the records the index stores."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kb.enrich.consultation import describe_consultation, segment_consultation
from kb.enrich.describe import describe
from kb.extract import Document
from kb.segment import Segmented


def doc_id_for(rel: str) -> str:
    """A stable id from the path inside the corpus (URLs carry ids, never paths)."""
    # surrogateescape: a name that is not UTF-8 (kb.names) keeps its own bytes, and its id.
    return hashlib.sha1(rel.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def enrich_document(doc: Document, rel: str, corpus: Path, seg: Segmented) -> dict:
    """Title, type, year and knowledge-base metadata of a document (kb.enrich)."""
    info = describe(doc, rel, corpus, seg)
    info.setdefault("meta", {})
    info["meta"]["outline"] = [
        {"level": o.level, "label": o.label, "ordinal": o.ordinal, "article": o.article}
        for o in seg.outline
    ]
    return info


def consultation_records(rel: str, records):
    """(doc_id, info, segmented) for each consultation record of a file."""
    for rec in records:
        seg = segment_consultation(rec)
        yield doc_id_for(f"{rel}#{rec.id}"), describe_consultation(rec, seg), seg


def passage_records(doc_id: str, rel: str, doc: Document, seg: Segmented, info: dict):
    cites = info.get("passage_cites", {})
    for p in seg.passages:
        rec = {
            "pid": f"{doc_id}:{p.ordinal}",
            "doc_id": doc_id,
            "ordinal": p.ordinal,
            "path": rel,
            # The title field is what a passage is named by: its document's title and its own
            # heading (`Статья 169. Взносы на капитальный ремонт`), as in the benchmarks the
            # ranking was tuned on (docs/ranking.md). Results show the catalog's title.
            "title": f"{info['title']}\n{p.heading}" if p.heading and p.heading != info["title"] else info["title"],
            "heading": p.heading,
            "body": p.text,
            "exact": p.text,
            "doc_type": info["doc_type"],
            "page": p.page,
            "page_end": p.page_end,
        }
        if info.get("year"):
            rec["year"] = str(info["year"])
        if p.article:
            rec["article"] = p.article
        keys = cites.get(p.ordinal)
        if keys:
            rec["cites"] = ",".join(sorted(keys))
        yield rec
