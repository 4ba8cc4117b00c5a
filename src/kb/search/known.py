"""Known-item search: a query that names a document puts that document first.

`годовой отчет Интербилим` names the annual report, but its words are spread thin over the
report's passages, while articles of the Civil Code about annual reports have them all: the
passage ranking alone puts the report 7th. So each document also has a card, a small bag of
the words people name it by: its title, the words of its file name, its type with Russian
synonyms (отчёт: доклад, отчетность), for an act its kind, branch, abbreviation and
jurisdiction (`ЖК РФ`, `Трудовой кодекс КР`, `часть II`), the organisations it names, its
year. A query's *coverage* of a card is the share of the query's content words (by idf over
the cards) that the card holds; documents covering at least KNOWN_SHARE of the query come
first (docs/ranking.md).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from kb import analysis
from kb.enrich.citations import CODES
from kb.enrich.title import file_words
from kb.search.catalog import Catalog, DocInfo

__all__ = ["cards", "coverage", "KNOWN_SHARE"]

KNOWN_SHARE = 0.9

_TYPE_WORDS = {
    "отчёт": "отчёт отчет отчеты доклад отчетность report",
    "нормативный акт": "нормативный правовой акт закон",
    "исследование": "исследование анализ обзор study research",
    "консультация": "консультация вопрос ответ",
    "другое": "",
}
_JURISDICTION_WORDS = {
    "РФ": "РФ Российская Федерация Россия",
    "КР": "КР Кыргызская Республика Кыргызстан",
}
_ABBR = {name: abbr for _, name, abbr in CODES}
_PART_WORDS = {"i": "1 первая", "ii": "2 вторая", "iii": "3 третья", "iv": "4 четвертая",
               "первая": "1 i", "вторая": "2 ii", "третья": "3 iii", "четвертая": "4 iv"}


def _terms(text: str) -> set[str]:
    out = set()
    for t in analysis.tokenize(text):
        out.update(analysis.terms(t.norm))
    return out


def card_text(d: DocInfo) -> str:
    """The words a document is named by (module doc)."""
    words = [d.title, " ".join(file_words(d.path)), _TYPE_WORDS.get(d.doc_type, "")]
    req = d.meta.get("requisites") or {}
    if req:
        words += [req.get("kind") or "", req.get("name") or "", req.get("number") or ""]
        words.append(_JURISDICTION_WORDS.get(req.get("jurisdiction") or "", ""))
        if req.get("kind") == "кодекс" and req.get("name") in _ABBR:
            words.append(_ABBR[req["name"]])
    low = d.title.lower()
    for part, extra in _PART_WORDS.items():
        if f"часть {part})" in low or f"часть {part}" == low[-len(f"часть {part}"):]:
            words.append(extra)
    words += d.meta.get("organisations", [])
    if d.year:
        words.append(str(d.year))
    return " ".join(w for w in words if w)


class Cards:
    """The cards of a catalog's documents, with document frequencies for idf."""

    def __init__(self, cat: Catalog):
        self.terms: dict[str, set[str]] = {d.doc_id: _terms(card_text(d)) for d in cat.all()}
        self.ids = list(self.terms)
        # term -> the cards holding it, as positions in `ids`: a query reads only its terms'
        # cards, not every card of an archive of tens of thousands of documents.
        holders: dict[str, list[int]] = {}
        for i, ts in enumerate(self.terms.values()):
            for t in ts:
                holders.setdefault(t, []).append(i)
        self.holders = {t: np.array(v, dtype=np.int64) for t, v in holders.items()}
        self.df: dict[str, int] = {t: len(v) for t, v in holders.items()}
        self.n = len(self.terms)

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def coverage(self, words: list[str], least: float = 0.0) -> dict[str, float]:
        """Documents whose card holds some of the query's content words -> the share (by idf),
        those with a share of at least `least` (any share above 0 by default)."""
        query: list[set[str]] = []
        for w in words:
            for t in analysis.tokenize(w):
                if analysis.is_compound(t) or analysis.query_weight(t.norm) < 1.0:
                    continue
                query.append(set(analysis.terms(t.norm)))
        if not query or not self.n:
            return {}
        weights = [max(self.idf(t) for t in ts) for ts in query]
        total = sum(weights)
        got = np.zeros(self.n)
        for ts, w in zip(query, weights):       # in query order: the same sums as term by term
            has = np.zeros(self.n, dtype=bool)
            for t in ts:
                if t in self.holders:
                    has[self.holders[t]] = True
            got[has] += w
        share = got / total
        keep = np.flatnonzero((got > 0) & (share >= least))
        return {self.ids[i]: s for i, s in zip(keep.tolist(), share[keep].tolist())}


_cache: dict[int, tuple[Catalog, Cards]] = {}
_lock = threading.Lock()


def cards(cat: Catalog) -> Cards:
    """The cards of this catalog, built once per catalog (a new manifest is a new catalog)."""
    with _lock:
        hit = _cache.get(id(cat))
        if hit and hit[0] is cat:
            return hit[1]
    c = Cards(cat)
    with _lock:
        if len(_cache) >= 4:          # a catalog per audience (kb.index.access) and a new one
            _cache.clear()
        _cache[id(cat)] = (cat, c)
    return c


def coverage(cat: Catalog, words: list[str], least: float = 0.0) -> dict[str, float]:
    return cards(cat).coverage(words, least)
