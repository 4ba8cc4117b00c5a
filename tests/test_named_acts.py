"""Issue 28 items 3 and 4 on a corpus the test writes, through the real `search()`:
a query naming an act ranks that act's passages first (the rest as they ranked), and a word's
derivational family finds an article's heading."""

from __future__ import annotations

import pytest

from conftest import indexed_corpus

FILLER = "Настоящая статья применяется с учетом положений иных статей настоящего Кодекса. "

ZHK = ("Жилищный кодекс Российской Федерации\n\n"
       "Статья 83. Расторжение и прекращение договора социального найма жилого помещения\n\n"
       "1. Договор социального найма жилого помещения может быть расторгнут в любое время по "
       "соглашению сторон. " + FILLER * 3 + "\n\n"
       "Статья 84. Выселение граждан из жилых помещений, предоставленных по договорам социального найма\n\n"
       "Выселение граждан из жилых помещений производится в судебном порядке. " + FILLER * 3 + "\n\n"
       "Статья 153. Обязанность по внесению платы за жилое помещение и коммунальные услуги\n\n"
       "Граждане и организации своевременно и полностью вносят плату. " + FILLER * 3 + "\n")

# Another code whose article 84 shares words with the question: words alone put it first.
SK = ("Семейный кодекс Российской Федерации\n\n"
      "Статья 84. Выселение и права детей, оставшихся без попечения родителей\n\n"
      "Выселение детей, выселение родителей, выселение опекунов из жилых помещений: выселение "
      "допускается только по решению суда в порядке, установленном Жилищным кодексом Российской "
      "Федерации; выселение по правилам Жилищного кодекса Российской Федерации. " + FILLER + "\n\n"
      "Статья 85. Плата за жилое помещение детей\n\n"
      "Плата за жилое помещение детей вносится ежемесячно; кто обязан ее вносить, решает суд. "
      + FILLER + "\n\n"
      "Статья 86. Права детей на жилое помещение\n\n"
      "Дети имеют право на жилое помещение. " + FILLER * 2 + "\n")

REPORT = ("Годовой отчет юридической клиники за 2024 год\n\n"
          "Клиника консультировала жильцов о выселении по статье 84 ЖК РФ и о выселении из "
          "общежитий. Выселение оставалось главной темой обращений.\n")


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return indexed_corpus(tmp_path_factory.mktemp("acts"), {
        "Жилищный кодекс РФ.txt": ZHK, "Семейный кодекс РФ.txt": SK, "отчет клиники 2024.txt": REPORT})[1]


def _docs(index, query):
    from kb.search import search

    return [(g.path, [h.article for h in g.hits]) for g in search(index, query, per_page=10).groups]


def test_named_act_puts_other_acts_below(index, monkeypatch):
    from kb.search import acts

    got = _docs(index, "выселение ЖК РФ")
    paths = [p for p, _ in got]
    assert paths.index("Жилищный кодекс РФ.txt") < paths.index("Семейный кодекс РФ.txt"), got
    # No narrowing: the family code's passage, full of the word, ranks first (the test can fail).
    monkeypatch.setattr(acts, "named_acts", lambda q: [])
    plain = [p for p, _ in _docs(index, "выселение ЖК РФ")]
    assert plain.index("Семейный кодекс РФ.txt") < plain.index("Жилищный кодекс РФ.txt"), plain


def test_named_act_first_then_the_rest_as_ranked(index, monkeypatch):
    from kb.search import acts

    got = [p for p, _ in _docs(index, "выселение ЖК РФ")]
    monkeypatch.setattr(acts, "named_acts", lambda q: [])
    plain = [p for p, _ in _docs(index, "выселение ЖК РФ")]
    # The report (no act) is not lifted above the other act for being no act: after the named
    # code, the others keep the order of their scores.
    rest = [p for p in plain if p != "Жилищный кодекс РФ.txt"]
    assert got == ["Жилищный кодекс РФ.txt"] + rest, (got, plain)


def test_requisite_article_first_then_its_act(index):
    got = _docs(index, "ст. 84 ЖК РФ")
    assert got[0][0] == "Жилищный кодекс РФ.txt" and got[0][1][0] == "84", got
    paths = [p for p, _ in got]
    assert "Семейный кодекс РФ.txt" not in paths[:1]


def test_unknown_act_changes_nothing(index):
    from kb.search import acts

    # The collection has no Tax Code: nothing to narrow to, the order stays that of the words.
    assert acts.named_acts("выселение НК РФ")
    got = [p for p, _ in _docs(index, "выселение НК РФ")]
    assert got and got[0] == "Семейный кодекс РФ.txt", got


def test_family_finds_the_heading(index, monkeypatch):
    from kb.search import query

    q = "кто обязан вносить плату за жилое помещение"
    got = _docs(index, q)
    assert got[0][0] == "Жилищный кодекс РФ.txt" and "153" in got[0][1], got
    # Without the families the other code's article, with the very words typed, wins.
    monkeypatch.setenv("KB_FAMILIES", "off")
    query.default_families.cache_clear()
    try:
        off = _docs(index, q)
    finally:
        monkeypatch.delenv("KB_FAMILIES")
        query.default_families.cache_clear()
    assert off[0][0] == "Семейный кодекс РФ.txt", off


def test_families_file_errors_name_the_line(tmp_path):
    from kb.enrich.families import load_families
    from kb.enrich.lexicon import LexiconError

    bad = tmp_path / "families.txt"
    bad.write_text("# ok\nвносить | внесение\nодно слово\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"families.txt:3"):
        load_families(bad)
    fam = load_families(None)
    assert fam.knows("внесение") and fam.knows("обязанность")
