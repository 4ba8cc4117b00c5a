"""Requisite queries: `ст. 91.12 ЖК РФ`, `ч. 8 ст. 161.1 ЖК РФ`, `84 статья ЖК РФ`,
`статья 80 Трудового кодекса КР`, `ГК КР 221 статья`: the article of that act first.

A query is written more loosely than a text: article after the number, no space after
`ст.`, capitals, lowercase abbreviations. It is put in the form kb.enrich's citation finder
reads, then each cited article is looked up in every document that may be the act (its
copies, the parts of a code: only the part that has the article answers).
"""

from __future__ import annotations

import re

from kb.enrich import Citation, find_citations
from kb.enrich.citations import ABBREVIATIONS

__all__ = ["query_citations", "article_targets"]

_ABBRS = {a.lower(): a for a in ABBREVIATIONS} | {"рф": "РФ", "кр": "КР", "рк": "РК", "коап": "КоАП", "коп": "КоП"}
_WORD = re.compile(r"(?<![\w-])([А-Яа-яЁё]+)(?![\w-])")
_GLUED = re.compile(r"(?i)(?<!\w)(ст\.?|статья|статьи|статье|статью|ч\.?|п\.?)(?=\d)")
_NUMBER_FIRST = re.compile(r"(?i)(?P<pre>(?:^|\s)(?P<prev>[\w.]+)\s+|^)(?P<num>\d+(?:\.\d+)*)\s+(?:стать[яиюе]|ст\.?)(?!\w)")
_PART_WORDS = {"ч", "ч.", "часть", "части", "п", "п.", "пункт", "пункта", "пп", "пп."}


def normalize_query(query: str) -> str:
    """The query in the shape of a citation in running text."""
    def word(m: re.Match) -> str:
        w = m.group(1)
        if w.lower() in _ABBRS and (w.islower() or w.isupper()):
            return _ABBRS[w.lower()]
        if w.lower().startswith("конституци"):
            return w.capitalize()          # the citation finder knows the Constitution by its capital
        return w.lower() if len(w) > 3 and w.isupper() else w

    q = _WORD.sub(word, query)
    q = _GLUED.sub(lambda m: m.group(1) + " ", q)

    def swap(m: re.Match) -> str:
        if (m.group("prev") or "").lower() in _PART_WORDS:
            return m.group(0)
        return f"{m.group('pre')}статья {m.group('num')}"

    return _NUMBER_FIRST.sub(swap, q)


def query_citations(query: str) -> list[Citation]:
    """Citations of acts with articles named in a query."""
    return [c for c in find_citations(normalize_query(query)) if c.articles]


def article_targets(graph, citation: Citation) -> list[tuple[str, str, int]]:
    """(doc_id, article, passage) of each document of the collection holding a cited article."""
    out = []
    docs = graph.acts_matching(citation)
    for a in citation.articles:
        for d in docs:
            ordinal = graph.article_ordinal(d, a)
            if ordinal is not None:
                out.append((d, a, ordinal))
    return out
