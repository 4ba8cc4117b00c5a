"""Query-string parameters, validated before anything reaches kb.search.

Every bad value becomes a `ParamError` (a 400 with a Russian and an English message),
so a hand-edited URL never turns into a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.search import MAX_PAGE, MAX_PER_PAGE
from kb.search.query import MAX_QUERY_CHARS

MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 100
_YEAR = re.compile(r"^\d{4}$")


class ParamError(ValueError):
    """A query-string parameter is invalid; status 400."""

    def __init__(self, message_ru: str, message_en: str):
        self.message_ru = message_ru
        self.message_en = message_en
        super().__init__(f"{message_ru} ({message_en})")


@dataclass
class SearchParams:
    q: str = ""
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    types: list[str] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    cites: list[str] = field(default_factory=list)     # act keys: documents citing them
    categories: list[str] = field(default_factory=list)   # of consultations
    regions: list[str] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)    # "ky", "ru": languages of documents
    exact: bool = False            # the words as typed: no spelling correction
    copies: bool = False           # copies of one document shown separately
    since: str = ""         # documents added to the collection since this date (kb.search.parse_since)

    def url_args(self, **changes) -> dict:
        """The parameters as URL arguments (for url_for), with some replaced; defaults left out."""
        d = {"q": self.q, "type": self.types, "year": self.years, "cites": self.cites,
             "category": self.categories, "region": self.regions, "lang": self.langs, "since": self.since,
             "sort": self.sort,
             "page": self.page, "exact": "1" if self.exact else "", "copies": "1" if self.copies else ""}
        d.update(changes)
        for flag in ("exact", "copies"):
            d[flag] = "1" if d.get(flag) in (True, "1") else ""
        if d.get("sort") == "relevance":
            d.pop("sort")
        if d.get("page") == 1:
            d.pop("page")
        return {k: v for k, v in d.items() if v not in ("", [], None)}


@dataclass
class BrowseParams:
    sort: str = "title"
    types: list[str] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)   # of consultations
    regions: list[str] = field(default_factory=list)

    def url_args(self, **changes) -> dict:
        d = {"type": self.types, "year": self.years, "category": self.categories, "region": self.regions,
             "sort": self.sort}
        d.update(changes)
        if d.get("sort") == "title":
            d.pop("sort")
        return {k: v for k, v in d.items() if v not in ("", [], None)}


def query_text(args, name: str = "q") -> str:
    q = args.get(name, "")
    if "\x00" in q:
        raise ParamError("запрос содержит недопустимый символ", "query contains a NUL character")
    q = " ".join(q.split())
    if len(q) > MAX_QUERY_CHARS:
        raise ParamError(f"запрос длиннее {MAX_QUERY_CHARS} символов", f"query longer than {MAX_QUERY_CHARS} characters")
    return q


MAX_TEXT_CHARS = 5000


def long_text(args, name: str = "text") -> str:
    """A pasted free text (a client's problem): up to MAX_TEXT_CHARS, no NUL."""
    t = args.get(name, "")
    if "\x00" in t:
        raise ParamError("текст содержит недопустимый символ", "text contains a NUL character")
    t = t.strip()
    if len(t) > MAX_TEXT_CHARS:
        raise ParamError(f"текст длиннее {MAX_TEXT_CHARS} символов", f"text longer than {MAX_TEXT_CHARS} characters")
    return t


_ARTICLE = re.compile(r"^\d[\w.-]{0,19}$")


def article(args, name: str = "st") -> str:
    """An article number (`84`, `84.1`, `15-2`) of a stable link, or ""."""
    raw = (args.get(name) or "").strip()
    if raw and not _ARTICLE.match(raw):
        raise ParamError(f"параметр {name}: номер статьи", f"{name} must be an article number")
    return raw


def integer(args, name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d{1,9}", raw.strip()):
        raise ParamError(f"параметр {name} должен быть целым числом", f"{name} must be an integer")
    n = int(raw)
    if not lo <= n <= hi:
        raise ParamError(f"параметр {name} должен быть от {lo} до {hi}", f"{name} must be between {lo} and {hi}")
    return n


def choice(args, name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = args.get(name) or default
    if raw not in allowed:
        raise ParamError(f"параметр {name}: допустимо {', '.join(allowed)}", f"{name} must be one of {', '.join(allowed)}")
    return raw


def types(args) -> list[str]:
    vals = _multi(args, "type")
    for v in vals:
        if len(v) > MAX_FILTER_CHARS or "\x00" in v:
            raise ParamError("недопустимый тип документа", "invalid document type")
    return vals


def cites(args, name: str = "cites") -> list[str]:
    vals = _multi(args, name)
    for v in vals:
        if len(v) > 2 * MAX_FILTER_CHARS or "\x00" in v:
            raise ParamError(f"недопустимое значение фильтра {name}", f"invalid {name} value")
    return vals


def years(args) -> list[str]:
    vals = _multi(args, "year")
    for v in vals:
        if not _YEAR.match(v):
            raise ParamError("год должен быть четырехзначным числом", "year must be four digits")
    return vals


def _multi(args, name: str) -> list[str]:
    vals = [v.strip() for v in args.getlist(name) if v.strip()]
    if len(vals) > MAX_FILTER_VALUES:
        raise ParamError(f"слишком много значений {name}", f"too many {name} values")
    return list(dict.fromkeys(vals))


def flag(args, name: str) -> bool:
    """An on/off parameter: `1` (or `true`) is on, absent or `0` off."""
    raw = (args.get(name) or "").strip().lower()
    if raw not in ("", "0", "1", "true", "false"):
        raise ParamError(f"параметр {name}: 1 или 0", f"{name} must be 1 or 0")
    return raw in ("1", "true")


def search_params(args, *, per_page_default: int = 10) -> SearchParams:
    return SearchParams(
        q=query_text(args),
        page=integer(args, "page", 1, 1, MAX_PAGE),
        per_page=integer(args, "per_page", per_page_default, 1, MAX_PER_PAGE),
        sort=choice(args, "sort", "relevance", ("relevance", "date")),
        types=types(args),
        years=years(args),
        cites=cites(args),
        categories=cites(args, "category"),
        regions=cites(args, "region"),
        langs=cites(args, "lang"),
        exact=flag(args, "exact"),
        copies=flag(args, "copies"),
        since=since(args),
    )


def since(args) -> str:
    """`since=2025-03-01`: checked here, so a bad date is a 400 before any search."""
    from kb.errors import QueryError
    from kb.search import parse_since

    raw = (args.get("since") or "").strip()
    if not raw:
        return ""
    try:
        return parse_since(raw)
    except QueryError as e:
        raise ParamError(f"параметр since: {str(e).split(' (')[0]}", "since must be a date YYYY-MM-DD") from None


def browse_params(args) -> BrowseParams:
    return BrowseParams(sort=choice(args, "sort", "title", ("title", "date")), types=types(args), years=years(args),
                        categories=cites(args, "category"), regions=cites(args, "region"))
