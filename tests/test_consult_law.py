"""What a lawyer sees (issue 29): /consult gives the articles of law for a client's story with or
without consultation records; the document page puts the text first and labels passages as
articles, points, pages or fragments, never `§`."""

from __future__ import annotations

import re

import pytest

from kb.analysis import embed
from kb.index import forget_readers, update_index, vectors
from kb.search.consult import law_for, story_concepts
from kb.search.reading import passage_label
from kb.web import create_app

from conftest import signed_in

DORMITORY = ("Меня выселяют из общежития, где я живу пять лет, комендант говорит освободить комнату за неделю. "
             "Другого жилья у меня нет. Что делать?")

ACT = """ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ

Статья 92. Виды жилых помещений специализированного жилищного фонда

К жилым помещениям специализированного жилищного фонда относятся служебные жилые помещения и жилые помещения в общежитиях.

Статья 103. Выселение граждан из специализированных жилых помещений

В случаях расторжения или прекращения договоров найма специализированных жилых помещений граждане должны освободить жилые помещения, которые они занимали по данным договорам. В случае отказа освободить такие жилые помещения указанные граждане подлежат выселению в судебном порядке.

Статья 156. Размер платы за жилое помещение

Плата за содержание жилого помещения устанавливается в размере, обеспечивающем содержание общего имущества.
"""

LABOUR = """ТРУДОВОЙ КОДЕКС КЫРГЫЗСКОЙ РЕСПУБЛИКИ

Статья 94. Пятидневная и шестидневная рабочая неделя

Для работников устанавливается пятидневная рабочая неделя с двумя выходными днями.

Статья 157. Сроки выплаты заработной платы

Заработная плата выплачивается не реже одного раза в полмесяца.
"""

RECORDS = """id,date,category,region,lawyer,question,answer,acts
1,2023-05-16,жильё,Бишкек,,"Комендант выгоняет из общежития","Выселение только по суду, ст. 103 ЖК РФ.",ст. 103 ЖК РФ
"""


