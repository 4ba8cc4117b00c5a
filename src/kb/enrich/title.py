"""The title a document is shown and found by, and the organisations it names.

A title must name the document: not `ВНИМАНИЕ!` (a warning printed above a code), not
`I. ВВЕДЕНИЕ.` (a report's first section), not `Изменения, внесенные Законом...`.
Precedence (docs/enrich.md): the sidecar's `title`; the title the file declares
(DOCX/PDF properties, HTML <title> or title markup) unless it is a placeholder; for an act,
its title line (with the part of a code: `(часть II)`); the first substantial line of the
title block at the top; last, the file name, made readable (`interbilim-annual-report-2019`
-> `Годовой отчёт «МЦ Интербилим» за 2019 год`). Titles in capitals are written in
ordinary case (`ТРУДОВОЙ КОДЕКС КЫРГЫЗСКОЙ РЕСПУБЛИКИ` -> `Трудовой кодекс Кыргызской
Республики`).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePath

from kb.enrich._text import head_lines

__all__ = ["choose_title", "organisations", "unshout", "file_words"]

MAX_TITLE = 300      # longer declared titles (ConsultantPlus lists every appendix) end at a word, with …

# Lines above or around a title that are never one.
_NOT_TITLE = re.compile(
    r"^(?:внимание\W*|важно\W*|введение\W*|содержание\W*|оглавление\W*|предисловие\W*|аннотация\W*"
    r"|изменения,?\s+внесенн|вступа\w+\s+в\s+силу|по\s+истечении|\(?\s*в\s+редакции|\(?\s*с\s+учетом|\(?\s*введен"
    r"|см\.\s+также|российская\s+федерация$|кыргызская\s+республика$|принят[аоы]?\s|одобрен[аоы]?\s"
    r"|документ\s+предоставлен|консультантплюс|гарант|утвержден|приложение|от\s+\d|\d|[ivxlc]+\.\s"
    r"|microsoft\s+word|untitled|без\s+названия)",
    re.I,
)
# A numbered section heading: the text has started, the title block is over.
_SECTION = re.compile(r"^(?:[IVXLC]+\.|\d+(?:\.\d+)*\.?)\s+\S|^(?:статья|глава|раздел|часть)\s+\S", re.I)
_PART = re.compile(r"^ЧАСТЬ\s+(?P<p>[IVX]+|\d+|ПЕРВАЯ|ВТОРАЯ|ТРЕТЬЯ|ЧЕТВЕРТАЯ|ЧЕТВЁРТАЯ)\.?$", re.I)
_PART_IN_TITLE = re.compile(r"\bчаст[ьи]\b", re.I)
_ACT_WORD = re.compile(r"^(?:(?:[А-ЯЁ-]+\s+){0,3}КОДЕКС|КОНСТИТУЦИЯ|(?:ФЕДЕРАЛЬНЫЙ\s+)?(?:КОНСТИТУЦИОННЫЙ\s+)?ЗАКОН"
                       r"|ПОСТАНОВЛЕНИЕ|ПРИКАЗ|ПИСЬМО|УКАЗ|РАСПОРЯЖЕНИЕ|РЕШЕНИЕ|ПОЛОЖЕНИЕ)\b")
_REQUISITES = re.compile(r"^(?:от\s+)?\d{1,2}(?:\s+[а-я]+\s+|\.\d{2}\.)\d{4}|^[№N]\s*\d", re.I)
# Names kept in capitals, and words that keep their capital letter in ordinary case.
_UPPER = {"КР", "РФ", "ООН", "НКО", "МЦ", "ОО", "ОФ", "ЖК", "ГК", "СНГ", "ЕАЭС", "ШОС", "ЖКХ", "МКД", "ТСЖ", "ОМСУ",
          "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"}
_PROPER = [("кыргызской республики", "Кыргызской Республики"), ("кыргызская республика", "Кыргызская Республика"),
           ("российской федерации", "Российской Федерации"), ("российская федерация", "Российская Федерация"),
           ("республики казахстан", "Республики Казахстан"), ("кыргызстан", "Кыргызстан"), ("бишкек", "Бишкек"),
           ("жогорку кенеш", "Жогорку Кенеш"), ("правительства", "Правительства"), ("президента", "Президента")]
_ORG_FORMS = r"(?:МЦ|ОО|ОФ|ОсОО|ООО|ОАО|ЗАО|АО|ОЮЛ|НКО|МОО|РОО|ГУ|ГП|ОБФ|ЧФ|ПРООН|ЮНИСЕФ)"
_ORG = re.compile(
    rf"«\s*(?P<inner>{_ORG_FORMS}\s+[^«»\n]{{2,60}}?)\s*»"
    rf"|(?<!\w)(?P<form>{_ORG_FORMS}|[Цц]ентр\w*|[Фф]онд\w*|[Аа]ссоциаци\w*|[Оо]бъединени\w*|[Оо]рганизаци\w*)"
    rf"\s*«\s*(?P<name>[^«»\n]{{2,60}}?)\s*»"
)
_ENGLISH = [(re.compile(r"\bannual\s+report\b", re.I), "Годовой отчёт"), (re.compile(r"\breport\b", re.I), "Отчёт"),
            (re.compile(r"\bстратеги\w*\b|\bstrategy\b", re.I), "Стратегия")]
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"]))


def unshout(text: str) -> str:
    """A title in capitals in ordinary case, abbreviations and proper names kept."""
    letters = [c for c in text if c.isalpha()]
    if not letters or sum(c.isupper() for c in letters) < 0.8 * len(letters):
        return text
    words = []
    for w in text.split():
        core = w.strip("«»\"().,;:")
        words.append(w if core in _UPPER else w.lower())
    out = " ".join(words)
    low = out.lower()
    for key, proper in _PROPER:
        for m in reversed(list(re.finditer(re.escape(key), low))):
            out = out[:m.start()] + proper + out[m.end():]
    return out[:1].upper() + out[1:]


def _tidy(title: str) -> str:
    """One line: markdown `#`, ConsultantPlus' angle brackets (`<Письмо>`) and spaces tidied."""
    t = " ".join(title.split()).lstrip("#").strip()
    t = re.sub(r"^<([^<>]{1,40})>", r"\1", t)
    t = re.sub(r"<([^<>]{3,300})>", r"«\1»", t)
    t = t.strip(" .:;,")
    if len(t) > MAX_TITLE:
        t = t[:t.rfind(" ", 0, MAX_TITLE)].rstrip(" ,;:(«\"") + "…"
    return t


