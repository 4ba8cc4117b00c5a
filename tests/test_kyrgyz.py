"""Kyrgyz text: detected per passage, stemmed by Kyrgyz endings (never given a Russian
lemma), found with or without ө ү ң and in any of its case and possessive forms. The
hand-made query set below is the measurement the stemmer was written against."""

from __future__ import annotations

import pytest

import ocr_fixtures as F
from kb.analysis import index_terms, is_kyrgyz, kyrgyz_stem, normalize, terms, tokenize
from kb.index import update_index
from kb.index._analyzers import LemmaAnalyzer
from kb.search import search


@pytest.mark.parametrize("forms,base", [
    (["өкмөтү", "өкмөтүнүн", "өкмөттүн", "өкмөтүнө", "өкмөтүндө", "окмоту", "окмотунун"], "окмот"),
    (["кеңеш", "кеңеши", "кеңешинин", "кеңешке", "кеңештер", "кеңештерге"], "кенеш"),
    (["жарандар", "жарандардын", "жарандарга"], "жаран"),
    (["мыйзам", "мыйзамы", "мыйзамдын", "мыйзамга", "мыйзамдан"], "мыйзам"),
    (["укук", "укугу", "укуктары"], "укук"),
    (["маселе", "маселелери", "маселелер"], "маселе"),
    (["токтом", "токтому", "токтомунун"], "токтом"),
])
def test_inflected_forms_meet_their_base(forms, base):
    assert {kyrgyz_stem(normalize(f)) for f in forms} == {base}


def test_short_words_and_abbreviations_are_kept():
    for w in ("айыл", "омсу", "жк", "үй"):
        assert kyrgyz_stem(normalize(w)) == normalize(w)


def test_language_of_a_text():
    for para in F.KYRGYZ:
        assert is_kyrgyz(para), para
    for para in F.RUSSIAN:
        assert not is_kyrgyz(para), para
    # A Russian text naming a Kyrgyz body stays Russian.
    assert not is_kyrgyz("Решением айыл өкмөтү земельный участок был передан в аренду "
                         "фермерскому хозяйству сроком на десять лет без проведения торгов.")
    assert is_kyrgyz("Айыл окмоту жана жергиликтуу кенеш боюнча маалымат")   # typed without ө ү ң
    # Titles: Kyrgyz ones are Kyrgyz, a Russian one naming a Kyrgyz body is not.
    assert is_kyrgyz("Айыл өкмөтүнүн маалыматы") and is_kyrgyz("Жогорку Кеңештин токтому")
    assert not is_kyrgyz("Положение о порядке жилищного учёта айыл өкмөтү")


def test_no_kyrgyz_word_gets_a_russian_lemma():
    text = " ".join(F.KYRGYZ) + " Ал берет жана алат."
    got = [t.text for t in LemmaAnalyzer()(text)]
    want = [kyrgyz_stem(t.norm) for t in tokenize(text)]
    assert got == want
    # What Russian morphology would have made of them.
    assert terms("берет") == ("брат",) and "брат" not in got
    assert terms("жана") == ("жан",) and "жан" not in got
    # A Russian passage keeps its Russian lemmas.
    ru = [t.text for t in LemmaAnalyzer()(F.RUSSIAN[2])]
    assert ru == [x for t in tokenize(F.RUSSIAN[2]) for x in index_terms(t.norm)] and "выселен" in ru


KY_DOCS = {
    "айыл-окмоту.txt": "Айыл өкмөтү жергиликтүү өз алдынча башкаруунун аткаруу органы болуп саналат. "
                       "Айыл өкмөтү жарандардын арыздарын кабыл алат.",
    "башчы.txt": "Айыл өкмөтүнүн башчысы жергиликтүү кеңеш тарабынан шайланат жана кеңешке отчет берет.",
    "токтом.txt": "Өкмөттүн токтому менен бекитилген тартипте жер тилкелерин пайдалануу маселелери чечилет.",
    "мыйзам.txt": "Жарандардын турак жайга болгон укугу мыйзам менен корголот.",
    "выселение.txt": "Выселение граждан из жилых помещений допускается только по основаниям, "
                     "предусмотренным законом. Айыл окмоту уведомляет жителей о решении.",
}

