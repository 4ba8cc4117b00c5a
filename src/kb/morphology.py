"""One shared pymorphy3 analyzer for every stage (loading it costs ~0.3 s and ~15 MB)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def analyzer():
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=200_000)
def is_known(word: str) -> bool:
    """True when the Russian dictionary has this exact word form (not a guess)."""
    return analyzer().word_is_known(word.lower().replace("ё", "е"))
