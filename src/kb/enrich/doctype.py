"""Document type: `отчёт`, `нормативный акт`, `исследование`, `консультация`, `другое`.

Precedence (see docs/enrich.md): the sidecar's `type`, then the nearest folder
named after a type (`corpus/reports/...`, `corpus/законы/...`), then the text:
the title lines of an act (`КОДЕКС`, `ФЕДЕРАЛЬНЫЙ ЗАКОН`, `ПОСТАНОВЛЕНИЕ`...)
come before report, study and consultation wording, because a report quotes
laws in its body but an act never opens with `ГОДОВОЙ ОТЧЕТ`.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from kb.enrich._text import head_lines, norm

__all__ = ["TYPES", "classify", "type_from_name", "type_from_path", "type_from_text"]

REPORT, ACT, STUDY, CONSULTATION, OTHER = "отчёт", "нормативный акт", "исследование", "консультация", "другое"
TYPES = (REPORT, ACT, STUDY, CONSULTATION, OTHER)

# Folder and sidecar names for each type (compared after norm(), `-`/`_`/`.` as spaces).
_PHRASES = {
    REPORT: ["отчет", "отчеты", "отчетность", "годовые отчеты", "report", "reports", "annual reports", "annual report"],
    ACT: ["нормативный акт", "нормативные акты", "нормативно правовые акты", "нпа", "акты", "законы", "законодательство",
          "кодексы", "law", "laws", "act", "acts", "legislation", "regulation", "regulations", "codes", "legal acts"],
    STUDY: ["исследование", "исследования", "аналитика", "study", "studies", "research", "analysis"],
    CONSULTATION: ["консультация", "консультации", "consultation", "consultations", "advice"],
    OTHER: ["другое", "другие", "прочее", "разное", "other", "others", "misc"],
}
_NAME_TO_TYPE = {p: t for t, ps in _PHRASES.items() for p in ps}
_NAME_TO_TYPE.update({norm(t): t for t in TYPES})


def type_from_name(name: str) -> str | None:
    """A type named by a folder or a sidecar value (`reports`, `Законы`, `отчёт`), or None."""
    key = norm(re.sub(r"[-_.]+", " ", name))
    return _NAME_TO_TYPE.get(key)


def type_from_path(rel_path: str) -> str | None:
    """The type given by the nearest enclosing folder named after a type (file name excluded)."""
    parts = PurePath(rel_path.replace("\\", "/")).parts[:-1]
    for part in reversed(parts):
        t = type_from_name(part)
        if t:
            return t
    return None


_ACT_LINE = re.compile(
    r"^(?:[А-ЯЁ\s-]+\s)?(КОДЕКС|КОНСТИТУЦИЯ|ФЕДЕРАЛЬНЫЙ\s+(?:КОНСТИТУЦИОННЫЙ\s+)?ЗАКОН|ЗАКОН|ПОСТАНОВЛЕНИЕ|ПРИКАЗ|ПИСЬМО|УКАЗ|"
    r"РАСПОРЯЖЕНИЕ|РЕШЕНИЕ|ПОЛОЖЕНИЕ|ИНСТРУКЦИЯ)(?:\s|$)"
)
# A title (file name or metadata) that names an act with its requisites.
_ACT_TITLE = re.compile(
    r"(?:кодекс|конституция|закон|постановлени|приказ|письмо|указ|распоряжени|\bпп\b)[^\n]*?(?:\bот\s+\d|№|\bn\s*\d|\d+-фз)"
    r"|кодекс\w*\s+(?:российской|кыргызской|рф|кр)|^(?:\S+\s+){0,3}кодекс",
    re.I,
)
_REQUISITES_LINE = re.compile(r"^(?:от\s+)?\d{1,2}(?:\s+[а-я]+\s+|\.\d{2}\.)\d{4}\s*(?:г\.|года)?\s*(?:№|N)\s*\S+", re.I)
_REPORT = re.compile(
    r"годово\w*\s+отч[её]т|отч[её]т\w*\s+о\s+(?:деятельности|работе|проделанной)|отч[её]т\w*\s+за\s+\d{4}|annual\s+report"
    r"|^отч[её]т\b|\breport\b|\bотч[её]т\b",
    re.I,
)
_STUDY = re.compile(
    r"^исследовани|результаты\s+исследования|аналитическ\w+\s+(?:доклад|отчет|записка)|методология\s+исследования|"
    r"\bresearch\b|\bstudy\b|обзор\s+(?:законодательства|практики)|^исследование\b",
    re.I,
)
_CONSULTATION = re.compile(r"^(?:вопрос|ответ|консультация|обращение|клиент)\s*(?:№\s*\d+\s*)?[:.—-]|\bконсультаци", re.I)


def type_from_text(title: str, text: str, file_name: str = "") -> str:
    """The type judged from the title lines and opening of the text."""
    head = head_lines(text, n=30)
    titles = [t for t in (title, re.sub(r"[-_]+", " ", PurePath(file_name).stem) if file_name else "") if t]
    # 1. Acts: a title line such as `ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ` or `ПОСТАНОВЛЕНИЕ`
    #    near the top, or requisites right under a title line.
    for i, line in enumerate(head[:15]):
        if _ACT_LINE.match(line) and line.upper() == line:
            return ACT
        if i and _REQUISITES_LINE.match(line) and head[i - 1].upper() == head[i - 1]:
            return ACT
    if any(_ACT_TITLE.search(t) for t in titles):
        return ACT
    top = "\n".join(head[:12])
    # 2. Consultations: a question/answer record.
    q = len(re.findall(r"(?m)^\s*(?:вопрос|question)\s*(?:№\s*\d+\s*)?[:.—-]", text[:5000], re.I))
    a = len(re.findall(r"(?m)^\s*(?:ответ|answer)\s*[:.—-]", text[:20000], re.I))
    if q and a or any(re.search(r"консультаци", t, re.I) for t in titles):
        return CONSULTATION
    # An act's structure: several `Статья N` headings at line starts (a model law, an act
    # whose title line the extraction lost).
    if len(re.findall(r"(?m)^\s*(?:Статья|СТАТЬЯ)\s+\d+", text[:200000])) >= 3:
        return ACT
    # 3. Studies before reports: "отчет по исследованию" is a study.
    if any(_STUDY.search(t) for t in titles) or re.search(r"(?m)^(?:[А-ЯЁ\s]*\s)?ИССЛЕДОВАНИЕ\b", top) or _STUDY.search(top):
        return STUDY
    if any(_REPORT.search(t) for t in titles) or _REPORT.search(top):
        return REPORT
    # 4. An activity report without a title line (text extracted from a designed PDF):
    #    many accounts of events held and one year spoken of throughout.
    body = text[:60000]
    events = len(re.findall(r"(?:проведен|организова|осуществил|провели|принял\w* участие)\w*\s+(?:\S+\s+){0,3}?"
                            r"(?:тренинг|семинар|встреч|мероприяти|презентаци|конференци|обучени|круглы)", body, re.I))
    years = re.findall(r"\b(20\d\d|19\d\d)\s+(?:год|году|года)\b", body)
    if events >= 5 and years and max(years.count(y) for y in set(years)) >= 3:
        return REPORT
    return OTHER


def classify(title: str, text: str, rel_path: str = "", sidecar: dict | None = None) -> str:
    """Type of a document: sidecar `type`, else its folder, else its text (see module doc)."""
    if sidecar and sidecar.get("type"):
        t = type_from_name(sidecar["type"])
        if t:
            return t
    t = type_from_path(rel_path) if rel_path else None
    if t:
        return t
    return type_from_text(title or "", text or "", rel_path)
