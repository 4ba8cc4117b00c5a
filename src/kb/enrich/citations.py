"""References to legal acts and their articles found in running text.

`find_citations(text)` returns `Citation`s: the kind of act, its jurisdiction,
number, date, name, the cited articles and a canonical `act_key`
(`кодекс:жилищный:РФ`, `постановление:354:РФ`, `закон:152-ФЗ:РФ`,
`закон:о пробации:КР`) that `resolve()` matches against the acts of a collection.

Handled on purpose (see docs/enrich.md):
- self-references (`настоящего Кодекса`, `настоящей статьи`) are not citations of
  another act; they are skipped unless `include_self=True`, then kind `self`;
- `(далее - ЖК РФ)` / `(далее - Правила N 290)` only define a short name for the
  act just cited: not counted twice;
- a bare `ЖК` without an article before it is not taken (in Kyrgyz texts it is
  the parliament, Жогорку Кенеш); `ст. 84 ЖК` is the Housing Code;
- generic words without requisites (`федеральным законом`, `постановлением`)
  are not citations: an act needs a number, a name, or (codes) its branch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from kb.enrich._text import norm, one_date

__all__ = ["Citation", "find_citations", "resolve", "CODES", "ABBREVIATIONS", "NEIGHBOURS", "code_name", "make_key"]

# Canonical code name -> usual abbreviation. Order matters for matching: the
# longer names first, so that `гражданского процессуального` is not `гражданского`.
CODES: list[tuple[str, str, str]] = [
    # (regex of the inflected name before "кодекс", canonical name, abbreviation)
    (r"уголовно[-\s]*процессуальн\w*", "уголовно-процессуальный", "УПК"),
    (r"уголовно[-\s]*исполнительн\w*", "уголовно-исполнительный", "УИК"),
    (r"гражданск\w*\s+процессуальн\w*", "гражданский процессуальный", "ГПК"),
    (r"арбитражн\w*\s+процессуальн\w*", "арбитражный процессуальный", "АПК"),
    (r"жилищн\w*", "жилищный", "ЖК"),
    (r"гражданск\w*", "гражданский", "ГК"),
    (r"земельн\w*", "земельный", "ЗК"),
    (r"семейн\w*", "семейный", "СК"),
    (r"водн\w*", "водный", "ВК"),
    (r"трудов\w*", "трудовой", "ТК"),
    (r"налогов\w*", "налоговый", "НК"),
    (r"уголовн\w*", "уголовный", "УК"),
    (r"бюджетн\w*", "бюджетный", "БК"),
    (r"градостроительн\w*", "градостроительный", "ГрК"),
    (r"лесн\w*", "лесной", "ЛК"),
    (r"воздушн\w*", "воздушный", "ВзК"),
]
# Codes named by a phrase after "кодекс": `Кодекс ... о правонарушениях`.
_CODE_ABOUT = {
    "об административных правонарушениях": "КоАП",
    "о правонарушениях": "КоП",
    "о нарушениях": "КоН",
    "о проступках": "КоПр",
}
ABBREVIATIONS: dict[str, str] = {abbr: name for _, name, abbr in CODES}
ABBREVIATIONS.update({abbr: name for name, abbr in _CODE_ABOUT.items()})

_JUR = (r"(?:Российской\s+Федерации|Российская\s+Федерация|РФ|России|Кыргызской\s+Республики|Кыргызская\s+Республика|КР|"
        r"Республики\s+Кыргызстан|Республик[аи]\s+Казахстан|РК|Республик[аи]\s+Таджикистан|РТ|"
        r"Республик[аи]\s+Узбекистан|РУз|Туркменистана|Туркменистан)")
# Neighbours whose acts Central Asian texts cite: never to be taken for Kyrgyz acts.
NEIGHBOURS = {"РК": r"республик\w* казахстан", "РТ": r"республик\w* таджикистан",
              "РУз": r"республик\w* узбекистан", "ТМ": r"туркменистан"}
_MONTHS = r"(?:январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр)\w*"
_DATE = rf"(?:\d{{1,2}}\.\d{{1,2}}\.\d{{4}}|\d{{1,2}}\s+{_MONTHS}\s+\d{{4}})(?:\s*(?:года|год|г\.?)(?!\w))?"
_NUM = r"(?:[№N]\s*\d[\w\-/]*)"
_REQ = rf"(?:\s*(?:от\s+(?P<date>{_DATE})\s*,?\s*{_NUM}?|{_NUM}\s*,?\s*(?:от\s+(?P<date2>{_DATE}))?))"
# A quoted name; an unclosed quote (seen in real reports) ends at the end of the sentence.
_QUOTED = r"\s*[«\"“„]\s*(?P<qname>[^»\"”“]{3,300}?)\s*(?:[»\"”“]|(?=\.\s)|(?=\.$))"
_RX_QUOTED = re.compile(_QUOTED)

_KIND_WORD = {
    "закон": "закон", "постановлени": "постановление", "указ": "указ", "распоряжени": "распоряжение",
    "приказ": "приказ", "письм": "письмо", "решени": "решение", "конституци": "конституция",
    "конвенци": "конвенция", "пакт": "пакт", "деклараци": "декларация", "правил": "постановление",
}

_CODE_ADJ = "|".join(f"(?:{rx})" for rx, _, _ in CODES)
_KODEKS = r"[Кк]одекс(?:а|у|ом|е|ы|ов|ам|ами|ах)?(?!\w)"
# `Жилищного кодекса Российской Федерации`, `Гражданский Кодекс КР`.
_RX_CODE = re.compile(rf"(?P<adj>(?:{_CODE_ADJ}))\s+{_KODEKS}(?:\s+(?P<jur>{_JUR})(?!\w))?", re.I)
# `Кодекс Кыргызской Республики о правонарушениях`, `Кодексы о нарушениях и проступках`.
_RX_CODE_ABOUT = re.compile(
    rf"{_KODEKS}(?:\s+(?P<jur>{_JUR}))?\s+(?P<a1>об\s+административных\s+правонарушениях|о\s+правонарушениях|о\s+нарушениях|о\s+проступках)"
    rf"(?:\s+и\s+(?P<a2>правонарушениях|нарушениях|проступках))?(?:\s+(?P<jur2>{_JUR})(?!\w))?"
)
_RX_CONST = re.compile(rf"Конституци(?:я|и|ю|ей|е)(?!\w)(?:\s+(?P<jur>{_JUR})(?!\w))?")
# `Кодекс проступков и правонарушений` (informal genitive naming in reports).
_RX_CODE_GEN = re.compile(
    r"Кодекс(?:а|ы|ов)?\s+(?P<a1>проступков|нарушений|правонарушений)(?:\s+и\s+(?P<a2>проступков|нарушений|правонарушений))?(?!\w)"
)
_GEN_TO_ABOUT = {"проступков": "о проступках", "нарушений": "о нарушениях", "правонарушений": "о правонарушениях"}
_ABBR = "|".join(sorted(ABBREVIATIONS, key=len, reverse=True))
_RX_ABBR = re.compile(rf"(?<![\w-])(?P<abbr>{_ABBR})(?:\s*(?P<jur>РФ|КР|России|РК|РТ|РУз)(?!\w))?(?![\w-])")
# Laws: `Федеральный закон от 27.07.2006 № 152-ФЗ "О персональных данных"`,
# `Закон Кыргызской Республики «О пробации»`, `Законом КР от 16 декабря 2016 года № 207`.
_RX_LAW = re.compile(
    rf"(?P<kind>(?:[Фф]едеральн\w+\s+(?:конституционн\w+\s+)?|[Кк]онституционн\w+\s+)?(?:закон|Закон)(?:а|у|ом|е|ы|ов|ам|ами|ах)?)(?!\w)"
    rf"(?:\s+(?P<jur>{_JUR})(?!\w))?"
    rf"(?P<req>{_REQ})?"
)
# Acts named by issuing body: `Постановление Правительства КР № 911 от 16 ноября 2019 года`,
# `Приказом Минстроя России от 25.12.2015 N 938/пр`, `Письмо Минстроя РФ от ...`.
_BODY = (
    r"Правительства|Президента|Пленума\s+Верховного\s+Суда|Верховного\s+Суда|Конституционного\s+Суда|"
    r"Жогорку\s+Кенеша|Минстроя|Минрегиона|Минэнерго|Минэкономразвития|Минфина|Минюста|Минтруда|Госстроя|"
    r"ФАС|Роспотребнадзора|Росстата|Министерства\s+(?:[а-яё-]+\s+){0,6}?[а-яё-]+|"
    r"Федеральной\s+(?:службы|антимонопольной\s+службы)(?:\s+[а-яё-]+){0,4}?|Государственного\s+комитета(?:\s+[а-яё-]+){0,4}?|"
    r"Мэрии(?:\s+[а-яё-]+){0,2}?|Национального\s+банка"
)
_RX_ACT = re.compile(
    rf"(?P<kind>[Пп]остановлени(?:е|я|ю|ем|и|й|ями|ям|ях)|Указ(?:а|у|ом|е|ы|ов)?|[Уу]каз(?:ом|а)|[Рр]аспоряжени(?:е|я|ю|ем|и|й)|"
    rf"[Пп]риказ(?:а|у|ом|е|ы|ов)?|[Пп]исьм(?:о|а|у|ом|е)|Решени(?:е|я|ю|ем|и))(?!\w)"
    rf"(?:\s+(?P<body>{_BODY})(?!\w))?(?:\s+(?P<jur>{_JUR})(?!\w))?"
    rf"(?P<req>{_REQ})?"
)
# `Правил N 354`, `Правила № 306` (rules approved by the resolution of that number).
_RX_RULES = re.compile(r"Правил(?:а|ах|ами|ам)?\s+[№N]\s*(?P<num>\d+)(?!\d)")
_RX_INTL = re.compile(
    r"(?P<kind>Конвенци(?:я|и|ю|ей|ях|й)|Пакт(?:а|у|ом|е)?|Деклараци(?:я|и|ю|ей))(?!\w)"
    r"(?:\s+(?:ООН|Организации\s+Объединенных\s+Наций))?"
)
_RX_SELF = re.compile(
    r"настоящ(?:ий|его|ему|им|ем|ая|ей|ую|ие|их|ими)\s+(?P<what>Кодекс\w*|Федеральн\w+\s+закон\w*|Закон\w*|стать\w+|"
    r"[Пп]остановлени\w+|Правил\w*|Приказ\w*|Положени\w+|Порядк\w*)"
)
_RX_DALEE = re.compile(r"далее\s*[-–—]?\s*(?:по\s+тексту\s*[-–—]?\s*)?[«\"“]?\s*$", re.I)
# An article reference right before an act: `статьи 155 и 157`, `ст. 12`, `частью 1.2 статьи 161`.
_NUMS = r"\d+(?:\.\d+)*(?:\s*(?:,|и|-|–|—)\s*\d+(?:\.\d+)*)*"
_RX_ART_BEFORE = re.compile(
    rf"(?:[Сс]татей|[Сс]тать(?:я|и|ю|ей|е|ями|ях|ям)|[Сс]т\.|[Сс]т)\s*(?P<nums>{_NUMS})\s*$"
)
# An article reference right after an act, on the same line: `Семейному кодексу КР, статья 80`,
# `ЖК РФ ст. 84`, `Жилищного кодекса (статьи 83 и 84)`.
_RX_ART_AFTER = re.compile(
    rf"[ \t]*(?:,|\(|–|—|-)?[ \t]*(?:[Сс]татей|[Сс]тать(?:я|и|ю|ей|е|ями|ях|ям)|[Сс]т\.|[Сс]т)[ \t]*(?P<nums>{_NUMS})(?!\d)"
)
_RX_PART_TAIL = re.compile(
    r"(?:,|\s+и)\s*(?:(?:част|пункт|подпункт|абзац)\w*\s+\d[\d.]*(?:\s*(?:,|и)\s*\d[\d.]*)*\s+)?$"
)
_RX_LOWER_WORD = re.compile(r"[а-яё][а-яё-]*")


@dataclass
class Citation:
    """One reference to a legal act (and optionally to its articles) in a text."""

    kind: str
    jurisdiction: str | None
    number: str | None
    date: str | None
    name: str | None
    articles: list[str] = field(default_factory=list)
    act_key: str = ""
    start: int = 0
    end: int = 0
    body: str | None = None

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "jurisdiction": self.jurisdiction, "number": self.number,
            "date": self.date, "name": self.name, "articles": list(self.articles),
            "act_key": self.act_key, "start": self.start, "end": self.end, "body": self.body,
        }


def jurisdiction_of(s: str | None) -> str | None:
    if not s:
        return None
    n = norm(s)
    for code, name in NEIGHBOURS.items():
        if n == code.lower() or re.match(name, n):
            return code
    if n.startswith(("росси", "рф")):
        return "РФ"
    if n.startswith(("кыргыз", "кр", "республики кыргызстан")):
        return "КР"
    return None


def code_name(adjective_phrase: str) -> str | None:
    """`Жилищного` / `гражданского процессуального` -> canonical code name."""
    for rx, name, _ in CODES:
        if re.fullmatch(rx, adjective_phrase.strip(), re.I):
            return name
    return None


def normalize_number(num: str | None) -> str | None:
    if not num:
        return None
    num = num.strip().rstrip(".,;:)-")
    return re.sub(r"\s+", "", num).upper() or None


def make_key(kind: str, ident: str | None, jurisdiction: str | None) -> str:
    """Canonical act key `kind:ident:jurisdiction` (`?` when the jurisdiction is unknown)."""
    ident = ident or ""
    ident = ident if re.match(r"\d", ident) else norm(ident)
    return f"{kind}:{ident}:{jurisdiction or '?'}"


def _key_ident(kind: str, number: str | None, name: str | None) -> str | None:
    if kind == "конституция":
        return ""
    if kind == "кодекс":
        return name
    return number or name


@lru_cache(maxsize=20_000)
def _may_be_genitive(word: str) -> bool:
    from kb.morphology import analyzer

    return any("gent" in p.tag for p in analyzer().parse(word))


def _about_name(text: str, pos: int) -> tuple[str, int] | None:
    """An unquoted name `о пробации`, `о правах инвалидов` starting at `pos`.

    The first noun is taken whatever its case; following words only while they can be
    genitive (`о правах инвалидов`), so the sentence after the name is not swallowed."""
    m = re.compile(r"\s+(об?|обо)\s+").match(text, pos)
    if not m:
        return None
    words = [m.group(1)]
    i = m.end()
    w = _RX_LOWER_WORD.match(text, i)
    if not w:
        return None
    words.append(w.group(0))
    end = w.end()
    while len(words) < 6:
        nxt = re.compile(r"\s+([а-яё][а-яё-]*)").match(text, end)
        if not nxt or nxt.group(1) in ("и", "в", "на", "по", "с", "для", "от", "о", "об") or not _may_be_genitive(nxt.group(1)):
            break
        words.append(nxt.group(1))
        end = nxt.end()
    return " ".join(words), end


def _quoted_name(text: str, end: int) -> tuple[str | None, int]:
    """A quoted act name right after `end` (`«О пробации»`), normalised, and where it ends."""
    q = _RX_QUOTED.match(text, end)
    return (norm(q.group("qname")), q.end()) if q else (None, end)


def _defines_short_name(text: str, start: int) -> bool:
    """`(далее - ЖК РФ)` just before: a short name for the act already cited, not a citation."""
    return bool(_RX_DALEE.search(text[max(0, start - 40): start]))


def _req(m: re.Match) -> tuple[str | None, str | None]:
    """(ISO date, number) of the requisites group of a match, either order."""
    req = m.groupdict().get("req")
    if not req:
        return None, None
    d = m.group("date") or m.group("date2")
    nums = re.findall(r"[№N]\s*(\d[\w\-/]*)", req)
    return (one_date(d) if d else None), normalize_number(nums[0] if nums else None)


_RX_MORE = re.compile(rf"\s*(?:,|;|\s+и)\s*(?:от\s+)?(?P<date>{_DATE})\s*[№N]\s*(?P<num>\d[\w\-/]*)")


def _more_requisites(text: str, end: int) -> list[tuple[str | None, str | None, int, int]]:
    """Further `, от DATE N NUM` after a plural act word (`Постановлений ... от A N 1, от B N 2`)."""
    out = []
    while True:
        m = _RX_MORE.match(text, end)
        if not m:
            return out
        out.append((one_date(m.group("date")), normalize_number(m.group("num")), m.start() + len(m.group(0)) - len(m.group(0).lstrip(" ,;и")), m.end()))
        end = m.end()


def _split_numbers(nums: str) -> list[str]:
    """`155 и 157`, `12, 13-15` -> ["155", "157"], ["12", "13-15"]."""
    out = []
    for piece in re.split(r"\s*(?:,|\sи\s)\s*", nums):
        piece = re.sub(r"\s*[-–—]\s*", "-", piece.strip())
        if piece:
            out.append(piece)
    return out


def _articles_after(text: str, end: int) -> tuple[list[str], int]:
    """Article numbers written right after an act (same line) and where they end."""
    m = _RX_ART_AFTER.match(text, end)
    if not m:
        return [], end
    # `Земельного кодекса, статьи 12 Закона ...`: those articles belong to the next act.
    nxt = re.compile(r"[ \t]*").match(text, m.end()).end()
    if any(rx.match(text, nxt) for rx in (_RX_CODE, _RX_CODE_ABOUT, _RX_CONST, _RX_ABBR, _RX_LAW, _RX_ACT, _RX_RULES)):
        return [], end
    return _split_numbers(m.group("nums")), m.end()


def _articles_before(text: str, start: int) -> tuple[list[str], int]:
    """Article numbers written right before `start` and where that reference begins."""
    arts: list[str] = []
    begin = start
    window_start = max(0, start - 300)
    window = text[window_start:start]
    while True:
        m = _RX_ART_BEFORE.search(window)
        if not m:
            break
        arts = _split_numbers(m.group("nums")) + arts
        begin = window_start + m.start()
        window = window[: m.start()]
        tail = _RX_PART_TAIL.search(window)
        if not tail:
            break
        window = window[: tail.start()]
    return arts, begin


def infer_jurisdiction(text: str) -> str | None:
    """The jurisdiction a text mostly speaks of, for citations that do not say it."""
    sample = text[:300_000]
    ru = len(re.findall(r"Российской\s+Федерации|Российская\s+Федерация|\bРФ\b|России", sample))
    kg = len(re.findall(r"Кыргызск\w+\s+Республик\w+|\bКР\b|Кыргызстан", sample))
    if ru == kg == 0:
        return None
    return "РФ" if ru > kg else "КР"


def find_citations(text: str, *, default_jurisdiction: str | None = None, include_self: bool = False) -> list[Citation]:
    """All references to legal acts in `text`, in order of position.

    `default_jurisdiction` is given to citations that do not state one (`Правил N 354`,
    `Налогового кодекса`); by default it is inferred from the text itself."""
    if default_jurisdiction is None:
        default_jurisdiction = infer_jurisdiction(text)
    found: list[Citation] = []

    def add(kind, jur, number, date, name, start, end, body=None, articles_from=None, explicit_jur=True):
        arts, begin = _articles_before(text, articles_from if articles_from is not None else start)
        if not arts:
            begin = start
            if kind in ("кодекс", "закон", "конституция"):
                arts, end = _articles_after(text, end)
        if not jur and kind != "конвенция":
            jur = default_jurisdiction
        ident = _key_ident(kind, number, name)
        if ident is None:
            return
        found.append(Citation(kind, jur, number, date, name, arts, make_key(kind, ident, jur), begin, end, body))

    for m in _RX_CODE.finditer(text):
        name = code_name(m.group("adj"))
        if name:
            add("кодекс", jurisdiction_of(m.group("jur")), None, None, name, m.start(), m.end())
    for m in _RX_CODE_ABOUT.finditer(text):
        jur = jurisdiction_of(m.group("jur") or m.group("jur2"))
        about1 = norm(m.group("a1"))
        add("кодекс", jur, None, None, about1, m.start(), m.end())
        if m.group("a2"):
            # `Кодексы о нарушениях и проступках`: two codes in one phrase.
            add("кодекс", jur, None, None, "о " + norm(m.group("a2")), m.start(), m.end())
    for m in _RX_CODE_GEN.finditer(text):
        for g in ("a1", "a2"):
            if m.group(g):
                add("кодекс", None, None, None, _GEN_TO_ABOUT[m.group(g)], m.start(), m.end())
    for m in _RX_CONST.finditer(text):
        add("конституция", jurisdiction_of(m.group("jur")), None, None, None, m.start(), m.end())
    for m in _RX_ABBR.finditer(text):
        abbr, jur = m.group("abbr"), jurisdiction_of(m.group("jur"))
        if _defines_short_name(text, m.start()):
            continue  # `(далее - ЖК РФ)` names the act already cited
        arts = _articles_before(text, m.start())[0] or _articles_after(text, m.end())[0]
        if not arts and (jur is None or abbr == "ЖК" and jur == "КР"):
            continue  # bare `ЖК`, `ГК`: too ambiguous (Жогорку Кенеш, ...) without an article
        add("кодекс", jur, None, None, ABBREVIATIONS[abbr], m.start(), m.end())
    for m in _RX_LAW.finditer(text):
        kind_word = m.group("kind")
        jur = jurisdiction_of(m.group("jur"))
        if "едеральн" in kind_word:
            jur = "РФ"
        date, number = _req(m)
        name, end = _quoted_name(text, m.end())
        if name:
            if not m.group("req"):
                # `Законом "О ..." от 12.01.2005 № 8`: requisites after the name.
                r = re.compile(_REQ).match(text, end)
                if r and (r.group("date") or r.group("date2") or "№" in r.group(0) or "N" in r.group(0)):
                    date = one_date(r.group("date") or r.group("date2") or "") or None
                    nums = re.findall(r"[№N]\s*(\d[\w\-/]*)", r.group(0))
                    number = normalize_number(nums[0]) if nums else None
                    end = r.end()
        elif kind_word[0] in "ЗФК" and not number:
            about = _about_name(text, end)
            if about:
                name, end = about
                name = norm(name)
        if number and number.upper().endswith("-ФЗ"):
            jur = "РФ"
        if not number and not name:
            continue
        if _defines_short_name(text, m.start()):
            continue
        add("закон", jur, number, date, name, m.start(), end)
        if kind_word.lower().endswith(("ов", "ами", "ам", "ах", "ы")) and number:
            for d2, n2, s2, e2 in _more_requisites(text, end):
                found.append(Citation("закон", jur if not (n2 or "").upper().endswith("-ФЗ") else "РФ", n2, d2, None, [],
                                      make_key("закон", n2, jur or default_jurisdiction), s2, e2))
    for m in _RX_ACT.finditer(text):
        kw = norm(m.group("kind"))
        kind = next(v for k, v in _KIND_WORD.items() if kw.startswith(k))
        body = m.group("body")
        jur = jurisdiction_of(m.group("jur"))
        date, number = _req(m)
        name, end = _quoted_name(text, m.end())
        if not (number or (body and name)):
            continue  # `постановлением`, `настоящим Приказом`, `Решение о ...`: no requisites
        if _defines_short_name(text, m.start()):
            continue
        if kind == "постановление" and body and norm(body).startswith("пленум"):
            kind = "постановление пленума"
        add(kind, jur, number, date, name, m.start(), end, body=body)
        if number:
            for d2, n2, s2, e2 in _more_requisites(text, end):
                j2 = jur or default_jurisdiction
                found.append(Citation(kind, j2, n2, d2, None, [], make_key(kind, _key_ident(kind, n2, None), j2), s2, e2, body))
    for m in _RX_RULES.finditer(text):
        if _defines_short_name(text, m.start()):
            continue
        add("постановление", None, m.group("num"), None, None, m.start(), m.end())
    for m in _RX_INTL.finditer(text):
        kind = next(v for k, v in _KIND_WORD.items() if m.group("kind").lower().startswith(k))
        name, end = _quoted_name(text, m.end())
        if not name:
            about = _about_name(text, end)
            if not about:
                continue
            name, end = norm(about[0]), about[1]
        add("конвенция" if kind == "конвенция" else kind, "международный", None, None, name, m.start(), end)
    if include_self:
        for m in _RX_SELF.finditer(text):
            what = norm(m.group("what"))
            if what.startswith("стать"):
                continue  # `настоящей статьи`: the article itself, nothing to link
            arts, begin = _articles_before(text, m.start())
            found.append(Citation("self", None, None, None, what, arts, "self", begin if arts else m.start(), m.end()))
    return _dedupe(found)


def _dedupe(found: list[Citation]) -> list[Citation]:
    """Drop matches inside a longer one (`конвенции` inside a law's quoted name)."""
    found.sort(key=lambda c: (c.start, -(c.end - c.start)))
    out: list[Citation] = []
    for c in found:
        inside = next((o for o in out if o.start <= c.start and c.end <= o.end and (o.start, o.end) != (c.start, c.end)), None)
        if inside is not None:
            continue
        if any(o.start == c.start and o.end == c.end and o.act_key == c.act_key for o in out):
            continue
        # Overlapping, not nested (an article prefix shared by two matches): keep the first.
        if out and c.start < out[-1].end and c.end > out[-1].end and c.kind == out[-1].kind and c.act_key == out[-1].act_key:
            continue
        out.append(c)
    return out


def _act_idents(act: dict) -> tuple[str | None, str | None, str | None, str | None]:
    """(kind, number, name, jurisdiction) of an act dict, from its fields or its act_key."""
    kind, number, name, jur = act.get("kind"), act.get("number"), act.get("name"), act.get("jurisdiction")
    key = act.get("act_key")
    if key and key.count(":") >= 2:
        k_kind, k_ident, k_jur = key.split(":", 2)[0], key.split(":")[1], key.rsplit(":", 1)[1]
        kind = kind or k_kind
        jur = jur or (None if k_jur == "?" else k_jur)
        if k_kind == "кодекс":
            name = name or k_ident
        elif k_ident and re.match(r"\d", k_ident):
            number = number or k_ident
        else:
            name = name or k_ident
    return kind, number, name, jur


@lru_cache(maxsize=8192)
def _norm_idents(kind, number, name, jurisdiction, act_key):
    """(kind, number, name, jurisdiction) of an act as `resolve` compares them, or None for an
    act of no kind; cached: a collection's citations are resolved against the same acts
    thousands of times (1.2 s of a cold `kb search` before)."""
    kind, number, name, jur = _act_idents({"kind": kind, "number": number, "name": name,
                                           "jurisdiction": jurisdiction, "act_key": act_key})
    if not kind:
        return None
    kind = norm(kind)
    if kind.startswith("федеральн"):
        kind = "закон"
    return kind, normalize_number(number).upper() if number else "", norm(name or ""), jur


def _in_articles(articles, cited: list[str]) -> bool:
    if not articles or not cited:
        return False
    try:
        first = int(re.match(r"\d+", cited[0]).group(0))
    except (AttributeError, ValueError):
        return False
    if isinstance(articles, tuple) and len(articles) == 2:
        return articles[0] <= first <= articles[1]
    return str(first) in {str(a) for a in articles} or cited[0] in {str(a) for a in articles}


def resolve(citation: Citation, acts: list[dict]) -> str | None:
    """The `id` of the act in `acts` that `citation` refers to, or None.

    Each act is a dict with `id` and any of `kind`, `number`, `date`, `name`,
    `jurisdiction`, `act_key` (as `act_requisites` returns them) and optionally
    `articles` (a set of article numbers or a (first, last) range) to tell apart
    the parts of a code. Numbers must agree; a date agreeing adds confidence but a
    differing one does not veto (real letters misquote dates)."""
    if citation.kind == "self":
        return None
    best, best_score = None, 0.0
    c_num = (citation.number or "").upper()
    c_name = norm(citation.name or "")
    for act in acts:
        idents = _norm_idents(act.get("kind"), act.get("number"), act.get("name"), act.get("jurisdiction"),
                              act.get("act_key"))
        if idents is None:
            continue
        kind, number, name, jur = idents
        if kind != citation.kind and not (kind.startswith("постановление") and citation.kind.startswith("постановление")):
            continue
        if citation.jurisdiction and jur and citation.jurisdiction != jur:
            continue
        score = 0.0
        if citation.kind == "кодекс" or citation.kind == "конституция":
            if citation.kind == "кодекс" and name != c_name:
                continue
            score = 2.0
        elif c_num:
            if number != c_num:
                continue
            score = 3.0
        elif citation.name:
            if not name or name.strip("«»\"") != c_name:
                continue
            score = 2.0
        else:
            continue
        if citation.date and act.get("date"):
            score += 1.0 if act["date"] == citation.date else -0.5
        if _in_articles(act.get("articles"), citation.articles):
            score += 1.0
        if score > best_score:
            best, best_score = act.get("id"), score
    return best
