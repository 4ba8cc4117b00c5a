"""bench/pg_prototype.py without a PostgreSQL server: the parts in Python.

The tsvector and tsquery literals, the translation of kb's queries into weighted terms, and
the BM25 the SQL computes (its Python specification, bm25_reference) against kb's own
scores on a tiny index: what the prototype ranks by is kb's ranking, term for term."""

from __future__ import annotations

import math

import pytest

from conftest import load_bench
from kb.index import _engine, reader, forget_readers, write_passages
from kb.search import parse


pg = load_bench("pg_prototype")

PASSAGES = [
    ("a1", "Жилищный кодекс, статья 83. Расторжение договора социального найма",
     "Договор социального найма жилого помещения может быть расторгнут в любое время по "
     "соглашению сторон. Наниматель вправе расторгнуть договор."),
    ("a2", "Жилищный кодекс, статья 90. Выселение нанимателей",
     "Если наниматель и проживающие совместно с ним члены его семьи в течение более шести месяцев "
     "без уважительных причин не вносят плату за жилое помещение и коммунальные услуги, они могут "
     "быть выселены в судебном порядке."),
    ("a3", "Семейный кодекс, статья 16. Основания для прекращения брака",
     "Брак прекращается вследствие смерти или вследствие объявления судом одного из супругов умершим. "
     "Брак может быть прекращен путем его расторжения по заявлению одного или обоих супругов."),
    ("a4", "Гражданский кодекс, статья 454. Договор купли-продажи",
     "По договору купли-продажи одна сторона (продавец) обязуется передать вещь (товар) в собственность "
     "другой стороне (покупателю)."),
    ("a5", "Жилищный кодекс, статья 57. Предоставление жилых помещений",
     "Жилые помещения предоставляются гражданам, состоящим на учете в качестве нуждающихся в жилых "
     "помещениях, в порядке очередности. Вне очереди жилые помещения предоставляются гражданам."),
]


def term(word: str) -> str:
    """kb's one index term of a word (kb.analysis, through the Translator's own helper)."""
    (terms,) = _engine._lemma_terms(word)
    assert len(terms) == 1
    return terms[0]


def test_tsvector_literal_labels_title_a_and_body_d_with_positions():
    a = pg.analyze("x", "Выселение", "выселение за долги, выселение")
    lit = pg.tsvector_literal(a)
    # One lexeme per term; the title's position labelled A, the body's (after a gap) unlabelled.
    assert lit == f"'{term('выселение')}':1A,3,6 '{term('долги')}':5 '{term('за')}':4"
    assert a.lengths == {"title": 1, "body": 4}


def test_literals_quote_apostrophes_and_backslashes():
    assert pg._quote("д'артаньян") == "'д''артаньян'"
    assert pg._quote("a\\b") == "'a\\\\b'"
    assert pg.tsquery_literal(["жилье", "о'нил"]) == "'жилье' | 'о''нил'"


def test_tsvector_caps_are_counted():
    a = pg.Analyzed("x", {"title": {}, "body": {"слово": list(range(300)), "даль": [20000]}},
                    {"title": 0, "body": 301})
    capped = pg.Capped()
    lit = pg.tsvector_literal(a, capped)
    assert capped.positions == 1 and capped.clamped == 1
    assert lit.count(",") < 300 and "'даль':16383" in lit


def test_stats_are_whooshs_df_and_average_length():
    passages = [pg.analyze(pid, t, b) for pid, t, b in PASSAGES]
    st = pg.TermStats.of(passages)
    assert st.n == 5
    assert st.doc_frequency("title", "кодекс") == 5
    assert st.doc_frequency("body", "кодекс") == 0
    assert st.avg("body") == sum(p.lengths["body"] for p in passages) / 5
    assert st.idf("body", "договор") == pytest.approx(math.log(1 + (5 - 2 + 0.5) / (2 + 0.5)))
    # whoosh keeps one byte per field length: exact up to 10, approximate above.
    assert [pg.stored_length(n) for n in (0, 1, 10)] == [0, 1, 10]
    assert pg.stored_length(1000) != 1000 and abs(pg.stored_length(1000) - 1000) < 40


def test_translation_uses_kbs_weights_and_common_words():
    evict, za, debt = term("выселение"), term("за"), term("неуплату")
    st = pg.TermStats(n=10_000, df={("body", evict): 30, ("body", za): 5_000, ("body", debt): 12})
    pq = pg.translate("выселение за неуплату", st)
    weights = {(lf.field, lf.term): lf.weight for lf in pq.leaves}
    assert weights[("body", evict)] == 1.0
    assert weights[("title", evict)] == _engine.TITLE_BOOST
    assert weights[("body", za)] < 1.0                    # a stop word weighs STOP_WEIGHT
    # `за` is in half the passages: it only adds to passages the rarer words found (AndMaybe).
    assert pq.drove and za not in pq.match and {evict, debt} <= set(pq.match)
    assert pq.approx == set()
    plain = pg.translate("выселение за неуплату", st, driven=False)
    assert za in plain.match


def test_prefix_queries_are_refused_not_approximated():
    with pytest.raises(pg.Unsupported):
        pg.translate("выселен*", pg.TermStats(n=1))


@pytest.mark.parametrize("query", ["расторжение договора найма", "выселение за неуплату коммунальных услуг",
                                   "прекращение брака", "жилье вне очереди"])
def test_sql_bm25_specification_equals_kbs_scores(tmp_path, query):
    write_passages(tmp_path, ({"doc_id": pid, "pid": pid, "path": pid, "title": t, "body": b, "ordinal": 0,
                               "doc_type": "другое"} for pid, t, b in PASSAGES))
    try:
        rd = reader(tmp_path)
        raw = rd.search(parse(query).node, None, limit=100)
        kb_scores = {h.doc_id: h.score for h in raw.hits}
    finally:
        forget_readers()
    passages = [pg.analyze(pid, t, b) for pid, t, b in PASSAGES]
    st = pg.TermStats.of(passages)
    pq = pg.translate(query, st)
    assert pq.approx == set()
    ours = pg.bm25_reference(st, passages, pq)
    assert kb_scores and set(ours) == set(kb_scores)
    for pid, score in kb_scores.items():
        assert ours[pid] == pytest.approx(score, rel=1e-9), pid


def test_agreement_counts_overlap_and_top1_where_kb_found_something():
    ov, top1 = pg.agreement([["a", "b", "c"], ["x"], []], [["a", "c", "d"], ["y"], []], k=10)
    assert top1 == pytest.approx(0.5)
    assert ov == pytest.approx((2 / 3 + 0) / 2)


def test_tied_top1_accepts_a_different_passage_with_the_same_best_score():
    scores = [{"a": 2.0, "b": 2.0, "c": 1.0}, {"a": 2.0, "b": 1.5}, {}]
    assert pg.tied_top1(scores, [["b", "a"], ["b"], []]) == pytest.approx(0.5)
