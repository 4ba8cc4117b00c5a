"""Property tests (hypothesis) over the real index: plain-words queries never lose documents.

Queries of 1-6 words drawn from the collection's vocabulary, the lexicon and glossary, and
random strings (typos, words no document has, English words), searched the way the product
searches (kb.search.search, default settings):
- when one of the words alone finds something, the query finds something;
- adding a word to a query that finds something never leaves it with nothing.
Derandomized: CI runs the same examples every time, and a failure reproduces.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.index import reader
from kb.search import search
from kb.search.query import default_lexicon

pytestmark = pytest.mark.shared_data

LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяөүңabcdefghijklmnopqrstuvwxyz"
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def words(real_index) -> dict[str, list[str]]:
    """Word pools: forms indexed in the collection (a sample), and the lexicon's words."""
    rd = reader(real_index)
    with rd.lock:
        forms = [t.decode("utf-8") if isinstance(t, bytes) else t
                 for t in rd.searcher().reader().lexicon("exact")]
    forms = [w for w in forms if w.isalpha() and len(w) >= 3]
    vocab = random.Random(10).sample(forms, min(3000, len(forms)))
    lex = sorted({w for term, alts, _ in default_lexicon().entries
                  for phrase in [term] + [a.words for a in alts] for w in phrase if w.isalpha()})
    return {"vocab": vocab, "lexicon": lex}


def _word(pools):
    random_word = st.text(alphabet=LETTERS, min_size=3, max_size=12)
    return st.one_of(st.sampled_from(pools["vocab"]), st.sampled_from(pools["lexicon"]), random_word)


def _found(index, query: str) -> bool:
    return search(index, query).total_docs > 0


def test_a_word_that_finds_keeps_the_query_finding(real_index, words):
    @SETTINGS
    @given(st.lists(_word(words), min_size=1, max_size=6))
    def check(ws):
        query = " ".join(ws)
        if any(_found(real_index, w) for w in ws):
            assert _found(real_index, query), query

    check()


def test_adding_a_word_never_removes_all_results(real_index, words):
    @SETTINGS
    @given(st.lists(_word(words), min_size=1, max_size=5), _word(words))
    def check(ws, extra):
        query = " ".join(ws)
        if _found(real_index, query):
            assert _found(real_index, f"{query} {extra}"), (query, extra)

    check()
