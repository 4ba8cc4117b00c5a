"""bench/scale.py's comparison with whoosh's own scorer: equal scores are a tie, not a difference."""

from __future__ import annotations

from types import SimpleNamespace as Hit

from conftest import load_bench


def test_ties_in_docnum_order_real_differences_kept():
    scale = load_bench("scale")
    # whoosh's order of two copies of one article whose sums differ in the last bit
    whoosh = [Hit(docnum=9, score=14.7), Hit(docnum=33948, score=13.745836445449134),
              Hit(docnum=3350, score=13.745836445449132), Hit(docnum=766, score=13.5)]
    fast = [Hit(docnum=9, score=14.7), Hit(docnum=3350, score=13.745836445449134),
            Hit(docnum=33948, score=13.745836445449134), Hit(docnum=766, score=13.5)]
    order = [h.docnum for h in scale._tie_order(whoosh)]
    assert order == [h.docnum for h in scale._tie_order(fast)] == [9, 3350, 33948, 766]
    # scores that really differ keep their order, whatever the docnums
    apart = [Hit(docnum=5, score=2.0), Hit(docnum=1, score=1.0)]
    assert [h.docnum for h in scale._tie_order(apart)] == [5, 1]
    assert scale._tie_order([]) == []
