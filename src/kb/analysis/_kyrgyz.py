"""Kyrgyz: which texts are Kyrgyz, and a light stemmer of Kyrgyz inflection.

Why: Russian morphology gives Kyrgyz words wrong lemmas (`берет` -> `брать`, `жана` ->
`жан`) or, for words it does not know, a Russian Snowball stem that leaves Kyrgyz endings
on (`өкмөтү` and `өкмөтүнүн` two unrelated terms). Kyrgyz is agglutinative: a noun takes
plural, possessive and case endings in that order (өкмөт-ү-нүн "of its government",
жаран-дар-дын "of citizens"), so taking them off from the end joins the forms.

The stemmer works on normalised tokens, where ө ү ң are already о у н (kb.analysis
folds them: people type Kyrgyz with Russian letters), so `өкмөтү` typed as `окмоту`
meets the text. It removes, from the end: one case ending, then a possessive one, then a
plural one, and keeps a stem of at least three letters with a vowel. Endings that are
also common word ends are left out (the accusative -ты/-ту/-ну: `өкмөтү`, its possessive,
would lose its stem). A stem ending in г or б that lost an ending gets back its к or п
(укугу -> укук, китеби -> китеп).

Measured on the hand-made set of tests/test_kyrgyz.py: every inflected form there meets
its base form, and no Russian word of the set is taken for Kyrgyz.
"""

from __future__ import annotations

import re

# Endings, folded (ө -> о, ү -> у, ң -> н), longest first within each group.
_CASE = sorted("""
    нын нин нун дын дин дун тын тин тун
    ндан нден ндон дан ден дон тан тен тон нан нен нон
    нда нде ндо да де до та те то
    на не но га ге го ка ке ко
""".split(), key=len, reverse=True)
_POSSESSIVE = sorted("сы си су ын ин ун ы и у".split(), key=len, reverse=True)
_PLURAL = "лар лер лор дар дер дор тар тер тор".split()

_VOWELS = set("аеиоуыэюяё")
MIN_STEM = 3


def _strip(word: str, endings: list[str]) -> str:
    for e in endings:
        if word.endswith(e):
            stem = word[: -len(e)]
            if len(stem) >= MIN_STEM and _VOWELS.intersection(stem):
                return stem
    return word


def stem(norm: str) -> str:
    """The stem of a normalised (folded) Kyrgyz word."""
    if len(norm) <= 4 or not norm.isalpha():      # ЖК, ОМСУ, айыл: kept as they are
        return norm
    w = _strip(norm, _CASE)
    w = _strip(w, _POSSESSIVE)
    w = _strip(w, _PLURAL)
    if w != norm and w[-1] in "гб":
        w = w[:-1] + ("к" if w[-1] == "г" else "п")
    return w


# --- which texts are Kyrgyz ---------------------------------------------------------------

# Frequent Kyrgyz words that are not Russian ones (folded as in the index).
COMMON = frozenset("""
    жана менен учун боюнча болуп болот деп бул ал анын алар жок бар эмес тарабынан
    ошондой ошол менин биз сиз алардын ушул кийин мурда дагы же бирок эгерде
    мыйзам мыйзамы мыйзамдын республикасынын жергиликтуу
""".split())
_KY_LETTERS = re.compile(r"[өүңӨҮҢ]")
_WORD = re.compile(r"[а-яёөүң]+", re.IGNORECASE)


def is_kyrgyz(text: str) -> bool:
    """True when the text (not normalised: it still has its ө ү ң) is written in Kyrgyz.

    Kyrgyz when 15 % of its Cyrillic words carry a Kyrgyz letter, or 8 % are frequent
    Kyrgyz words (function words and terms, never names), or 12 % are either: a Russian
    text quoting a Kyrgyz name (`айыл өкмөтү`) stays Russian, a Kyrgyz paragraph has
    ө ү ң in about every third word, and one without them has its `менен`, `жана`."""
    words = _WORD.findall(text[:20_000])
    if len(words) < 3:
        return bool(words) and any(_KY_LETTERS.search(w) for w in words)
    kyrgyz = sum(1 for w in words if _KY_LETTERS.search(w))
    common = sum(1 for w in words if w.lower().translate(_FOLD) in COMMON)
    n = len(words)
    return kyrgyz >= 0.15 * n or common >= 0.08 * n or kyrgyz + common >= 0.12 * n


_FOLD = str.maketrans("өүңё", "оуне")