def _declared(title: str) -> bool:
    """A title from the file's properties that names the document (not a placeholder)."""
    t = _tidy(title)
    letters = sum(c.isalpha() for c in t)
    return letters >= 4 and not _NOT_TITLE.match(t) and not re.search(r"\.(?:docx?|pdf|rtf|txt|html?)$", t, re.I)


def _part(lines: list[str]) -> str | None:
    """The part of a code this file holds: a line `ЧАСТЬ II` / `ЧАСТЬ ПЕРВАЯ` before its first article."""
    for line in lines:
        if re.match(r"^(?:Статья|СТАТЬЯ)\s+\d", line):
            return None
        m = _PART.match(line.strip())
        if m:
            return m.group("p").lower() if not re.fullmatch(r"[IVX]+", m.group("p")) else m.group("p")
    return None


def _act_title(lines: list[str]) -> str:
    """The act's title line (`ГРАЖДАНСКИЙ ПРОЦЕССУАЛЬНЫЙ КОДЕКС` + `КЫРГЫЗСКОЙ РЕСПУБЛИКИ`), or ""."""
    for i, line in enumerate(lines[:20]):
        if line.upper() != line or not _ACT_WORD.match(line):
            continue
        parts = [line]
        for nxt in lines[i + 1:i + 4]:
            if nxt.upper() != nxt or _REQUISITES.match(nxt) or _PART.match(nxt) or _SECTION.match(nxt) \
                    or nxt.startswith("(") or not re.search(r"[А-ЯЁ]{3}", nxt):
                break
            parts.append(nxt)
        return " ".join(parts)
    return ""


