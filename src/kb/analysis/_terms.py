"""Index terms of one normalised token.

Policies for Cyrillic words are kept side by side (named in POLICIES) so that
bench/analysis_eval.py can compare them; POLICY is the one chosen by measurement
(docs/analysis.md).  Latin words get English Snowball stems, numbers stay as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from kb.morphology import analyzer

from ._kyrgyz import stem as _ky_stem

_ru = Stemmer.Stemmer("russian")
_en = Stemmer.Stemmer("english")
_ru_stem = _ru.stemWord
_en_stem = _en.stemWord

_CYR = re.compile(r"[а-яё]")
_LAT = re.compile(r"[a-z]")
_HYPH = re.compile(r"[-\u2010\u2011]")

# Guesses of pymorphy3 that we do not trust: the word is not in the dictionary
# and its analysis came from a suffix/prefix heuristic or the unknown-word analyzer.
_DICT_METHODS = {"DictionaryAnalyzer"}


def _is_dictionary_parse(parse) -> bool:
    stack = parse.methods_stack
    return len(stack) == 1 and type(stack[0][0]).__name__ in _DICT_METHODS


def _clean(lemma: str) -> str:
    return lemma.replace("ё", "е")


# ---- candidate policies for one Cyrillic word (norm is lowercase, ё already е) ----


def _first_parse(norm: str):
    p = analyzer().parse(norm)[0]
    return p, _is_dictionary_parse(p)


def _unknown(norm: str) -> str:
    """A word the dictionary only guesses (Kyrgyz words, names, abbreviations)."""
    if len(norm) <= 4:  # ЖК, НКО, ОМСУ, айыл: keep as they are
        return norm
    return _ru_stem(norm)


def policy_stem(norm: str) -> tuple[str, ...]:
    return (_ru_stem(norm),)


def policy_lemma(norm: str) -> tuple[str, ...]:
    return (_clean(analyzer().parse(norm)[0].normal_form),)


def policy_lemma_stem(norm: str) -> tuple[str, ...]:
    return (_ru_stem(_clean(analyzer().parse(norm)[0].normal_form)),)


def policy_lemma_stem_known(norm: str) -> tuple[str, ...]:
    p, known = _first_parse(norm)
    if not known:
        return (_unknown(norm),)
    return (_ru_stem(_clean(p.normal_form)),)


def policy_lemma_and_stem(norm: str) -> tuple[str, ...]:
    p, known = _first_parse(norm)
    if not known:
        return (_unknown(norm),)
    a = _ru_stem(_clean(p.normal_form))
    b = _ru_stem(norm)
    return (a,) if a == b else (a, b)


def policy_lemma_plus_lemmastem(norm: str) -> tuple[str, ...]:
    p, known = _first_parse(norm)
    if not known:
        return (_unknown(norm),)
    lemma = _clean(p.normal_form)
    s = _ru_stem(lemma)
    return (s,) if s == lemma else (s, lemma)


def policy_all_lemma_stems(norm: str) -> tuple[str, ...]:
    parses = analyzer().parse(norm)
    if not _is_dictionary_parse(parses[0]):
        return (_unknown(norm),)
    out: list[str] = []
    for p in parses:
        s = _ru_stem(_clean(p.normal_form))
        if s not in out:
            out.append(s)
    return tuple(out)


def policy_scored_lemma_stems(norm: str, ratio: float = 0.5) -> tuple[str, ...]:
    parses = analyzer().parse(norm)
    if not _is_dictionary_parse(parses[0]):
        return (_unknown(norm),)
    top = parses[0].score
    out: list[str] = []
    for p in parses:
        if p.score < ratio * top:
            break
        s = _ru_stem(_clean(p.normal_form))
        if s not in out:
            out.append(s)
    return tuple(out)


def policy_none(norm: str) -> tuple[str, ...]:
    return (norm,)


POLICIES = {
    "none": policy_none,
    "stem": policy_stem,
    "lemma": policy_lemma,
    "lemma_stem": policy_lemma_stem,
    "lemma_stem_known": policy_lemma_stem_known,
    "lemma_and_stem": policy_lemma_and_stem,
    "lemma_plus_lemmastem": policy_lemma_plus_lemmastem,
    "all_lemma_stems": policy_all_lemma_stems,
    "scored_lemma_stems": policy_scored_lemma_stems,
}
POLICY = "lemma_stem_known"
_cyrillic = POLICIES[POLICY]


def word_terms(norm: str, cyrillic=None) -> tuple[str, ...]:
    """Terms of one word without hyphens (uncached)."""
    cyr = cyrillic or _cyrillic
    if not norm:
        return ()
    if norm[0].isdigit() or norm.replace(".", "").isdigit():
        return (norm,)
    if _CYR.search(norm):
        if _LAT.search(norm):  # mixed script: leave alone
            return (norm,)
        return cyr(norm)
    if _LAT.search(norm):
        return (_en_stem(norm),)
    return (norm,)


def uncached_terms(norm: str, cyrillic=None) -> tuple[str, ...]:
    if _HYPH.search(norm):
        # a whole compound: the join of each part's first term, so that its
        # inflections meet (социально-экономических / социально-экономическая)
        parts = [p for p in _HYPH.split(norm) if p]
        firsts = []
        for p in parts:
            t = word_terms(p, cyrillic)
            firsts.append(t[0] if t else p)
        return ("-".join(firsts),)
    return word_terms(norm, cyrillic)


def _kyrgyz_word(norm: str) -> tuple[str, ...]:
    """A word of a Kyrgyz text: its Kyrgyz stem, never a Russian lemma."""
    return (_ky_stem(norm),)


def _query_word(norm: str) -> tuple[str, ...]:
    """A query word: Russian terms; for a word the Russian dictionary does not know (a
    Kyrgyz word, typed with or without ө ү ң), also its Kyrgyz stem, so that it finds
    the word in Kyrgyz texts (indexed by `index_terms(..., kyrgyz=True)`)."""
    ru = _cyrillic(norm)
    p, known = _first_parse(norm)
    if known:
        return ru
    ky = _ky_stem(norm)
    # The Russian term first; `маселе` needs the Kyrgyz one (Snowball makes it `масел`,
    # the Kyrgyz texts have `маселе` from `маселелери`).
    return ru if ky in ru else ru + (ky,)


@lru_cache(maxsize=300_000)
def terms(norm: str) -> tuple[str, ...]:
    """Terms of one normalised token of a query (or of text to compare with one): the
    Russian policy, plus the Kyrgyz stem of words Russian morphology does not know."""
    return uncached_terms(norm, _query_word)


@lru_cache(maxsize=300_000)
def index_terms(norm: str, kyrgyz: bool = False) -> tuple[str, ...]:
    """Index terms of one normalised token for the lemma field: of a Russian text by the
    Russian policy, of a Kyrgyz text (kb.analysis.is_kyrgyz) by the Kyrgyz stemmer."""
    return uncached_terms(norm, _kyrgyz_word if kyrgyz else None)


def surface_term(norm: str) -> str:
    """Term for the exact-form field: the normalised form itself."""
    return norm

