"""A citation of a passage in Russian legal style, built from its document's metadata.

    cite(info, article="84")  -> Cite("ст. 84 Жилищного кодекса Российской Федерации от 29.12.2004 № 188-ФЗ",
                                      "ст. 84 ЖК РФ")
    cite(report, page=12)     -> Cite("Интербилим. Годовой отчёт 2019. — 2019. — С. 12.", "Годовой отчёт 2019, 2019, с. 12")
    cite(consultation record, heading="Ответ") -> Cite("Консультация № k-001 от 14.02.2023, ответ", ...)

Acts are named from their requisites (kb.enrich.act_requisites: kind, name, number, date,
body, jurisdiction), never from the title line, which is often a heading or a note; a
document without requisites is cited by its title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.enrich.citations import ABBREVIATIONS

# Jurisdiction -> (genitive name, short form). The genitive is also what follows a code's name.
_JUR = {"РФ": ("Российской Федерации", "РФ"), "КР": ("Кыргызской Республики", "КР"),
        "РК": ("Республики Казахстан", "РК"), "РТ": ("Республики Таджикистан", "РТ"),
        "РУз": ("Республики Узбекистан", "РУз"), "ТМ": ("Туркменистана", "ТМ")}
# Kind -> (nominative, genitive), for citing an article of the act or the act itself.
_KIND = {"закон": ("Закон", "Закона"), "постановление": ("Постановление", "Постановления"),
         "указ": ("Указ", "Указа"), "распоряжение": ("Распоряжение", "Распоряжения"),
         "приказ": ("Приказ", "Приказа"), "письмо": ("Письмо", "Письма"), "решение": ("Решение", "Решения"),
         "положение": ("Положение", "Положения"), "конституция": ("Конституция", "Конституции"),
         "кодекс": ("Кодекс", "Кодекса")}
# Issuing body (as requisites give it) -> genitive.
_BODY = {"правительство": "Правительства", "президент": "Президента", "жогорку кенеш": "Жогорку Кенеша",
         "министерство": "Министерства"}
_PART = re.compile(r"част[ьи]\s+(перв\w*|втор\w*|трет\w*|четв[её]рт\w*|IV|I{1,3}|[1-4])(?![\w])", re.I)
_PART_WORD = {"перв": "первая", "втор": "вторая", "трет": "третья", "четв": "четвёртая",
              "i": "первая", "ii": "вторая", "iii": "третья", "iv": "четвёртая",
              "1": "первая", "2": "вторая", "3": "третья", "4": "четвёртая"}
_CAPITALS = re.compile(r"\b(российской федерации|кыргызской республики|республики казахстан)\b")
_MINISTRY = re.compile(r"\bМин[а-яё]+\s+(?:России|РФ|КР)\b")
MAX_NAME = 300      # requisites cut names at 300 characters: a cut name is left out


@dataclass
class Cite:
    full: str           # for a complaint: the act's full requisites, or the bibliographic form
    short: str          # the usual short form (`ст. 84 ЖК РФ`)

    def to_json(self) -> dict:
        return {"citation": self.full, "citation_short": self.short}


def _genitive_adjective(word: str) -> str:
    low = word.lower()
    if low.endswith(("ский", "цкий", "кий", "гий", "хий", "ый", "ой")):
        return word[:-2] + "ого"
    if low.endswith("ий"):
        return word[:-2] + "его"
    return word


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _date(iso: str | None) -> str:
    parts = (iso or "").split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[2]}.{parts[1]}.{parts[0]}"
    return iso or ""


def _number(num: str | None) -> str:
    # Requisites upper-case numbers; suffixes such as `/пр` are written in lower case.
    return re.sub(r"/ПР$", "/пр", num or "")


def _quoted_name(name: str | None) -> str:
    if not name or len(name) >= MAX_NAME:
        return ""
    name = _CAPITALS.sub(lambda m: " ".join(_cap(w) for w in m.group(1).split()), name)
    return f"«{_cap(name)}»"


def _part(info) -> str:
    m = _PART.search(f"{info.title} {info.path}")
    if not m:
        return ""
    key = m.group(1).lower()
    word = _PART_WORD.get(key) or _PART_WORD.get(key[:4]) or ""
    return f"(часть {word})" if word else ""


def _requisites(number: str | None, date: str | None) -> str:
    out = []
    if date:
        out.append(f"от {_date(date)}")
    if number:
        out.append(f"№ {_number(number)}")
    return " ".join(out)


def _body_genitive(body: str | None, jur: str | None) -> str:
    if not body:
        return ""
    low = body.lower()
    for key, gen in _BODY.items():
        if low.startswith(key):
            rest = body[len(key):].strip()
            if key == "министерство":
                rest = _CAPITALS.sub(lambda m: " ".join(_cap(w) for w in m.group(1).split()), rest.lower())
            elif jur in _JUR and not rest:
                rest = _JUR[jur][0]
            return f"{gen} {rest}".strip()
    return ""


def act_names(req: dict, info) -> tuple[str, str, str, str] | None:
    """(nominative, genitive, short genitive, short nominative) names of an act from its
    requisites, or None when they do not name it (no kind, or a code without its branch)."""
    kind = req.get("kind")
    if kind not in _KIND:
        return None
    jur = req.get("jurisdiction")
    jur_gen, jur_short = _JUR.get(jur, ("", ""))
    number, date, name = req.get("number"), req.get("date"), req.get("name")
    reqs = _requisites(number, date)
    if kind == "кодекс":
        if name and name.startswith(("о ", "об ")):
            nom, gen, tail = "Кодекс", "Кодекса", f"{jur_gen} {name}".strip()
        elif name:
            gen_words = " ".join(_genitive_adjective(w) for w in name.split())
            nom, gen, tail = f"{_cap(name)} кодекс", f"{_cap(gen_words)} кодекса", jur_gen
        else:
            return None
        part = _part(info)
        abbr = next((a for a, n in ABBREVIATIONS.items() if n == name), "")
        short = f"{abbr} {jur_short}".strip() if abbr else " ".join(x for x in (gen, tail) if x)
        return (" ".join(x for x in (nom, tail, part, reqs) if x), " ".join(x for x in (gen, tail, part, reqs) if x),
                short, short)
    if kind == "конституция":
        return (f"Конституция {jur_gen}".strip(), f"Конституции {jur_gen}".strip(),
                f"Конституции {jur_short}".strip(), f"Конституция {jur_short}".strip())
    nom_kind, gen_kind = _KIND[kind]
    federal = kind == "закон" and (number or "").upper().endswith("-ФЗ")
    if federal:
        nom_kind, gen_kind = "Федеральный закон", "Федерального закона"
    body = _body_genitive(req.get("body"), jur) if kind != "закон" else ""
    where = body or ("" if federal or not jur_gen else jur_gen)
    title = _quoted_name(name)
    nom = " ".join(x for x in (nom_kind, where, reqs, title) if x)
    gen = " ".join(x for x in (gen_kind, where, reqs, title) if x)
    if federal:
        short_where = ""
    elif body.startswith("Правительства"):
        short_where = f"Правительства {jur_short}".strip()
    elif body.startswith("Министерства"):
        # The ministry's usual short name when the title has it (`Минстроя России`), else none.
        m = _MINISTRY.search(info.title or "")
        short_where = m.group(0) if m else ""
    else:
        short_where = jur_short
    num = f"№ {_number(number)}" if number else _requisites(None, date)
    short_gen = " ".join(x for x in ("Закона" if kind == "закон" else gen_kind, short_where, num) if x)
    short_nom = " ".join(x for x in (nom_kind, short_where, reqs) if x)
    return nom, gen, short_gen, short_nom


_names: dict[tuple, tuple | None] = {}


def _names_of(info, req: dict):
    """act_names() once per document version (a page of results cites one act many times)."""
    key = (info.doc_id, info.sha256, info.title, info.path, tuple(sorted((k, str(v)) for k, v in req.items())))
    if key not in _names:
        if len(_names) > 4096:
            _names.clear()
        _names[key] = act_names(req, info)
    return _names[key]


def stable_anchor(info, article: str | None, page: int | None) -> str:
    """The anchor of a passage that survives re-indexing: `st-84` for an article, `page-12` for
    a page of a paginated document, "" otherwise (then only `p-<ordinal>` is left)."""
    if article:
        return f"st-{article}"
    if page and info is not None and info.pages > 1:
        return f"page-{page}"
    return ""


def cite(info, *, article: str | None = None, page: int | None = None, heading: str = "") -> Cite:
    """The citation of a passage (an article, a page, a section) of the document `info`
    (a kb.search.DocInfo)."""
    heading = " ".join((heading or "").split())
    consult = info.meta.get("consultation")
    if consult:
        return _consultation(consult, heading)
    req = info.meta.get("requisites") or {}
    names = _names_of(info, req) if info.doc_type == "нормативный акт" else None
    paged = page if page and info.pages > 1 else None
    if names:
        nom, gen, short, short_nom = names
        if article:
            return Cite(f"ст. {article} {gen}", f"ст. {article} {short}")
        if paged:
            return Cite(f"{nom}, с. {paged}", f"{short_nom}, с. {paged}")
        return Cite(nom, short_nom)
    return _work(info, article, paged, heading)


def _work(info, article: str | None, page: int | None, heading: str) -> Cite:
    """A report, study or other document: organisation, title, year, and the page or section."""
    title = (info.title or info.path).strip().rstrip(".")
    org = ((info.meta.get("sidecar") or {}).get("organisation") or "").strip().rstrip(".")
    year = str(info.year) if info.year else ""
    full = [f"{org}. {title}" if org and org.lower() not in title.lower() else title]
    short = [title]
    if year:
        full.append(year)
        short.append(year)
    if article:
        full.append(f"Ст. {article}")
        short.append(f"ст. {article}")
    elif page:
        full.append(f"С. {page}")
        short.append(f"с. {page}")
    elif heading and heading.lower() != title.lower():
        section = heading if len(heading) <= 120 else heading[:120].rsplit(" ", 1)[0] + " …"
        full.append(f"Разд. «{section}»")
        short.append(f"разд. «{section}»")
    return Cite(". — ".join(full) + ".", ", ".join(short))


def _consultation(c: dict, heading: str) -> Cite:
    num = c.get("id") or ""
    date = _date(c.get("date")) if c.get("date") else ""
    head = "Консультация" + (f" № {num}" if num else "") + (f" от {date}" if date else "")
    short = "Конс." + (f" № {num}" if num else "") + (f" от {date}" if date else "")
    part = heading.lower() if heading.lower() in ("вопрос", "ответ") else ""
    return Cite(", ".join(p for p in (head, part) if p), ", ".join(p for p in (short, part) if p))
