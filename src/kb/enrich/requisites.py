"""Requisites of a legal act (jurisdiction, kind, number, adoption date, body,
edition date) and the year of any document for the year facet."""

from __future__ import annotations

import re
from collections import Counter

from kb.enrich._text import head_lines, norm, one_date
from kb.enrich.citations import NEIGHBOURS, code_name, make_key, normalize_number

__all__ = ["act_requisites", "document_year"]

_KINDS = [
    (r"ФЕДЕРАЛЬНЫЙ\s+КОНСТИТУЦИОННЫЙ\s+ЗАКОН", "закон"), (r"ФЕДЕРАЛЬНЫЙ\s+ЗАКОН", "закон"),
    (r"КОНСТИТУЦИОННЫЙ\s+ЗАКОН", "закон"), (r"КОНСТИТУЦИЯ", "конституция"),
    (r"(?:[А-ЯЁ-]+\s+){0,2}КОДЕКС", "кодекс"), (r"ЗАКОН", "закон"), (r"ПОСТАНОВЛЕНИЕ", "постановление"),
    (r"УКАЗ", "указ"), (r"РАСПОРЯЖЕНИЕ", "распоряжение"), (r"ПРИКАЗ", "приказ"), (r"ПИСЬМО", "письмо"),
    (r"РЕШЕНИЕ", "решение"), (r"ПОЛОЖЕНИЕ", "положение"),
]
_KIND_LINE = re.compile(r"^(?:(?P<pre>[А-ЯЁ\s,-]+?)\s+)?(?P<kind>" + "|".join(k for k, _ in _KINDS) + r")(?P<rest>(?:\s.*)?)$")
_MONTHS = r"(?:январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр)\w*"
_DATE = rf"(?:\d{{1,2}}\.\d{{1,2}}\.\d{{4}}|\d{{1,2}}\s+{_MONTHS}\s+\d{{4}})(?:\s*(?:года|г\.?))?"
_REQ_LINE = re.compile(rf"(?:от\s+)?(?P<date>{_DATE})\s*(?:г\.|года)?\s*[№N]\s*(?P<num>\d[\w\-/]*)", re.I)
_NUM_FIRST = re.compile(rf"[№N]\s*(?P<num>\d[\w\-/]*)\s+от\s+(?P<date>{_DATE})", re.I)
_SIGNATURE = re.compile(rf"(?:Москва,\s*Кремль|г\.\s*Бишкек|Бишкек,\s*Дом\s+Правительства)\s*\n\s*(?P<date>{_DATE})\s*\n\s*[№N]\s*(?P<num>\d[\w\-/]*)", re.I)
_ADOPTED = re.compile(rf"Принят[аоы]?\s+(?P<body>[^\n\d]{{3,80}}?)\s+(?P<date>{_DATE})", re.I)
_EDITION = re.compile(r"\(\s*В\s+редакции\s+(?P<body>[^()]{0,4000}?)\)", re.I)
_CODE_TITLE = re.compile(r"^(?:[А-ЯЁ][а-яё-]+\s+){1,2}кодекс\s+(?:Российской\s+Федерации|Кыргызской\s+Республики)$")
_BODIES = {
    "правительство": "Правительство", "министерство": "Министерство", "президент": "Президент",
    "жогорку кенеш": "Жогорку Кенеш", "государственная дума": "Государственная Дума",
}


def _jur(s: str) -> str | None:
    n = norm(s)
    if re.search(r"российск\w* федераци|\bрф\b|росси", n):
        return "РФ"
    if re.search(r"кыргызск\w* республик|\bкр\b|кыргызстан", n):
        return "КР"
    # Checked last: a Kyrgyz act may name a neighbour (`соглашение ... с Республикой Казахстан`).
    return next((code for code, name in NEIGHBOURS.items() if re.search(name, n)), None)


