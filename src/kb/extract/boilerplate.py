"""Leftovers of legal databases: links, notes and stamps that are not the act's text.

Acts saved from КонсультантПлюс (DOCX, PDF, HTML) carry the database's own lines between
the articles: links to its other products (`Позиции высших судов по ст. 10 ГК РФ >>>`,
`Путеводитель по ... >>>`), its editorial notes (`КонсультантПлюс: примечание. С 01.09.2025
в ч. 9 ст. 23 вносятся изменения ...`) and its stamp (`Документ предоставлен КонсультантПлюс
www.consultant.ru Дата сохранения: 17.06.2025`). They were indexed as the article's words,
shown as its first words in snippets (a hit on ст. 10 ГК РФ began with "Позиции высших судов")
and their `>>>` came out of `kb search --json` as `&gt;&gt;&gt;`. In ../shared/data: 107
such links in the two parts of the Russian Civil Code, ~200 notes across the 18 DOCX acts,
16 stamps. ГАРАНТ exports mark their notes the same way (`ГАРАНТ:`).

Only whole lines of these shapes are removed, and the link shape anywhere in a line (a PDF
may run it into the next words). The amendment notes of the act itself (`(в ред. Федерального
закона от ...)`, `Список изменяющих документов`) are the act's text and stay.
"""

from __future__ import annotations

import re

# A link to another product of the database: a short text ending in `>>>`.
_LINK = re.compile(
    r"[ \t]*(?:Позиции высших судов|Путеводител[ьи] по|Судебная практика по|Позиция (?:ВС|КС) РФ"
    r"|Разъяснения (?:высших судов|ВС РФ)|Готовые решения|Типичные ошибки|Формы документов)"
    r"[^\n<>]{0,200}?>>>[ \t]*"
)
_LINE = [
    re.compile(r"^[^\n]{0,250}>>>$"),            # any other short line ending in a link arrow
    re.compile(r"^[<>\s]*(?:>>>|<<<)[<>\s]*$"),     # arrows alone
    re.compile(r"^(?:КонсультантПлюс|ГАРАНТ|Гарант):\s*примечание\b.*$", re.I),
    re.compile(r"^ГАРАНТ:.*$"),
    re.compile(r"^.{0,200}(?:www\.consultant\.ru|consultant\.ru/|internet\.garant\.ru|www\.garant\.ru).{0,200}$",
               re.I),
    re.compile(r"^Документ предоставлен КонсультантПлюс.*$", re.I),
    re.compile(r"^КонсультантПлюс\s+надежная правовая поддержка.*$", re.I),
]
# A note's label alone on its line (its words on the next one, as PDF exports lay it out).
_LABEL = re.compile(r"^(?:КонсультантПлюс|ГАРАНТ):\s*примечание\.?$", re.I)
_CHEAP = re.compile(r">>>|<<<|КонсультантПлюс|ГАРАНТ|consultant\.ru|garant\.ru", re.I)


def strip_boilerplate(page: str) -> str:
    """The page without the legal database's links, notes and stamps; a line left empty by
    them goes too, so that no gap is added where there was none."""
    if not _CHEAP.search(page):
        return page            # the common case (Kyrgyz codes, reports): one scan
    out: list[str] = []
    drop_next = False
    for line in page.split("\n"):
        text = line.strip()
        if drop_next:
            drop_next = False
            if text:
                continue
        if _LABEL.match(text):
            drop_next = True
            continue
        if ">>>" in text:
            text = _LINK.sub(" ", text).strip()
            if not text:
                continue
            line = text
        if any(p.match(text) for p in _LINE):
            continue
        out.append(line)
    return _one_gap("\n".join(out))


_GAPS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def _one_gap(text: str) -> str:
    # A removed line between two empty ones left two empty lines in a row.
    return _GAPS.sub("\n\n", text).strip("\n")
