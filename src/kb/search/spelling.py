"""Typo correction, only for words of the query's language.

    corrections(rd, parsed, query, kyrgyz_docs) -> {typed word: indexed form to read instead}
    kyrgyz_query(query, words) -> True for a query in Kyrgyz (without looking at the index)

A plain word that neither the index, the lexicon nor the Russian dictionary knows is read as
the closest indexed form (`жилищьный` -> `жилищный`). That is right for Russian, and wrong for
Kyrgyz: the index is mostly Russian, so a Kyrgyz word is "corrected" into some Russian-looking
form (`Турак жай кодекси`, housing code, became `туран жай кодекси` and found a place name
in a report, while the glossary would have read it as `жилищный кодекс`). So:

- a Kyrgyz word is never corrected: one with ө ү ң, a word of kb.analysis's Kyrgyz
  vocabulary or of the glossary's Kyrgyz column in any of its forms (kb.search.query.kyrgyz_base:
  `никеге` was "corrected" to `никем`), a word with a Kyrgyz genitive ending Russian does not
  know, a Russian noun with Kyrgyz endings (`кодекси`, `квартирасы`), each part of a
  hyphenated word (kyrgyz_word below);
- in a query that is Kyrgyz as a whole (more Kyrgyz words than Russian ones, or
  kb.analysis.is_kyrgyz, or words found in the collection's Kyrgyz documents) no other word
  is corrected into Russian either, unless it is spelled with letters only Russian has
  (`выселние айыл окмоту`): only into a form found in the collection's Kyrgyz documents,
  which is a correction within the query's language;
- a Russian query is corrected as before (`выселние` -> `выселение`), Kyrgyz names in it
  (`айыл окмоту`) left as typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from kb import analysis
from kb.index import querymodel as qm
from kb.morphology import analyzer, is_known
from kb.search.query import Parsed, default_glossary, default_lexicon, kyrgyz_base

_LATIN = re.compile(r"[A-Za-z]")
_KY_LETTERS = re.compile(r"[ӨөҮүҢң]")
_WORDS = re.compile(r"[А-Яа-яЁёӨөҮүҢң]+(?:-[А-Яа-яЁёӨөҮүҢң]+)*")


def corrections(rd, parsed: Parsed, query: str, kyrgyz_docs: Callable[[], list[str]]) -> dict[str, str]:
    """{typed word: the indexed form to read instead} for the plain words of `parsed` that
    are typos of the query's language. `kyrgyz_docs()` gives the ids of the collection's
    documents with Kyrgyz passages (asked only when a Kyrgyz query has a word to correct)."""
    lexicon = default_lexicon()
    fixes = {}
    for w in dict.fromkeys(parsed.plain_words):
        norm = analysis.normalize(w)
        if len(norm) < 4 or not norm.isalpha() or _LATIN.search(norm) or rd.known_form(norm):
            continue
        # A dictionary word the index lacks is what the user meant (`выгнать` was read as
        # `выдать`; the vectors may still find its meaning); an inflection the index lacks
        # (`жилью` where the text says `жилье`) still matched. The dictionary costs least.
        if is_known(w) or lexicon.knows(w) or rd.known_word(w):
            continue
        # A Kyrgyz word Russian does not know is not a typo.
        if kyrgyz_word(w):
            continue
        fix = rd.suggest(norm)
        if fix and fix != norm:
            fixes[w] = fix
    if not fixes:
        return fixes
    ky_ids: list[str] | None = None

    def in_kyrgyz_docs(form: str) -> bool:
        nonlocal ky_ids
        if ky_ids is None:
            ky_ids = list(kyrgyz_docs())
        if not ky_ids:
            return False
        return rd.search(qm.Word(form, "exact"), qm.Filters(doc_id=ky_ids), limit=1).total > 0

    words = _WORDS.findall(query)
    if kyrgyz_query(query, words) or any(w not in fixes and not _russian(w) and in_kyrgyz_docs(analysis.normalize(w))
                                         for w in words if len(w) > 3 and "-" not in w):
        # Words spelled with letters only Russian has (`выселние` in `выселние айыл окмоту`)
        # are still Russian typos; the others are corrected only within Kyrgyz.
        return {w: fix for w, fix in fixes.items() if _russian(w) or in_kyrgyz_docs(fix)}
    return fixes


# Letters of Russian words that native Kyrgyz words never have (Kyrgyz writes them only in
# loanwords, whose Kyrgyz forms kyrgyz_word knows: `квартирасы`).
_RUSSIAN_ONLY = re.compile("[вфцщъьё]", re.I)


def _russian(word: str) -> bool:
    """A word of the Russian dictionary, or one spelled with a letter only Russian has."""
    return not kyrgyz_word(word) and (is_known(word) or bool(_RUSSIAN_ONLY.search(word)))


def kyrgyz_query(query: str, words: list[str] | None = None) -> bool:
    """True when the query is Kyrgyz: kb.analysis.is_kyrgyz says so, or it has Kyrgyz words
    (kyrgyz_word) and fewer Russian ones (words of the Russian dictionary, or with letters only
    Russian has) than those: `Турак жай кодекси`, `уй-було кодекси`, not `выселение из дома айыл окмоту`."""
    if analysis.is_kyrgyz(query):
        return True
    words = _WORDS.findall(query) if words is None else words
    ky = sum(1 for w in words if kyrgyz_word(w))
    ru = sum(1 for w in words if len(w) > 3 and _russian(w))
    return ky > ru


def kyrgyz_word(word: str) -> bool:
    """True when a written word is Kyrgyz (see the module's docstring); never a word of the
    Russian dictionary, unless it has ө ү ң."""
    if _KY_LETTERS.search(word):
        return True
    if is_known(word):
        return False           # `господин` ends like a Kyrgyz genitive, `кодексы` like a possessive
    if analysis.kyrgyz_word(word):
        return True
    norm = analysis.normalize(word)
    return any(part in _glossary_words() or kyrgyz_base(part) != part or _russian_with_kyrgyz_endings(part)
               for part in norm.split("-"))


@lru_cache(maxsize=1)
def _glossary_words() -> frozenset[str]:
    """The words of the glossary's Kyrgyz terms that are not also Russian words, folded."""
    words = set()
    for term in default_glossary().terms:
        for phrase in term.ky:
            for w in _WORDS.findall(phrase):
                if len(w) > 3 and not is_known(w):
                    words.add(analysis.normalize(w))
    return frozenset(words)


# Vowel harmony: the vowels an ending may have after the last vowel of the stem (folded:
# ө ү are о у, so the rounded front and back sets are one).
_HARMONY = {**dict.fromkeys("аыя", set("аы")), **dict.fromkeys("еиэ", set("еи")),
            **dict.fromkeys("оуёю", set("оуа"))}
_VOWELS = set("аеиоуыэюяё")


@lru_cache(maxsize=10_000)
def _russian_with_kyrgyz_endings(norm: str) -> bool:
    """A Russian noun in its dictionary form with Kyrgyz endings that follow its vowels:
    `кодекси` (кодекс + и), `квартирасы` (квартира + сы), `кодекстин`. `закони` is not one
    (after о Kyrgyz says у), nor `квартири` (`квартир` is no dictionary form)."""
    if len(norm) < 6 or not norm.isalpha():
        return False
    for ending in analysis.KYRGYZ_ENDINGS:
        if not norm.endswith(ending) or len(norm) - len(ending) < 4:
            continue
        base = norm[: -len(ending)]
        last = next((ch for ch in reversed(base) if ch in _VOWELS), None)
        if last is None or not {ch for ch in ending if ch in _VOWELS} <= _HARMONY.get(last, set()):
            continue
        if is_known(base) and any(p.normal_form == base and p.tag.POS == "NOUN" for p in analyzer().parse(base)):
            return True
    return False
