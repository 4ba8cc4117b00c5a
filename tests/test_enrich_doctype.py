"""Document types, sidecars: unit tests and every real file of ../shared/data."""

from __future__ import annotations

import json

import pytest

from kb.enrich.doctype import classify, type_from_path, type_from_text
from kb.enrich.sidecar import SidecarError, dump_sidecar, load_yaml, read_sidecar
from kb.errors import KbError
from test_enrich_helpers import doc_text

ACT, REPORT = "нормативный акт", "отчёт"

# Every file of ../shared/data outside bench/, with its expected type.
EXPECTED = {
    "kg-civil-code-pdf/civil_code_KR_part1.pdf": ACT,
    "kg-civil-code-pdf/civil_code_KR_part2.pdf": ACT,
    "kg-codes-txt/Водный кодекс Кыргызской Республики.txt": ACT,
    "kg-codes-txt/Гражданский Кодекс КР Часть I.txt": ACT,
    "kg-codes-txt/Гражданский Кодекс КР Часть II.txt": ACT,
    "kg-codes-txt/Гражданский процессуальный кодекс Кыргызской Республики.txt": ACT,
    "kg-codes-txt/Земельный кодекс Кыргызской Республики.txt": ACT,
    "kg-codes-txt/Кодекс Кыргызской Республики о правонарушениях.txt": ACT,
    "kg-codes-txt/Налоговый кодекс Кыргызской Республики.txt": ACT,
    "kg-codes-txt/Семейный кодекс Кыргызской Республики.txt": ACT,
    "kg-codes-txt/Трудовой кодекс КР.txt": ACT,
    "kg-codes-txt/Уголовно-процессуальный кодекс Кыргызской Республики.txt": ACT,
    "kg-codes-txt/Уголовный кодекс Кыргызской Республики.txt": ACT,
    "reports/interbilim-annual-report-2019.txt": REPORT,
    "rf-codes-html/102027595_konstitutsiya_rf.html": ACT,
    "rf-codes-html/102033239_grazhdanskij_kodeks_rf_ch1.html": ACT,
    "rf-codes-html/102038925_semejnyj_kodeks_rf.html": ACT,
    "rf-codes-html/102073184_zemelnyj_kodeks_rf.html": ACT,
    "rf-codes-html/102090645_zhilishchnyj_kodeks_rf.html": ACT,
    "rf-housing-docx/Гражданский кодекс Российской Федерации (часть вторая).docx": ACT,
    "rf-housing-docx/Гражданский кодекс Российской Федерации (часть первая).docx": ACT,
    "rf-housing-docx/Жилищный кодекс Российской Федерации.docx": ACT,
    "rf-housing-docx/ПП РФ от 03.04.2013 № 290 О минимальном перечне услуг и работ по содержанию общего имущества в МКД.docx": ACT,
    "rf-housing-docx/ПП РФ от 06.02.2006 № 75 Об открытом конкурсе по отбору управляющей организации МКД.docx": ACT,
    "rf-housing-docx/ПП РФ от 06.05.2011 № 354 Правила предоставления коммунальных услуг (Правила № 354).docx": ACT,
    "rf-housing-docx/ПП РФ от 13.08.2006 № 491-Об утверждении Правил содержания общего имущества в МКД.docx": ACT,
    "rf-housing-docx/ПП РФ от 14.02.2012 № 124-О правилах, обязательных при заключении договоров снабжения коммунальными ресурсами.docx": ACT,
    "rf-housing-docx/ПП РФ от 15.05.2013 № 416-О порядке осуществления деятельности по управлению многоквартирными домами.docx": ACT,
    "rf-housing-docx/ПП РФ от 23.05.2006 № 306 Правила установления нормативов потребления коммунальных услуг (Правила № 306).docx": ACT,
    "rf-housing-docx/ПП РФ от 28.10.2014 № 1110-О лицензировании предпринимательской деятельности по управлению МКД.docx": ACT,
    "rf-housing-docx/Письмо Минстроя РФ от 04.04.2016 № 9667-ОД-04 о порядке оформления актов приемки работ по договору управления МКД.docx": ACT,
    "rf-housing-docx/Письмо Минстроя РФ от 17.11.2017 № 50534-ОГ-04 о порядке перерасчета коммунальных ресурсов на общедомовые нужды.docx": ACT,
    "rf-housing-docx/Приказ Минстроя РФ от 25.12.2015 № 938_пр-Об утверждении Порядка внесения изменений в реестр лицензий.docx": ACT,
    "rf-housing-docx/Приказ Минстроя РФ от 28.01.2019 № 44_пр-Об утверждении Требований к оформлению протоколов общих собраний собственников помещений в МКД.docx": ACT,
    "rf-housing-docx/Федеральный закон от 23.11.2009 № 261-ФЗ-Об энергосбережении и о повышении энергетической эффективности.docx": ACT,
    "rf-housing-docx/Федеральный закон от 27.07.2006 № 152-ФЗ-О персональных данных.docx": ACT,
    "rf-housing-docx/Федеральный закон от 27.07.2010 № 190-ФЗ-О теплоснабжении.docx": ACT,
}