def _corpus(root, records: bool):
    root.mkdir(parents=True)
    (root / "zhk.txt").write_text(ACT, encoding="utf-8")
    (root / "tk.txt").write_text(LABOUR, encoding="utf-8")
    if records:
        (root / "consultations.csv").write_text(RECORDS, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """Two collections: the acts alone, and the acts with (staff-only) consultation records."""
    out = {}
    for name, records in (("acts", False), ("records", True)):
        base = tmp_path_factory.mktemp(name)
        corpus = _corpus(base / "corpus", records)
        report = update_index(corpus, base / "index", show_progress=False)
        assert not report.failed, report.failed
        app = create_app(corpus, base / "index")
        app.testing = True
        out[name] = app
    return out


def test_story_words_leave_out_telling_and_asking():
    terms = {t for c in story_concepts("Комендант говорит: что делать, куда обращаться? Выгоняют из общежития")
             for t in c}
    assert "комендант" in terms and "общежит" in terms
    assert not terms & {"говор", "дела", "обраща"}, terms
    # The lexicon's legal term for an everyday word joins that word's concept.
    assert any("выгоня" in c and any(t.startswith("выселен") for t in c)
               for c in story_concepts("нас выгоняют")), story_concepts("нас выгоняют")


def test_a_kyrgyz_story_reaches_the_articles_through_the_glossary(apps):
    # `жатаканадан` (from the dormitory) is read as the glossary's `жатакана` => общежитие:
    # words alone (no vectors here) find the Housing Code; before, no article at all.
    story = "Бизди жатаканадан чыгарып жатышат, эмне кылабыз?"
    assert any("жатакана" in c and c.get("общежит") for c in story_concepts(story)), story_concepts(story)
    acts = apps["acts"].test_client().get("/api/consult", query_string={"text": story}).json["articles"]
    assert acts and acts[0]["citation_short"] == "ЖК РФ", acts


def test_articles_for_a_story_without_any_consultation_record(apps):
    c = apps["acts"].test_client()
    html = c.get("/consult", query_string={"text": DORMITORY}).get_data(as_text=True)
    law = html.split('id="law-h"', 1)[1].split('id="past-h"', 1)[0]
    assert "ст. 103" in law and "Выселение граждан из специализированных жилых помещений" in law
    assert "?st=103" in law                                  # a stable link to the article
    assert "Трудовой кодекс" not in law                      # the working week is not the story
    # No records at all: nothing to sign in for, so no sign-in hint.
    assert "войдите" not in html and "видны только" not in html
    assert "Похожих консультаций не найдено" in html
    data = c.get("/api/consult", query_string={"text": DORMITORY}).json
    assert data["staff_records_hidden"] is False and data["consultations"] == []
    act = data["articles"][0]
    assert act["citation_short"] == "ЖК РФ"
    assert act["articles"][0]["article"] == "103" and act["articles"][0]["citation_short"] == "ст. 103 ЖК РФ"
    assert act["articles"][0]["anchor"] == "st-103"


def test_sign_in_hint_only_when_staff_records_exist(apps):
    anon = apps["records"].test_client()
    html = anon.get("/consult", query_string={"text": DORMITORY}).get_data(as_text=True)
    assert "видны только" in html and "/login?next=" in html
    assert "ст. 103" in html                                 # the articles all the same
    assert "Выселение только по суду" not in html            # the record itself stays hidden
    assert anon.get("/api/consult", query_string={"text": DORMITORY}).json["staff_records_hidden"] is True
    staff = signed_in(apps["records"])
    html = staff.get("/consult", query_string={"text": DORMITORY}).get_data(as_text=True)
    assert "видны только" not in html and "Комендант выгоняет из общежития" in html
    assert staff.get("/api/consult", query_string={"text": DORMITORY}).json["staff_records_hidden"] is False


def test_a_story_of_nothing_legal_finds_no_article(apps):
    html = apps["acts"].test_client().get("/consult", query_string={"text": "ъъъ ыыы щщщ"}).get_data(as_text=True)
    assert "Статей законов по этому описанию не найдено" in html


class _Topics(embed.Embedder):
    """Vectors of topics found by word stems: a story sharing no word with the article is
    still close to it in meaning (as a real model would be)."""

    key = "law-topics-v1"
    dim = 3
    floor = 0.815
    TOPICS = (("высел", "общежит", "комнат", "жиль", "помещен", "выгоня", "съехать", "угол"),
              ("недел", "зарплат", "заработн", "работ"))

    def _vec(self, text):
        import numpy as np

        low = text.lower()
        v = np.array([sum(low.count(s) for s in t) for t in self.TOPICS] + [0.05], dtype=np.float32)
        return v / np.linalg.norm(v)

    def passages(self, texts):
        import numpy as np

        return np.stack([self._vec(t) for t in texts])

    def queries(self, texts):
        return self.passages(texts)


def test_articles_by_meaning_when_the_words_differ(tmp_path, monkeypatch):
    model = _Topics()
    monkeypatch.setattr(embed, "configured_key", lambda: model.key)
    monkeypatch.setattr(embed, "embedder", lambda: model)
    corpus = _corpus(tmp_path / "corpus", False)
    update_index(corpus, tmp_path / "index", show_progress=False)
    story = "Велят съехать из угла, где я сплю"        # no word of the code's articles
    try:
        assert not law_for(tmp_path / "index", story)    # words alone find nothing
        vectors.build(tmp_path / "index", model)
        got = law_for(tmp_path / "index", story)
        assert got and got[0].citation == "ЖК РФ", [a.citation for a in got]
        assert {x.article for x in got[0].articles} & {"92", "103"}
        # The dormitory story by words and meaning together: still the housing code first.
        assert law_for(tmp_path / "index", DORMITORY)[0].articles[0].article == "103"
    finally:
        forget_readers()


@pytest.mark.parametrize("kwargs, want", [
    (dict(article="84"), "Ст. 84"),
    (dict(article="84", page=3), "Ст. 84"),
    (dict(text="40. Потребитель обязан", act=True), "п. 40"),
    (dict(text="40. Потребитель обязан", act=False, page=12), "с. 12"),
    (dict(page=12, page_end=13), "с. 12–13"),
    (dict(text="д) применяются при расчете", act=True), "фрагмент 21"),
])
def test_passage_labels_say_what_they_are(kwargs, want):
    assert passage_label(20, **kwargs) == want


# --- on the real documents (../shared/data) ---------------------------------------------------

@pytest.fixture(scope="module")
def real_app(real_index, shared_data):
    app = create_app(shared_data, real_index)
    app.testing = True
    return app


def test_real_consult_dormitory_story_gives_housing_code_articles(real_app):
    anon = real_app.test_client()
    data = anon.get("/api/consult", query_string={"text": DORMITORY}).json
    assert data["consultations"] == [] and data["staff_records_hidden"] is False
    acts = {a["citation_short"]: a for a in data["articles"]}
    assert "ЖК РФ" in acts, list(acts)
    numbers = [x["article"] for x in acts["ЖК РФ"]["articles"]]
    assert "103" in numbers, numbers
    assert data["articles"][0]["citation_short"] == "ЖК РФ"
    html = anon.get("/consult", query_string={"text": DORMITORY}).get_data(as_text=True)
    assert "ст. 103" in html and "войдите" not in html


def _zhk(app) -> str:
    from kb.search import catalog

    return next(d.doc_id for d in catalog(app.config["KB_INDEX"]).all()
                if d.path.endswith("zhilishchnyj_kodeks_rf.html"))


def test_real_document_page_text_first_no_section_signs(real_app):
    html = real_app.test_client().get(f"/doc/{_zhk(real_app)}").get_data(as_text=True)
    main = html.split('<main id="main">', 1)[1]
    text_at = main.index('class="text"')
    for lists in ('id="cites"', 'id="cited-by"', 'id="similar"'):
        assert lists in main and main.index(lists) > text_at, lists    # after the text
    assert re.search(r'<summary><h2 id="cites-h">Ссылается на <span class="count">\d+</span>', main)
    assert "§" not in main
    assert re.search(r'class="plabel" href="#st-1"[^>]*>Ст\. 1</a>', main)
    # The list of amending laws before Статья 1 is folded after its first lines.
    first = main.split('id="p-0"', 1)[1].split('id="p-1"', 1)[0]
    assert '<details class="more-text">' in first and "Показать полностью" in first
    lead = first.split('<details class="more-text">', 1)[0]
    assert "Принят Государственной Думой" in lead and "№ 199-ФЗ" not in lead


def test_a_staff_only_act_never_answers_the_public(tmp_path):
    """An act the rules keep for staff is searched for staff only: its articles, title and
    words never reach an anonymous /consult (kb.index.story_passages masks it, as search does)."""
    corpus = _corpus(tmp_path / "corpus", False)
    (corpus / "internal.txt").write_text(
        "ПОЛОЖЕНИЕ ОБ ОБЩЕЖИТИИ КВАКОЗЯБРИЯ\n\nСтатья 7. Выселение из общежития квакозябрия\n\n"
        "Комендант общежития выселяет жильцов из комнаты квакозябрия по решению суда.\n", encoding="utf-8")
    (corpus / "internal.txt.meta.yml").write_text("access: staff\ntype: нормативный акт\n", encoding="utf-8")
    update_index(corpus, tmp_path / "index", show_progress=False)
    app = create_app(corpus, tmp_path / "index")
    app.testing = True
    anon = app.test_client().get("/api/consult", query_string={"text": DORMITORY}).get_data(as_text=True)
    assert "квакозябри" not in anon.lower() and "ЖК РФ" in anon
    staff = signed_in(app).get("/api/consult", query_string={"text": DORMITORY}).get_data(as_text=True)
    assert "квакозябри" in staff.lower()
