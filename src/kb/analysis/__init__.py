"""kb.analysis: text -> tokens -> index terms. Pure Python, no search-engine imports.

    tokenize(text) -> [Token(surface, norm, start, end, pos), ...]
    terms(token.norm) -> terms of a query word for the lemma field (cached per form)
    index_terms(token.norm, kyrgyz) -> terms of a text's word (is_kyrgyz(text) decides)
    surface_term(token.norm) -> term for the exact-form field

The same functions serve indexing and queries.  See docs/analysis.md for the
policy and the measurements behind it.
"""

from __future__ import annotations

from ._normal import fold_kyrgyz, normalize
from ._stopwords import STOP_WEIGHT, STOPWORDS, query_weight
from ._kyrgyz import ENDINGS as KYRGYZ_ENDINGS
from ._kyrgyz import INFLECTIONS as KYRGYZ_INFLECTIONS
from ._kyrgyz import is_kyrgyz, kyrgyz_word
from ._kyrgyz import stem as kyrgyz_stem
from ._terms import POLICY, index_terms, surface_term, terms
from ._tokens import Token, is_compound, tokenize

# Bump whenever the output of tokenize() or terms() changes: the index stage
# rebuilds the index when it differs from the one stored with it.
ANALYZER_VERSION = f"2-{POLICY}-kyfold-kystem"

__all__ = [
    "ANALYZER_VERSION",
    "Token",
    "normalize",
    "fold_kyrgyz",
    "tokenize",
    "terms",
    "index_terms",
    "is_kyrgyz",
    "kyrgyz_word",
    "kyrgyz_stem",
    "KYRGYZ_ENDINGS",
    "KYRGYZ_INFLECTIONS",
    "surface_term",
    "is_compound",
    "query_weight",
    "STOPWORDS",
    "STOP_WEIGHT",
]
