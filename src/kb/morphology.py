"""One shared pymorphy3 analyzer for every stage (loading it costs ~0.3 s and ~15 MB)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def analyzer():
    import pymorphy3
    import pymorphy3_dicts_ru

    # The folder given directly: finding it by lang="ru" scans every installed package's
    # entry points, ~30 ms of a ~0.5 s cold `kb search`. Same dictionary, same units.
    return pymorphy3.MorphAnalyzer(path=pymorphy3_dicts_ru.get_path())


@lru_cache(maxsize=200_000)
def is_known(word: str) -> bool:
    """True when the Russian dictionary has this exact word form (not a guess)."""
    return analyzer().word_is_known(word.lower().replace("ё", "е"))