@pytest.mark.shared_data
def test_every_real_file_is_listed(shared_data):
    files = {
        str(p.relative_to(shared_data)) for p in shared_data.rglob("*")
        if p.is_file() and p.parent != shared_data and p.relative_to(shared_data).parts[0] != "bench"
    }
    assert files == set(EXPECTED)


@pytest.mark.shared_data
@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_type_of_every_real_file(shared_data, rel):
    title, text = doc_text(shared_data / rel)
    assert classify(title, text, rel) == EXPECTED[rel]
    # None of these folders is a type folder but `reports/`: the text decides the acts.
    if EXPECTED[rel] == ACT:
        assert type_from_text(title, text) == ACT


@pytest.mark.shared_data
def test_report_recognised_from_its_text_alone(shared_data):
    title, text = doc_text(shared_data / "reports/interbilim-annual-report-2019.txt")
    assert type_from_text(title, text) == REPORT


@pytest.mark.parametrize("title,text,want", [
    ("ГОДОВОЙ ОТЧЕТ 2019", "ГОДОВОЙ ОТЧЕТ\nОбщественного объединения за 2019 год", "отчёт"),
    ("", "ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ\nПринят Государственной Думой", "нормативный акт"),
    ("", "ЗАКОН КЫРГЫЗСКОЙ РЕСПУБЛИКИ\nО пробации\nот 24 февраля 2017 года № 34", "нормативный акт"),
    ("", "ПРАВИТЕЛЬСТВО КЫРГЫЗСКОЙ РЕСПУБЛИКИ\nПОСТАНОВЛЕНИЕ\nот 16 ноября 2019 года № 911", "нормативный акт"),
    ("", "МИНИСТЕРСТВО ЮСТИЦИИ\nПРИКАЗ\nот 1 марта 2020 г. № 5", "нормативный акт"),
    ("", "ИССЛЕДОВАНИЕ\nправо на достаточное жилище в Центральной Азии\nМетодология", "исследование"),
    ("Консультация: выселение", "Вопрос: меня выселяют\nОтвет: согласно статье 84 ЖК РФ", "консультация"),
    ("", "Вопрос: можно ли прописаться?\n\nОтвет: да, статья 6 Закона", "консультация"),
    ("", "Протокол собрания жильцов\nПрисутствовали 12 человек", "другое"),
])
def test_type_from_text(title, text, want):
    assert classify(title, text, "") == want


@pytest.mark.parametrize("rel,want", [
    ("reports/x.pdf", "отчёт"), ("отчёты/2020/x.pdf", "отчёт"), ("Законы/x.docx", "нормативный акт"),
    ("laws/kg/x.txt", "нормативный акт"), ("нормативные-акты/x.txt", "нормативный акт"),
    ("studies/x.pdf", "исследование"), ("исследования/x.pdf", "исследование"),
    ("consultations/a.md", "консультация"), ("Консультации/a.md", "консультация"), ("misc/a.txt", "другое"),
    ("archive/a.txt", None), ("reports.txt", None),
])
def test_type_from_folder(rel, want):
    assert type_from_path(rel) == want


def test_folder_overrides_text_and_sidecar_overrides_folder():
    text = "ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ"
    assert classify("", text, "studies/a.txt") == "исследование"
    assert classify("", text, "studies/a.txt", sidecar={"type": "отчёт"}) == "отчёт"
    assert classify("", text, "a.txt", sidecar={"type": "consultation"}) == "консультация"