def _first_substantial(lines: list[str]) -> str:
    """The first line of the title block that can be a title; "" once the text has begun."""
    for line in lines[:12]:
        t = _tidy(line)
        if _SECTION.match(t):
            return ""
        if _NOT_TITLE.match(t) or sum(c.isalpha() for c in t) < 8 or len(t.split()) < 2:
            continue
        if len(t) > 200 or t.endswith((",", ";")):
            return ""         # running text: there is no title block
        return t
    return ""


def file_words(rel: str) -> list[str]:
    """The words of a file name (`annual-report_2019.pdf` -> annual, report, 2019)."""
    return [w for w in re.split(r"[\s_\-.,()№]+", PurePath(rel).stem) if w]


def _translit(word: str) -> str:
    return "".join(_TRANSLIT.get(c, c) for c in word.lower())


def organisations(text: str, limit: int = 5) -> list[str]:
    """Organisations a text names most (`«МЦ Интербилим»`, `ОО «Лидер»`), at least twice each."""
    counts: Counter = Counter()
    spelled: dict[str, Counter] = {}
    for m in _ORG.finditer(text[:300_000]):
        if m.group("inner"):
            name = " ".join(m.group("inner").split())
        else:
            form = m.group("form")
            name = " ".join(m.group("name").split())
            if re.fullmatch(_ORG_FORMS, form):
                name = f"{form} {name}"
        key = name.lower().replace("ё", "е")
        counts[key] += 1
        spelled.setdefault(key, Counter())[name] += 1
    # Each name as it is most often written (`МЦ Интербилим`, not `МЦ ИНТЕРБИЛИМ` of a heading).
    return [spelled[k].most_common(1)[0][0] for k, c in counts.most_common(limit) if c >= 2]


def _from_file_name(rel: str, text: str, doc_type: str, year: int | None) -> str:
    """The file name made readable; a report's name in English is said in Russian, with the
    organisation whose name it spells (`interbilim` = «МЦ Интербилим») and its year."""
    stem = " ".join(file_words(rel))
    kind = next((ru for rx, ru in _ENGLISH if rx.search(stem)), None)
    if doc_type == "отчёт" and kind:
        words = {w.lower() for w in file_words(rel)}
        org = next((o for o in organisations(text)
                    if any(_translit(w) in words for w in re.findall(r"[А-Яа-яЁё]{4,}", o))), None)
        title = kind
        if org:
            title += f" «{org}»"
        if year:
            title += f" за {year} год"
        return title
    return stem[:1].upper() + stem[1:]


def choose_title(declared: str, source: str, text: str, rel: str, *, sidecar_title: str = "",
                 doc_type: str = "", year: int | None = None) -> str:
    """The title to show (module doc). `declared` and `source` are the extraction's title and
    where it came from (Document.title, Document.title_source)."""
    if sidecar_title and sidecar_title.strip():
        return _tidy(sidecar_title)
    lines = head_lines(text or "", n=60, max_chars=15000)
    title = _tidy(declared) if source == "properties" and _declared(declared) else ""
    if doc_type == "нормативный акт":
        act = _act_title(lines)
        title = title or _tidy(act)
        part = _part(lines)
        if title and part and not _PART_IN_TITLE.search(title):
            title = f"{unshout(title)} (часть {part})"
    title = title or _first_substantial(lines)
    if not title:
        title = _from_file_name(rel, text or "", doc_type, year)
    return unshout(title) if title else PurePath(rel).stem
