"""kb.analysis: normalisation, tokenizer offsets and positions, index terms."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kb import analysis
from kb.analysis import ANALYZER_VERSION, Token, is_compound, normalize, surface_term, terms, tokenize
from kb.analysis import _terms


def norms(text):
    return [t.norm for t in tokenize(text)]


def lemma_terms(text):
    return [tuple(terms(t.norm)) for t in tokenize(text)]


def same_terms(a, b):
    return set(terms(normalize(a))) & set(terms(normalize(b)))


# ---- normalisation -------------------------------------------------------


def test_normalize_case_yo_stress():
    assert normalize("ЖИЛЬЁ") == "жилье"
    assert normalize("правово\u0301е") == "правовое"
    assert normalize("Ёлка") == "елка"


def test_normalize_keeps_letters_with_diacritics():
    # й must not lose its breve; Kyrgyz letters fold to the Russian ones typed for them
    assert normalize("Кыргызский") == "кыргызский"
    assert normalize("и\u0306од") == "йод"  # decomposed й composes and stays
    assert normalize("е\u0308ж") == "еж"  # decomposed ё -> е
    assert normalize("ҢӨҮ") == "ноу"
    assert normalize("айыл өкмөтү") == normalize("Айыл окмоту") == "айыл окмоту"


def test_kyrgyz_spellings_meet():
    assert [t.norm for t in tokenize("Жогорку Кеңеш, өкмөт")] == ["жогорку", "кенеш", "окмот"]
    assert terms(normalize("өкмөтү")) == terms(normalize("окмоту"))


def test_normalize_nfkc_and_latin_accents():
    assert normalize("ＡＢＣ１２") == "abc12"
    assert normalize("café") == "cafe"
    assert normalize("ﬁle") == "file"


# ---- tokenizer -------------------------------------------------------------


def test_basic_tokens_and_positions():
    toks = tokenize("Право на жильё.")
    assert [t.norm for t in toks] == ["право", "на", "жилье"]
    assert [t.pos for t in toks] == [0, 1, 2]
    assert toks[2].surface == "жильё"


def test_stress_marks_one_token_with_original_offsets():
    text = "Его правово\u0301е положе\u0301ние"
    toks = tokenize(text)
    assert [t.norm for t in toks] == ["его", "правовое", "положение"]
    for t in toks:
        assert text[t.start : t.end] == t.surface
    assert toks[1].surface == "правово\u0301е"
    assert toks[2].surface == "положе\u0301ние"


def test_soft_hyphen_and_zero_width_do_not_split():
    text = "граж\u00adданский ко\u200bдекс"
    toks = tokenize(text)
    assert [t.norm for t in toks] == ["гражданский", "кодекс"]
    assert all(text[t.start : t.end] == t.surface for t in toks)


def test_compound_whole_and_parts():
    toks = tokenize("социально-экономических прав")
    assert [(t.norm, t.pos) for t in toks] == [
        ("социально-экономических", 0),
        ("социально", 0),
        ("экономических", 1),
        ("прав", 2),
    ]
    assert is_compound(toks[0]) and not is_compound(toks[1])
    # the whole is findable by any inflection of the whole
    assert same_terms("социально-экономических", "социально-экономическое")
    # and each part by its own inflections
    assert same_terms("экономических", "экономическое")


def test_compound_phrase_positions_match_spaced_query():
    doc = [t for t in tokenize("в сфере социально-экономических прав") if not is_compound(t)]
    query = tokenize("социально экономических прав")
    dpos = {t.norm: t.pos for t in doc}
    qpos = [dpos[t.norm] for t in query]
    assert qpos == list(range(qpos[0], qpos[0] + 3))


def test_requisites_and_numbers():
    toks = tokenize("ст. 84 ЖК РФ, Федеральный закон № 128-ФЗ от 15.05.2013, № 911 от 16.11.2019г.")
    ns = [t.norm for t in toks]
    assert ns[:4] == ["ст", "84", "жк", "рф"]
    assert "128-фз" in ns and "128" in ns and "фз" in ns
    assert "15.05.2013" in ns and "911" in ns and "16.11.2019" in ns
    assert "ст." not in ns
    assert terms("128-фз") == ("128-фз",)
    assert terms("84") == ("84",)
    assert terms("15.05.2013") == ("15.05.2013",)


def test_digit_letter_mix_splits():
    toks = tokenize("в 2019г отчет")
    assert [t.norm for t in toks] == ["в", "2019г", "2019", "г", "отчет"]


def test_offsets_on_messy_text():
    text = (
        "«Жили\u0301щный» ко\u00adдекс\u200b (ред. от 01.01.2020г.)—ст.84,ч.2; "
        "ＷＨＯ’s report: COVID-19\tКыргыз-Түрк «Манас» \ufeffайыл "
        "Е\u0308лка и\u0306од ﬁle — 3,5% … U+0301 _x_ ۱۲۳ Ω"
    )
    toks = tokenize(text)
    assert toks
    for t in toks:
        assert text[t.start : t.end] == t.surface, t
        assert t.norm == normalize(t.surface)
        assert t.norm and t.norm.strip() == t.norm
    positions = [t.pos for t in toks]
    assert positions == sorted(positions)
    ns = [t.norm for t in toks]
    assert "жилищный" in ns and "кодекс" in ns and "84" in ns and "01.01.2020" in ns
    assert "елка" in ns and "йод" in ns and "covid-19" in ns and "file" in ns


def test_empty_and_punctuation_only():
    assert tokenize("") == []
    assert tokenize(" .,;— «» \n\t") == []


def test_token_is_frozen():
    t = tokenize("слово")[0]
    assert isinstance(t, Token)
    with pytest.raises(AttributeError):
        t.norm = "x"


# ---- terms ---------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b",
    [
        ("защита", "защите"),
        ("жилье", "жилья"),
        ("жильё", "жилья"),
        ("права", "право"),
        ("инвалидов", "инвалиды"),
        ("выселение", "выселения"),
        ("снять", "снятие"),
        ("жилищный", "жилищных"),
    ],
)
def test_inflections_join(a, b):
    assert same_terms(a, b), (terms(normalize(a)), terms(normalize(b)))


def test_unrelated_words_stay_apart():
    assert not same_terms("закон", "заказ")
    assert not same_terms("суд", "судно")


@pytest.mark.parametrize("word", ["Кенешем", "Кенеша", "Кенеш"])
def test_kyrgyz_names_not_mangled(word):
    # The Russian term first; a word the dictionary does not know also carries its Kyrgyz
    # stem (kb.analysis._kyrgyz), to find it in Kyrgyz texts.
    t, *ky = terms(normalize(word))
    assert t == "кенеш" and ky in ([], [normalize(word)])
    assert "кенесать" not in terms(normalize(word))


def test_kyrgyz_words_not_mangled():
    assert terms("айыл") == ("айыл",)
    assert not any(t.startswith("айыть") for t in terms("айыл"))
    assert same_terms("Кенешем", "Кенеша")


@pytest.mark.parametrize("abbr", ["ЖК", "ОМСУ", "НКО", "ГК", "РФ", "КР"])
def test_abbreviations_kept(abbr):
    assert terms(normalize(abbr)) == (abbr.lower(),)


def test_latin_english_stems():
    assert terms("rights") == terms("right") == ("right",)
    assert terms("housing") == ("hous",)
    assert same_terms("organizations", "organization")


def test_surface_term_is_norm():
    for t in tokenize("Жилья правово\u0301е ЖК"):
        assert surface_term(t.norm) == t.norm


def test_terms_cached():
    _terms.terms.cache_clear()
    terms("защите")
    terms("защите")
    info = _terms.terms.cache_info()
    assert info.hits >= 1 and info.misses == 1


def test_terms_are_tuples_of_nonempty_strings():
    for t in tokenize("Жилищный кодекс Российской Федерации 2019 social housing ЖК РФ ст. 84 Кенешем"):
        ts = terms(t.norm)
        assert isinstance(ts, tuple) and ts and all(isinstance(x, str) and x for x in ts)


def test_version_is_a_string():
    assert isinstance(ANALYZER_VERSION, str) and ANALYZER_VERSION


def test_no_whoosh_import_in_analysis():
    pkg = Path(analysis.__file__).parent
    for py in pkg.rglob("*.py"):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "whoosh" for a in node.names), py
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "whoosh", py


def test_query_weight_downweights_function_and_question_words():
    from kb.analysis import STOP_WEIGHT, query_weight

    assert query_weight("сколько") == STOP_WEIGHT < 1
    assert query_weight("в") == STOP_WEIGHT
    assert query_weight("жилье") == 1.0