# Query -> the documents it must find (hand-made; the forms differ from the text's).
QUERIES = {
    "өкмөтү": {"айыл-окмоту.txt", "башчы.txt", "токтом.txt", "выселение.txt"},
    "окмоту": {"айыл-окмоту.txt", "башчы.txt", "токтом.txt", "выселение.txt"},
    "өкмөтүнүн": {"айыл-окмоту.txt", "башчы.txt", "токтом.txt", "выселение.txt"},
    "кеңештин": {"башчы.txt"},
    "токтомдун": {"токтом.txt"},
    # and, read as the glossary's `мыйзам` (закон), the Russian passage's `законом`
    "мыйзамга": {"мыйзам.txt", "выселение.txt"},
    "мыйзам": {"мыйзам.txt", "выселение.txt"},
    "жарандар": {"айыл-окмоту.txt", "мыйзам.txt"},
    "укуктары": {"мыйзам.txt"},
    "маселе": {"токтом.txt"},
}


@pytest.fixture(scope="module")
def ky_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("ky")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in KY_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    report = update_index(corpus, root / "index", show_progress=False, workers=1)
    assert report.failed == []
    return root / "index"


def _found(index, query):
    res = search(index, query)
    return {g.path for g in res.groups}, sorted((h.path, h.ordinal) for g in res.groups for h in g.hits)


def test_with_and_without_kyrgyz_letters_the_same_passages(ky_index):
    a, pa = _found(ky_index, "өкмөтү")
    b, pb = _found(ky_index, "окмоту")
    assert a and pa == pb and a == b


def test_hand_made_kyrgyz_query_set(ky_index):
    misses = {q: (want, got) for q, want in QUERIES.items()
              if (got := _found(ky_index, q)[0]) != want}
    assert misses == {}


def test_a_phrase_in_another_case(ky_index):
    got, _ = _found(ky_index, "айыл өкмөтүнүн")
    assert {"айыл-окмоту.txt", "башчы.txt"} <= got


def test_language_is_a_facet(ky_index):
    res = search(ky_index, "окмоту")
    facet = {f.value: (f.count, f.label) for f in res.facets["lang"]}
    assert facet == {"ky": (3, "кыргызский"), "ru": (1, "русский")}
    from kb.index.querymodel import Filters

    only = search(ky_index, "окмоту", filters=Filters(lang=["ru"]))
    assert {g.path for g in only.groups} == {"выселение.txt"}
    assert [(f.value, f.selected) for f in only.facets["lang"] if f.selected] == [("ru", True)]


def test_language_facet_on_the_web_and_the_cli(ky_index, capsys):
    import json

    from kb.cli import main
    from kb.web import create_app

    corpus = ky_index.parent / "corpus"
    page = create_app(corpus, ky_index).test_client().get("/search?q=окмоту&lang=ky").get_data(as_text=True)
    assert "кыргызский" in page and "выселение.txt" not in page and "башчы.txt" in page
    assert main(["search", "окмоту", "--lang", "ru", "--json", "--corpus", str(corpus), "--index", str(ky_index)]) == 0
    assert {h["path"] for h in json.loads(capsys.readouterr().out)} == {"выселение.txt"}


# --- the glossary reached from an inflected Kyrgyz word (kb.search.query.kyrgyz_base) ---------

@pytest.mark.parametrize("word, base", [
    ("жатаканадан", "жатакана"), ("жатаканада", "жатакана"), ("жатаканасын", "жатакана"),  # ablative, locative, its + acc.
    ("мыйзамга", "мыйзам"), ("мыйзамдын", "мыйзам"), ("Мыйзамымды", "мыйзам"),           # dative, genitive, my + acc.
    ("соттун", "сот"), ("сотко", "сот"), ("сотто", "сот"),
    ("батирлерди", "батир"), ("келишимге", "келишим"), ("никеге", "нике"),                # plural + accusative
    ("менчиги", "менчик"), ("укугу", "укук"),                                               # к voiced before a vowel
    ("өргүүгө", "оргуу"), ("үй-бүлөбүздү", "уй-було"),                                      # ө ү folded; our + acc.
])
def test_an_inflected_kyrgyz_word_is_read_as_the_glossarys(word, base):
    from kb.search.query import kyrgyz_base

    assert kyrgyz_base(word) == base


