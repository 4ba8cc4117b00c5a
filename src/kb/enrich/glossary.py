"""A small RU/EN/KY glossary of legal and housing terms (src/kb/data/glossary.txt).

The collection is Russian: a query typed in English or Kyrgyz finds nothing by its own
words. The glossary gives the Russian term for each English or Kyrgyz one, both to expand
the query (as one-way lexicon entries: they only add) and to tell a person who typed in
Latin letters which Russian words to use. Same idea and file handling as the lexicon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from kb.enrich.lexicon import Alternative, Lexicon, LexiconError, _lemma, _norm_word, _words, data_path, read_list

__all__ = ["Glossary", "Term", "load_glossary", "default_glossary_path"]


@dataclass(frozen=True)
class Term:
    ru: str
    en: tuple[str, ...]
    ky: tuple[str, ...]


class Glossary:
    def __init__(self, terms: list[Term]):
        self.terms = terms
        self._by_key: dict[tuple[str, ...], list[Term]] = {}
        for t in terms:
            for other in t.en + t.ky:
                key = tuple(_lemma(w) for w in _words(other))
                if t not in self._by_key.setdefault(key, []):
                    self._by_key[key].append(t)

    def __len__(self) -> int:
        return len(self.terms)

    def lexicon(self) -> Lexicon:
        """One-way entries English/Kyrgyz term => the Russian term, for query expansion."""
        entries = []
        for t in self.terms:
            ru = Alternative(_words(t.ru))
            for other in t.en + t.ky:
                words = _words(other)
                if words and words != ru.words:
                    entries.append((words, [ru], False))
        return Lexicon(entries)

    @cached_property
    def query_lexicon(self) -> Lexicon:
        """`lexicon()`, built once for this glossary."""
        return self.lexicon()

    @cached_property
    def kyrgyz_words(self) -> frozenset[str]:
        """The words of the Kyrgyz terms, normalised (ө ү ң folded): `жатакана`, `уй-було`."""
        return frozenset(w for t in self.terms for phrase in t.ky for w in _words(phrase))

    @cached_property
    def kyrgyz_one_word_terms(self) -> frozenset[str]:
        """The Kyrgyz terms of one word, normalised: `укук` (право), not `укуктары` (of `адам укуктары`)."""
        return frozenset(ws[0] for t in self.terms for phrase in t.ky if len(ws := _words(phrase)) == 1)

    def russian_for(self, words: list[str]) -> list[str]:
        """Russian terms for the English or Kyrgyz terms found in `words` (longest first,
        left to right), in query order, without repeats."""
        keys = [_lemma(_norm_word(w)) for w in words]
        longest = max((len(k) for k in self._by_key), default=0)
        out: list[str] = []
        i = 0
        while i < len(keys):
            for n in range(min(longest, len(keys) - i), 0, -1):
                found = self._by_key.get(tuple(keys[i:i + n]))
                if found:
                    for t in found:
                        if t.ru not in out:
                            out.append(t.ru)
                    i += n
                    break
            else:
                i += 1
        return out


def _column(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def parse_glossary(text: str, source: str = "<glossary>") -> Glossary:
    terms = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split("|")]
        if len(cols) != 3 or not _words(cols[0]):
            raise LexiconError(f"{source}:{lineno}: ожидается 'русский | english | кыргызча' "
                               f"(expected three columns, got {line[:60]!r})")
        if not re.search(r"[а-яё]", cols[0], re.I):
            raise LexiconError(f"{source}:{lineno}: первый столбец — русский термин (first column must be Russian)")
        terms.append(Term(cols[0], _column(cols[1]), _column(cols[2])))
    return Glossary(terms)


def default_glossary_path() -> Path:
    return data_path("glossary.txt")


def load_glossary(path: str | Path | None = None) -> Glossary:
    """Read a glossary file (the package's own when `path` is None)."""
    return parse_glossary(*read_list(path, "glossary.txt", "глоссарий"))
