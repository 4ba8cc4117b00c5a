"""Enrichment of extracted documents: type, requisites of acts, year, citations, lexicon.

Pure functions over text; no index, no web. Public face:
`classify`, `read_sidecar`, `act_requisites`, `document_year`, `find_citations`,
`resolve`, `Citation`, `load_lexicon`, `Lexicon`, `load_glossary`, `Glossary`.
"""

from kb.enrich.citations import Citation, find_citations, resolve
from kb.enrich.doctype import TYPES, classify
from kb.enrich.glossary import Glossary, load_glossary
from kb.enrich.lexicon import Lexicon, LexiconError, load_lexicon
from kb.enrich.requisites import act_requisites, document_year
from kb.enrich.sidecar import SidecarError, read_sidecar

__all__ = [
    "TYPES", "classify", "read_sidecar", "SidecarError", "act_requisites", "document_year",
    "Citation", "find_citations", "resolve", "Lexicon", "LexiconError", "load_lexicon",
    "Glossary", "load_glossary",
]
