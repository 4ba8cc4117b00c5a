"""The kind of a query (kb.search.semantic.kind_of) that fusion weighs by (issue 28 item 5)."""

import pytest

from kb.search.semantic import SHARES, kind_of


@pytest.mark.parametrize("query", [
    "кто обязан вносить плату за жилое помещение", "положена ли многодетной семье бесплатная земля",
    "дом признали аварийным куда нас переселят", "работодатель уволил без причины",
    "how to appeal an eviction?", "үйдөн кантип чыгарышат", "можно не платить за воду"])
def test_questions_and_sentences(query):
    assert kind_of(query) == "question"


@pytest.mark.parametrize("query", [
    "взносы на капремонт", "выселение из общежития", "права арендатора при продаже квартиры",
    "ст. 84 ЖК РФ", "срок исковой давности", ""])
def test_keywords(query):
    assert kind_of(query) == "keywords"


def test_every_kind_has_a_share():
    assert set(SHARES) == {"question", "keywords"} and all(0 < v < 1 for v in SHARES.values())
