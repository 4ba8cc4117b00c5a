"""The whoosh schema of a passage, and its version (a change forces a full rebuild)."""

from __future__ import annotations

from whoosh import fields

from kb.analysis import ANALYZER_VERSION
from kb.index._analyzers import LemmaAnalyzer, SurfaceAnalyzer

SCHEMA_VERSION = "10"  # bump when fields, segmentation, enrichment or extraction output change (10: legal-database boilerplate removed)


def version() -> str:
    return f"schema {SCHEMA_VERSION}, analyzer {ANALYZER_VERSION}"


def make_schema() -> fields.Schema:
    lemma, surface = LemmaAnalyzer(), SurfaceAnalyzer()
    return fields.Schema(
        pid=fields.ID(stored=True, unique=True),
        doc_id=fields.ID(stored=True, sortable=True),   # a column: grouping by document is cheap
        ordinal=fields.STORED(),
        path=fields.ID(stored=True),
        title=fields.TEXT(analyzer=lemma, stored=True, phrase=True),
        heading=fields.STORED(),          # shown with the passage; its words are in the body
        body=fields.TEXT(analyzer=lemma, stored=True, phrase=True),
        exact=fields.TEXT(analyzer=surface, phrase=True, spelling=True),
        doc_type=fields.ID(stored=True),
        year=fields.ID(stored=True),
        article=fields.ID(stored=True),
        page=fields.STORED(),
        page_end=fields.STORED(),
        cites=fields.KEYWORD(commas=True, stored=True, lowercase=False),
    )
