"""Legal databases' links, notes and stamps leave at extraction; the act's own words stay."""

from __future__ import annotations

import pytest

from kb.extract import extract
from kb.extract.boilerplate import strip_boilerplate

ARTICLE = """Статья 10. Пределы осуществления гражданских прав
(в ред. Федерального закона от 30.12.2012 N 302-ФЗ)

Позиции высших судов по ст. 10 ГК РФ >>>

КонсультантПлюс: примечание. О выявлении конституционно-правового смысла п. 1 ст. 10 см. Постановление КС РФ от 02.07.2020 N 32-П.
1. Не допускаются осуществление гражданских прав исключительно с намерением причинить вред другому лицу.
Путеводитель по судебной практике (ГК РФ). Злоупотребление правом >>>
2. В случае несоблюдения требований суд отказывает лицу в защите принадлежащего ему права.
>>>
Документ предоставлен КонсультантПлюс www.consultant.ru Дата сохранения: 17.06.2025
ГАРАНТ: См. комментарии к статье 10 ГК РФ
3. Разумность действий участников гражданских правоотношений предполагается."""

KEPT = """Статья 10. Пределы осуществления гражданских прав
(в ред. Федерального закона от 30.12.2012 N 302-ФЗ)

1. Не допускаются осуществление гражданских прав исключительно с намерением причинить вред другому лицу.
2. В случае несоблюдения требований суд отказывает лицу в защите принадлежащего ему права.
3. Разумность действий участников гражданских правоотношений предполагается."""


def test_links_notes_and_stamps_go_the_act_stays():
    assert strip_boilerplate(ARTICLE) == KEPT


def test_a_link_run_into_the_text_and_a_note_label_on_its_own_line():
    # PDF exports: the link in the middle of a line, the note's words under its label.
    page = ("Статья 15. Возмещение убытков Позиции высших судов по ст. 15 ГК РФ >>> 1. Лицо, право "
            "которого нарушено, может требовать возмещения.\nКонсультантПлюс: примечание.\n"
            "О выявлении смысла п. 1 ст. 15 см. Постановление КС РФ.\n2. Под убытками понимаются расходы.")
    assert strip_boilerplate(page) == ("Статья 15. Возмещение убытков 1. Лицо, право которого нарушено, "
                                       "может требовать возмещения.\n2. Под убытками понимаются расходы.")


@pytest.mark.parametrize("text", [
    "Гарант прав граждан — Конституция (статья 80).",              # the word, not the database
    "Список изменяющих документов (в ред. Постановления Правительства РФ от 26.12.2016 N 1498)",
    "Стрелки a -> b и 5 > 3 в тексте.",
    "Путеводитель по правам жильцов, изданный ОО «Интербилим», 2019.",   # a real publication, no link
])
def test_ordinary_lines_untouched(text):
    assert strip_boilerplate(text) == text


def test_through_extract_of_a_docx(tmp_path):
    import docx

    d = docx.Document()
    for line in ARTICLE.split("\n"):
        d.add_paragraph(line)
    d.save(tmp_path / "гк.docx")
    text = extract(tmp_path / "гк.docx").text
    assert ">>>" not in text and "КонсультантПлюс" not in text and "ГАРАНТ" not in text
    assert "1. Не допускаются осуществление гражданских прав" in text and "(в ред. Федерального закона" in text


@pytest.mark.shared_data
def test_real_consultant_exports_lose_them(shared_data):
    folder = shared_data / "rf-housing-docx"
    gk1 = extract(folder / "Гражданский кодекс Российской Федерации (часть первая).docx").text
    zhk = extract(folder / "Жилищный кодекс Российской Федерации.docx").text
    for text in (gk1, zhk):
        assert ">>>" not in text and "КонсультантПлюс" not in text and "consultant.ru" not in text
    # The articles are all there, their amendment notes too.
    assert "Статья 10. Пределы осуществления гражданских прав" in gk1
    assert "1. Не допускаются осуществление гражданских прав исключительно с намерением" in gk1
    assert "Статья 91.12. Выселение граждан" in zhk or "Выселение граждан из жилого помещения" in zhk
    assert "(в ред. Федерального закона от" in zhk
