"""A citation of a passage in Russian legal style, built from its document's metadata.

    cite(info, article="84")  -> Cite("ст. 84 Жилищного кодекса Российской Федерации от 29.12.2004 № 188-ФЗ",
                                      "ст. 84 ЖК РФ")
    cite(report, page=12)     -> Cite("Интербилим. Годовой отчёт 2019. — 2019. — С. 12.", "Годовой отчёт 2019, 2019, с. 12")
    cite(consultation record, heading="Ответ") -> Cite("Консультация № k-001 от 14.02.2023, ответ", ...)
    cite(ПП РФ № 354, point="40", ordinal=120) -> Cite("п. 40 Правил предоставления коммунальных услуг ...,
        утв. постановлением Правительства Российской Федерации от 06.05.2011 № 354", "п. 40 Правил № 354")

Acts are named from their requisites (kb.enrich.act_requisites: kind, name, number, date,
body, jurisdiction), never from the title line, which is often a heading or a note; a
document without requisites is cited by its title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.enrich.citations import ABBREVIATIONS
from kb.search.snippets import highlight_spans

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


def stable_anchor(info, article: str | None, page: int | None, point: str | None = None,
                  ordinal: int | None = None, table: str | None = None) -> str:
    """The anchor of a passage that survives re-indexing: `st-84` for an article, `pt-1-40` for
    point 40 of an act without articles (1: in the first document it approves or appendix it
    has, 0: in the act itself; see point_scope), `tb-2-9` for its table 9 likewise, `page-12`
    for a page of a paginated document,
    "" otherwise (then only `p-<ordinal>` is left)."""
    if article:
        return f"st-{article}"
    paged = page and info is not None and info.pages > 1
    if (point or table) and not paged and info is not None and ordinal is not None:
        return f"{'pt' if point else 'tb'}-{point_scope(info, ordinal)}-{point or table}"
    if paged:
        return f"page-{page}"
    return ""


def point_scope(info, ordinal: int) -> int:
    """Which numbering of points a passage is in: 0 the act itself, N the Nth document it
    approves or appendix (each numbers its points from 1), from the outline as _parts reads it."""
    return sum(1 for first, _, _ in _parts(info) if first <= ordinal)


POINT_ANCHOR = re.compile(r"^(\d{1,4})-(\d{1,3}(?:\(\d{1,3}\))?(?:\.\d{1,3})?)$")


def point_passage(info, passages, anchor: str, table: bool = False) -> int | None:
    """The ordinal of the passage where point `anchor` (`1-40`, as in `pt-1-40`) begins, or with
    `table` the passage that is table `anchor` (`2-9`), among `passages` (stored fields with
    ordinal, heading and body); None when there is none."""
    m = POINT_ANCHOR.match(anchor or "")
    if not m:
        return None
    scope, point = int(m.group(1)), m.group(2)
    line = re.compile(r"(?m)^[ \t]*" + re.escape(point) + r"\.[ \t]+\S")
    for p in passages:
        o = p.get("ordinal", 0)
        if point_scope(info, o) != scope:
            continue
        if table:
            t = _TABLE.match(p.get("heading") or "")
            if t and t.group(1) == point:
                return o
        elif line.search(p.get("body", "")):
            return o
    return None


def cite(info, *, article: str | None = None, page: int | None = None, heading: str = "",
         point: str | None = None, table: str | None = None, ordinal: int | None = None) -> Cite:
    """The citation of a passage (an article, a page, a section) of the document `info`
    (a kb.search.DocInfo). `point` and `table` (see passage_place) and the passage's `ordinal`
    cite a point or table of an act without articles: of the rules the act approved
    (`п. 40 Правил № 354`), of an appendix, or of the act itself."""
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
        if (point or table) and not paged:
            return _point(info, req, names, point, table, ordinal)
        short_nom = _short_act(req, short_nom)
        if paged:
            return Cite(f"{nom}, с. {paged}", f"{short_nom}, с. {paged}")
        return Cite(nom, short_nom)
    return _work(info, article, paged, heading)


# A point opens a line: `40. Потребитель ...`, `148(54). ...`, `6.1. ...`.
_POINT = re.compile(r"(?m)^[ \t]*(\d{1,3}(?:\(\d{1,3}\))?(?:\.\d{1,3})?)\.[ \t]+(?=\S)")
_TABLE = re.compile(r"^Таблица\s+(?:N\s*|№\s*)?(\d+(?:\.\d+)?)\b")


def passage_place(body: str, heading: str = "", at: int = 0) -> dict:
    """What a passage of an act without articles is, for its label and citation: {"table": "9"}
    for a table (its heading says so), {"point": "40"} for the point holding offset `at` (the
    first match), else {}. A passage that begins inside a point names none until its next point
    (the point's number is in an earlier passage)."""
    m = _TABLE.match(heading or "")
    if m:
        return {"table": m.group(1)}
    found = None
    for p in _POINT.finditer(body or ""):
        if p.start() > at:
            break
        found = p.group(1)
    if found is None:
        # A match before the first point: in the section's heading that opens the passage, it is
        # the section's first point; in text continued from an earlier passage, none is known.
        first = _POINT.search(body or "")
        before = " ".join(body[:first.start()].split()) if first else ""
        if first and (not before or before == " ".join((heading or "").split())):
            found = first.group(1)
    return {"point": found} if found else {}


def first_match(text: str, matcher) -> int:
    """Where the first matched word of a passage is (0 without one): the point cited holds it."""
    spans = highlight_spans(text, matcher) if matcher else []
    return spans[0][0] if spans else 0


LOOK_BACK = 3       # passages read back for the point a passage continues (a long point's pieces)


def place_of(info, body: str, heading: str, article: str | None, at: int = 0,
             ordinal: int | None = None, earlier=None) -> dict:
    """passage_place() for a passage of an act without articles, else {} (an article says it all).
    A passage that continues a point (`а) ...`, `б) ...` after `2. Установить:`) is that point's
    when `earlier(start, stop)` gives the stored passages before it (in the same numbering)."""
    if article or info is None or info.doc_type != "нормативный акт":
        return {}
    place = passage_place(body, heading, at)
    if place or earlier is None or not ordinal or _TABLE.match(heading or ""):
        return place
    first = _POINT.search(body or "")
    if first and first.start() <= at:
        return place
    scope = point_scope(info, ordinal)
    for p in reversed(earlier(max(0, ordinal - LOOK_BACK), ordinal)):
        if point_scope(info, p.get("ordinal", 0)) != scope:
            break
        points = _POINT.findall(p.get("body", ""))
        if points:
            return {"point": points[-1]}
    return {}


# The document an act approves (`Утверждены ... ПРАВИЛА ...`): its first word(s) in the genitive
# (`п. 40 Правил`) and the dative (`прил. № 2 к Правилам`).
_APPROVED = {"правила": ("Правил", "Правилам"), "порядок": ("Порядка", "Порядку"),
             "положение": ("Положения", "Положению"), "требования": ("Требований", "Требованиям"),
             "перечень": ("Перечня", "Перечню"), "минимальный перечень": ("Минимального перечня", "Минимальному перечню"),
             "изменения": ("Изменений", "Изменениям"), "методика": ("Методики", "Методике"),
             "методические указания": ("Методических указаний", "Методическим указаниям"),
             "типовой договор": ("Типового договора", "Типовому договору"), "стандарт": ("Стандарта", "Стандарту"),
             "состав": ("Состава", "Составу"), "форма": ("Формы", "Форме"),
             "порядок и сроки": ("Порядка и сроков", "Порядку и срокам")}
_APPROVED_HEAD = re.compile(r"^(" + "|".join(sorted((k.upper() for k in _APPROVED), key=len, reverse=True))
                            + r")(?=[\s,]|$)")
_INSTRUMENTAL = {"постановление": "постановлением", "приказ": "приказом", "распоряжение": "распоряжением",
                 "указ": "указом", "решение": "решением"}
_DATIVE = {"постановление": "постановлению", "приказ": "приказу", "распоряжение": "распоряжению",
           "указ": "указу", "решение": "решению", "письмо": "письму", "закон": "закону", "положение": "положению"}
_APPENDIX = re.compile(r"^Приложение(?:\s+(?:N|№)\s*([\w().]+))?", re.I)
_OUTLINE_CUT = 195      # outline labels are cut at 200 characters: a cut name is left out


def _parts(info) -> list[tuple[int, str, str]]:
    """(first passage, "approved" | "appendix", name) of each document the act approves and
    each appendix, from the outline: an approved one's title in capitals follows `Утвержден(ы)`."""
    outline = info.meta.get("outline") or []
    key = ("parts", info.doc_id, info.sha256, len(outline), str(outline[:1]), str(outline[-1:]))
    if key in _names:
        return _names[key]
    if len(_names) > 4096:
        _names.clear()
    out: list[tuple[int, str, str]] = []
    for i, e in enumerate(outline):
        label = " ".join((e.get("label") or "").split())
        m = _APPENDIX.match(label)
        if m:
            out.append((e.get("ordinal", 0), "appendix", m.group(1) or ""))
            continue
        if _APPROVED_HEAD.match(label) and any(
                (x.get("label") or "").lower().startswith("утвержден") for x in outline[max(0, i - 3):i]):
            out.append((e.get("ordinal", 0), "approved", label))
    _names[key] = out
    return out


def _approved_names(label: str, number: str) -> tuple[str, str, str, str]:
    """(full genitive, short genitive `Правил № 354`, full dative, short dative) names of an
    approved document from its title in capitals."""
    head = _APPROVED_HEAD.match(label).group(1)
    gen, dat = _APPROVED[head.lower()]
    rest = label[len(head):].strip().lower()
    rest = _CAPITALS.sub(lambda x: " ".join(_cap(w) for w in x.group(1).split()), rest)
    tail = "" if not rest or len(label) >= _OUTLINE_CUT else ("" if rest.startswith(",") else " ") + rest
    num = f" № {number}" if number else ""
    return gen + tail, gen + num, dat + tail, dat + num


def _point(info, req: dict, names, point: str | None, table: str | None, ordinal: int | None) -> Cite:
    nom, gen, short_gen, short_nom = names
    what = f"п. {point}" if point else f"табл. {table}"
    approved = appendix = None
    for first, kind, name in _parts(info) if ordinal is not None else []:
        if first > ordinal:
            break
        if kind == "approved":
            approved, appendix = name, None
        else:
            appendix = name
    kind = req.get("kind")
    act_short = _short_act(req, short_nom)
    app = (f"прил. № {appendix}" if appendix else "прил.") if appendix is not None else ""
    if approved:
        full_gen, short_gen_a, full_dat, short_dat = _approved_names(approved, _number(req.get("number")))
        # `утв. постановлением Правительства ... от ... № ...`, without the act's own title.
        by = re.sub(r"\s«.*»$", "", f"{_INSTRUMENTAL.get(kind, '')} {gen.split(' ', 1)[-1]}").strip()
        if app:
            return Cite(f"{what} {app} к {full_dat}, утв. {by}", f"{what} {app} к {short_dat}")
        return Cite(f"{what} {full_gen}, утв. {by}", f"{what} {short_gen_a}")
    if app:
        rest = gen.split(" ", 1)[-1]
        dat_short = act_short if act_short.startswith("ПП") else \
            f"{_DATIVE.get(kind, '')} {act_short.split(' ', 1)[-1]}".strip()
        return Cite(f"{what} {app} к {_DATIVE.get(kind, '')} {rest}".replace("  ", " "), f"{what} {app} к {dat_short}")
    return Cite(f"{what} {gen}", f"{what} {_genitive_act(req, act_short)}")


def _genitive_act(req: dict, act_short: str) -> str:
    """`Письма Минстроя России от ... № ...` from `Письмо ...`; abbreviations stay (`ПП РФ`)."""
    first, _, rest = act_short.partition(" ")
    kind = req.get("kind")
    if kind in _KIND and first == _KIND[kind][0]:
        return f"{_KIND[kind][1]} {rest}".strip()
    if first == "Федеральный":
        return f"Федерального {rest.replace('закон', 'закона', 1)}"
    return act_short


def _short_act(req: dict, short_nom: str) -> str:
    """The act as lawyers abbreviate it: `ПП РФ от 06.05.2011 № 354` for a government resolution."""
    if req.get("kind") == "постановление" and short_nom.startswith("Постановление Правительства "):
        jur = req.get("jurisdiction")
        rest = short_nom[len("Постановление Правительства "):]
        if jur == "РФ" and rest.startswith("РФ"):
            return "ПП " + rest
        if jur == "КР" and rest.startswith("КР"):
            return "ППКР" + rest[2:]
    return short_nom


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