def act_requisites(title: str, text: str) -> dict:
    """Requisites of a legal act read from its opening (and, for Russian federal laws
    and codes, the signature block at the end).

    Returns a dict with keys kind, jurisdiction, number, date (ISO adoption date),
    body (issuing body), edition_date (ISO, the last amendment listed in `В редакции`),
    name (code branch such as `жилищный`, or the act's title words) and act_key; each
    None when not stated. For a non-act every value is None."""
    out = dict.fromkeys(("kind", "jurisdiction", "number", "date", "body", "edition_date", "name", "act_key"))
    lines = head_lines(text, n=40, max_chars=12000)
    kind_idx = None
    for i, line in enumerate(lines[:20]):
        m = _KIND_LINE.match(line)
        if not m and len(line) < 120 and _CODE_TITLE.match(line):
            # pravo.gov.ru exports write `Жилищный кодекс Российской Федерации` in title case.
            m = _KIND_LINE.match(line.upper())
            line = line.upper()
        if m and line.upper() == line:
            kind_idx = i
            word = m.group("kind")
            out["kind"] = next(k for rx, k in _KINDS if re.fullmatch(rx, word))
            pre, rest = (m.group("pre") or "").strip(), (m.group("rest") or "").strip()
            if out["kind"] == "кодекс":
                low = line.lower()
                adj = re.search(r"((?:[а-яё-]+\s+){1,2})кодекс", low)
                out["name"] = None
                if adj:
                    words = adj.group(1).split()
                    out["name"] = code_name(" ".join(words)) or code_name(words[-1])
                if not out["name"]:
                    about = re.search(r"кодекс.*?(?<!\w)(об?\s+[а-яё\s]+)$", low)
                    out["name"] = norm(about.group(1)) if about else None
            elif rest and out["kind"] != "конституция":
                out["name"] = None
            # the body is on the line(s) above: `ПРАВИТЕЛЬСТВО РОССИЙСКОЙ ФЕДЕРАЦИИ`, `МИНИСТЕРСТВО ...`
            above = " ".join(lines[max(0, i - 2):i]) if i else ""
            for src in (pre, above):
                n = norm(src)
                for key, body in _BODIES.items():
                    if key in n:
                        out["body"] = src.strip().title() if key == "министерство" else body
                        break
                if out["body"]:
                    break
            out["jurisdiction"] = _jur(line) or _jur(above) or _jur(" ".join(lines[i + 1:i + 3]))
            # The title words after the requisites line: `О ПЕРСОНАЛЬНЫХ ДАННЫХ`.
            break
    if out["kind"] is None:
        return out
    # Requisites: on the title line or a line of their own just under it (`от 6 мая 2011 г. N 354`).
    for line in lines[kind_idx:kind_idx + 4] if out["kind"] != "конституция" else []:
        if re.match(r"^(?:Статья|Глава|РАЗДЕЛ|\(В\s+редакции)", line, re.I):
            break
        m = _REQ_LINE.search(line) or _NUM_FIRST.search(line)
        if m and (m.start() == 0 or line is lines[kind_idx]):
            out["date"], out["number"] = one_date(m.group("date")), normalize_number(m.group("num"))
            break
    if not out["number"] and out["kind"] != "конституция":
        sig = _SIGNATURE.search(text[-3000:])
        if sig:
            out["date"], out["number"] = one_date(sig.group("date")), normalize_number(sig.group("num"))
            out["jurisdiction"] = out["jurisdiction"] or ("РФ" if "Кремль" in sig.group(0) else "КР")
    if not out["date"]:
        adopted = _ADOPTED.search("\n".join(lines[:15]))
        if adopted:
            out["date"] = one_date(adopted.group("date"))
            out["body"] = out["body"] or adopted.group("body").strip()
    if out["kind"] == "конституция":
        d = re.search(rf"[Пп]ринята[^\n]{{0,60}}?({_DATE})", "\n".join(lines[:8]))
        out["date"] = one_date(d.group(1)) if d else out["date"]
        out["body"] = None
    if not out["body"]:
        adopted = _ADOPTED.search("\n".join(lines[:15]))
        if adopted:
            out["body"] = re.sub(r"\s+", " ", adopted.group("body")).strip()
    if out["body"] and norm(out["body"]).startswith("государственной дум"):
        out["body"] = "Государственная Дума"
    if out["kind"] == "конституция":
        out["body"] = None
    if out["number"] and out["number"].endswith("-ФЗ"):
        out["jurisdiction"] = "РФ"
    if out["jurisdiction"] is None:
        out["jurisdiction"] = _jur(title) or _jur(" ".join(lines[:12]))
    ed = _EDITION.search(text[:20000])
    if ed:
        dates = [one_date(d.group(0)) for d in re.finditer(_DATE, ed.group("body"))]
        dates = [d for d in dates if d]
        if dates:
            out["edition_date"] = max(dates)
    if out["kind"] not in ("кодекс", "конституция") and kind_idx is not None:
        # Title words: the uppercase lines after the requisites line.
        words = []
        for line in lines[kind_idx + 1:kind_idx + 10]:
            if _REQ_LINE.match(line) or re.match(r"^(?:от\s+)?\d", line):
                continue
            if line.upper() != line or re.match(r"^(Принят|Одобрен|Глава|Статья|РАЗДЕЛ)", line, re.I):
                if words:
                    break
                continue
            words.append(line)
        if words:
            out["name"] = norm(" ".join(words))[:300]
    ident = "" if out["kind"] == "конституция" else (out["number"] if out["kind"] != "кодекс" else out["name"]) or out["name"]
    if ident is not None:
        out["act_key"] = make_key(out["kind"], ident, out["jurisdiction"])
    return out


_REPORT_YEAR = re.compile(
    r"(?:годово\w*\s+отч[её]т\w*|отч[её]т\w*(?:\s+о\s+(?:деятельности|работе))?(?:\s+\S+){0,4}?\s+за|annual\s+report|report)"
    r"[\s\-_:]*(?:за\s+)?(?P<y>(?:19|20)\d\d)",
    re.I,
)


def document_year(title: str, text: str, dates: list[str] | None = None) -> int | None:
    """The year for the year facet: an act's adoption year, a report's year
    (`Годовой отчет 2019`, `annual-report-2019`), else the most frequent year among
    the document's dates (the latest on a tie), else a year in the title."""
    for src in (title or "", "\n".join(head_lines(text or "", n=15))):
        m = _REPORT_YEAR.search(src.replace("_", " "))
        if m:
            return int(m.group("y"))
    req = act_requisites(title or "", text or "")
    if req["date"]:
        return int(req["date"][:4])
    if dates:
        years = Counter(int(d[:4]) for d in dates if re.match(r"\d{4}", d))
        if years:
            top = max(years.values())
            return max(y for y, c in years.items() if c == top)
    m = re.search(r"\b((?:19|20)\d\d)\b", title or "")
    return int(m.group(1)) if m else None