def test_sidecar_json(tmp_path):
    doc = tmp_path / "report.pdf"
    doc.write_bytes(b"%PDF")
    (tmp_path / "report.pdf.meta.json").write_text(json.dumps({
        "title": "Годовой отчёт 2019", "type": "report", "date": "16.11.2019", "organization": "Интербилим",
        "language": "ru", "access": "public", "tags": ["жильё", "НКО"], "extra": {"project": "X"},
    }), encoding="utf-8")
    meta = read_sidecar(doc)
    assert meta == {"title": "Годовой отчёт 2019", "type": "отчёт", "date": "2019-11-16", "organisation": "Интербилим",
                    "language": "ru", "access": "public", "tags": ["жильё", "НКО"], "extra": {"project": "X"}}


def test_sidecar_yaml_by_stem(tmp_path):
    doc = tmp_path / "консультация 5.docx"
    doc.write_bytes(b"x")
    (tmp_path / "консультация 5.meta.yml").write_text(
        "# meta\ntitle: \"Выселение: вопрос\"\ntype: консультация\ndate: 2021-03-04\n"
        "tags:\n  - жильё\n  - выселение\naccess: internal  # not public\n", encoding="utf-8")
    meta = read_sidecar(doc)
    assert meta["title"] == "Выселение: вопрос" and meta["type"] == "консультация"
    assert meta["tags"] == ["жильё", "выселение"] and meta["access"] == "internal" and meta["date"] == "2021-03-04"


def test_no_sidecar(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    assert read_sidecar(doc) == {}


@pytest.mark.parametrize("name,content,needle", [
    ("a.txt.meta.json", "{bad json", "JSON"),
    ("a.txt.meta.json", "[1, 2]", "объект"),
    ("a.txt.meta.yaml", "title: x\n  nested: y\n", "строка 2"),
    ("a.txt.meta.yaml", "type: неведомое\n", "type"),
    ("a.txt.meta.yml", "title: 'unclosed\n", "YAML"),
    ("a.txt.meta.yml", "date: вчера\n", "date"),
    ("a.txt.meta.yml", "просто текст\n", "объект"),
    # Fail closed (issue 26): what might have been meant about access is an error, not ignored.
    ("a.txt.meta.yml", "title: 'unclosed\naccess: staff\n", "YAML"),
    ("a.txt.meta.yml", "access: staff\ntags: [a, b\n", "YAML"),
    ("a.txt.meta.json", '{"access": "staff",}', "JSON"),
    ("a.txt.meta.yml", "acess: staff\n", "acess"),
    ("a.txt.meta.yml", "access: stuff\n", "access"),
    ("a.txt.meta.yml", "access: yes\n", "access"),
    ("a.txt.meta.yml", "access:\n", "access"),
    ("a.txt.meta.yml", "access: staff\naccess: public\n", "повторяется"),
    ("a.txt.meta.json", '{"access": "staff", "access": "public"}', "повторяется"),
    ("a.txt.meta.yml", "access: staff\nproject: X\n", "project"),
])
def test_malformed_sidecar_names_the_file(tmp_path, name, content, needle):
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(SidecarError) as e:
        read_sidecar(doc)
    assert isinstance(e.value, KbError)
    assert name in str(e.value) and needle in str(e.value)


def test_yaml_values():
    assert load_yaml("a: [x, 'y z', 3]\nb:\nc: ~\n") == {"a": ["x", "y z", 3], "b": None, "c": None}


def test_sidecar_unreadable_or_dangling_is_an_error(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    side = tmp_path / "a.txt.meta.yml"
    side.symlink_to(tmp_path / "nowhere.yml")
    with pytest.raises(SidecarError, match="ссылка"):
        read_sidecar(doc)
    side.unlink()
    side.write_bytes(b"title: \xff\xfe\n")
    with pytest.raises(SidecarError, match="прочитать"):
        read_sidecar(doc)


def test_dumped_sidecar_reads_back(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    fields = {"title": "Отчёт\u2028строка\u0085ещё\rи \"кавычки\" # не комментарий: [нет", "access": "staff",
              "tags": ["- тег", "[x]"]}
    (tmp_path / "a.txt.meta.yml").write_text(dump_sidecar(fields), encoding="utf-8")
    assert read_sidecar(doc) == fields


def test_extra_fields_keep_to_json(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    (tmp_path / "a.txt.meta.yml").write_text("extra:\n  since: 2020-01-02\n  n: 3\n", encoding="utf-8")
    assert read_sidecar(doc) == {"extra": {"since": "2020-01-02", "n": 3}}
