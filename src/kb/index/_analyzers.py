"""Whoosh analyzers wrapping `kb.analysis`.

Whoosh pickles a field's analyzer into the index, so these classes must stay
importable from this module path. The body is analysed twice (lemma and exact
fields): the last tokenization is kept so the second field does not redo it.
"""

from __future__ import annotations

from whoosh.analysis import Analyzer, Token as WhooshToken

from kb import analysis

_last: tuple[str, list] = ("", [])


def _tokens(text: str) -> list:
    global _last
    if _last[0] is text or _last[0] == text:
        return _last[1]
    toks = analysis.tokenize(text)
    _last = (text, toks)
    return toks


class _KbAnalyzer(Analyzer):
    def _terms(self, norm: str, kyrgyz: bool) -> tuple[str, ...]:
        raise NotImplementedError

    def _kyrgyz(self, value: str) -> bool:
        return False

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self).__name__)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = WhooshToken(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Whoosh hands already-analysed terms back through here (e.g. for spelling).
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        kyrgyz = self._kyrgyz(value)
        for tok in _tokens(value):
            for term in self._terms(tok.norm, kyrgyz):
                t.text = term
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = tok.surface
                if positions:
                    t.pos = start_pos + tok.pos
                if chars:
                    t.startchar = start_char + tok.start
                    t.endchar = start_char + tok.end
                yield t


class LemmaAnalyzer(_KbAnalyzer):
    """Terms that join the inflections of a word (kb.analysis.index_terms): Russian lemmas,
    Kyrgyz stems for a text in Kyrgyz (each passage or title is judged as a whole)."""

    def _kyrgyz(self, value):
        return analysis.is_kyrgyz(value)

    def _terms(self, norm, kyrgyz):
        return analysis.index_terms(norm, kyrgyz)


class SurfaceAnalyzer(_KbAnalyzer):
    """The normalised word form itself: exact-form and prefix search, spelling suggestions."""

    def _terms(self, norm, kyrgyz):
        return (analysis.surface_term(norm),)