def test_other_words_are_left_as_typed():
    from kb.search.query import kyrgyz_base

    # Glossary words as they are (`кодекси` of `турак жай кодекси` is not cut to `кодекс`);
    # Russian words, even those ending like a Kyrgyz form of a glossary word (`сотка` = сот +
    # ка, `пули` = пул + и, `жерди` = жер + ди); Kyrgyz words the glossary has not; Latin ones.
    for w in ("кодекси", "жатакана", "сот", "сотка", "сотни", "пули", "жерди", "суда", "закону",
              "выселение", "общежитии", "кодексы", "чечимисиз", "жатышат", "eviction", "ЖК"):
        assert kyrgyz_base(w) == w, w


def test_the_query_reads_them_through_the_glossary():
    from kb.index import querymodel as qm
    from kb.search.query import parse

    def expansions(q):
        node = parse(q).node
        return [w for n in node.nodes if isinstance(n, qm.Any) and n.expansion and n.weight == 1.0
                for w in n.nodes]

    assert expansions("жатаканадан чыгаруу") == [qm.Word("общежитие", "lemma")]
    assert expansions("соттун чечими") == [qm.Word("суд", "lemma")]
    # The longer term read replaces the shorter one found as typed: `турак жай` (жилье) alone
    # brought an NGO report on housing into the Housing Code's results.
    assert expansions("Турак жай кодексинде") == expansions("Турак жай кодекси") == \
        [qm.Phrase(("жилищный", "кодекс"), slop=1)]
    # A Russian word is never read as Kyrgyz: `сотка` is no `сот` (суд).
    assert qm.Word("суд", "lemma") not in expansions("сотка земли")


def test_a_word_is_read_as_part_of_a_compound_and_alone():
    """`келишимин` (its contract, accusative) is `келишими` after `эмгек` (эмгек келишими,
    трудовой договор) and `келишим` (договор) alone; `бузуу` (breaking) is a breach, not a
    demolition: `эмгек келишимин бузуу` found the Housing Code's articles on demolished houses."""
    from kb.search.query import default_lexicon, kyrgyz_base, lexicon_terms

    def terms(q):
        return sorted(" ".join(alts[0]) for alts in (m.alternatives for m in lexicon_terms(default_lexicon(), q.split())))

    assert kyrgyz_base("келишимин") == "келишими" and kyrgyz_base("келишимин", whole=True) == "келишим"
    assert kyrgyz_base("кодексин") == "кодекси"
    assert terms("эмгек келишимин бузуу") == ["нарушение", "трудовой договор"]
    assert terms("келишимин бузуу") == ["договор", "нарушение"]
    assert terms("укуктарыбызды") == ["право"] and terms("адам укуктарыбызды") == ["права человека"]
    assert terms("никени бузуу") == ["расторжение брака"] and terms("үйдү бузуу") == ["снос"]


def test_the_russian_terms_a_kyrgyz_query_is_searched_by():
    """What the results page names when a Kyrgyz query found passages: each term once, a term
    inside a longer one left out (`договор` of `трудовой договор`)."""
    from kb.search.query import glossary_russian

    assert glossary_russian("эмгек келишимин бузуу".split()) == ["трудовой договор", "нарушение"]
    assert glossary_russian("келишимин бузуу".split()) == ["договор", "нарушение"]
    assert glossary_russian("турак-жай кодексинде".split()) == ["жилищный кодекс"]
    assert glossary_russian("жатаканадан чыгаруу".split()) == ["общежитие"]


@pytest.mark.shared_data
def test_inflected_kyrgyz_words_on_the_real_collection(real_index):
    # Before, `жатаканадан чыгаруу` (eviction from the dormitory) found nothing at all.
    res = search(real_index, "жатаканадан чыгаруу")
    titles = [g.title for g in res.groups]
    housing = [g for g in res.groups[:3] if g.title == "Жилищный кодекс Российской Федерации"]
    assert housing, titles[:3]
    headings = [h.heading or "" for h in housing[0].hits]
    assert any("общежити" in h for h in headings[:3]), headings
    assert any(h.startswith("Статья") and "Выселение" in h for h in headings), headings
    # An inflected form finds what its base form finds.
    assert [g.path for g in search(real_index, "мыйзамга").groups] == [g.path for g in search(real_index, "мыйзам").groups]
    # `Турак жай кодексинде` (in the Housing Code) is read as the Housing Code alone.
    titles = [g.title for g in search(real_index, "Турак жай кодексинде").groups]
    assert titles[0] == "Жилищный кодекс Российской Федерации", titles[:5]
    assert not any("Интербилим" in t for t in titles[:10]), titles[:10]
