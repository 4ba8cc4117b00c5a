"""A query that names an act narrows to it: `ст. 84 ЖК РФ`, `выселение ЖК РФ`, `право на
жилище по Конституции`, `статья 222 ГК РФ`.

Words alone rank article 84 of the Constitution, the Family and the Land codes between the
articles of the Housing Code the lawyer asked for: they share the number and the words. When
the query names an act, its passages come first and everything else follows in the order of
its score: other acts, and documents of no act (reports, consultations) as they ranked among
them. When the query also names articles, the named act's passages of those articles come
first.

Which act a passage belongs to is read from its title, with the same citation finder that
reads requisites (kb.enrich): a title's first line names its act (`Жилищный кодекс Российской
Федерации`, `"Гражданский кодекс РФ (часть вторая)" от 26.01.1996 N 14-ФЗ`), in `kb index`'s
collections and in `kb eval`'s sets alike.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from kb.enrich import Citation, find_citations, resolve
from kb.index import RawResults
from kb.search.articles import normalize_query

__all__ = ["named_acts", "narrow"]

_TITLE_CHARS = 300          # an act names itself in its title's first line
_KNOWN: "OrderedDict[str, tuple[dict | None, tuple[str, ...]]]" = OrderedDict()
_KNOWN_MAX = 20_000


def named_acts(query: str) -> list[Citation]:
    """The acts a query names (with or without articles)."""
    try:
        return [c for c in find_citations(normalize_query(query)) if c.kind != "self"]
    except Exception:       # a query the citation finder cannot read names no act
        return []


def _title_act(title: str) -> tuple[dict | None, tuple[str, ...]]:
    """(the act of a passage's title as `resolve` wants it, or None; articles its title names)."""
    first = (title or "").strip().split("\n", 1)[0][:_TITLE_CHARS]
    got = _KNOWN.get(first)
    if got is not None:
        _KNOWN.move_to_end(first)
        return got
    found = find_citations(first) if first else []
    c = found[0] if found and found[0].kind != "self" else None
    act = None if c is None else {"id": c.act_key, "kind": c.kind, "number": c.number, "date": c.date,
                                  "name": c.name, "jurisdiction": c.jurisdiction, "act_key": c.act_key}
    got = (act, tuple(c.articles) if c else ())
    _KNOWN[first] = got
    if len(_KNOWN) > _KNOWN_MAX:
        _KNOWN.popitem(last=False)
    return got


def narrow(raw: RawResults, cited: list[Citation]) -> RawResults:
    """`raw` with the `cited` acts' passages first (their cited articles before the rest), the
    order kept within each group. Unchanged when no passage among the hits belongs to a cited
    act (the collection does not have it)."""
    if not cited or not raw.hits:
        return raw
    wanted = {a for c in cited for a in c.articles}
    first, named = [], []
    by_doc: dict[str, tuple[bool, tuple[str, ...]]] = {}
    for h in raw.hits:
        seen = by_doc.get(h.doc_id)
        if seen is None:
            act, title_articles = _title_act(h.fields.get("title") or "")
            seen = by_doc[h.doc_id] = (act is not None and any(resolve(c, [act]) is not None for c in cited),
                                       title_articles)
        is_named, title_articles = seen
        if not is_named:
            continue
        if wanted and (h.fields.get("article") in wanted or wanted.intersection(title_articles)):
            first.append(h)
        else:
            named.append(h)
    if not first and not named:
        return raw
    # The named act first; everything else after it in the order of its score, documents of no
    # act among the other acts as they ranked (not lifted above them for being no act).
    up = {id(h) for h in first} | {id(h) for h in named}
    return replace(raw, hits=first + named + [h for h in raw.hits if id(h) not in up])
