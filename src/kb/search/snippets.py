"""Snippets: the part of a passage densest in matches, as plain text with the character
offsets of its matches (`Snippet`), and as HTML, escaped, matches in <mark> (pages and
clients that took the HTML before offsets existed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape

from kb import analysis
from kb.search.query import Highlight


class Matcher:
    """Decides whether a token of a passage answers the query (any inflection, exact, prefix)."""

    def __init__(self, hl: Highlight):
        self.lemma_terms: set[str] = set()
        # Function words (`в`, `на`, `как`) are not marked, unless the query is nothing else:
        # marks on every preposition hide the words that matter, and scanning for them is slow.
        content = [w for w in hl.lemma_words
                   if any(analysis.query_weight(t.norm) == 1.0 for t in analysis.tokenize(w))]
        self.lemma_words = content or list(hl.lemma_words)
        for w in self.lemma_words:
            for t in analysis.tokenize(w):
                self.lemma_terms.update(analysis.terms(t.norm))
        self.exact = {analysis.surface_term(t.norm) for w in hl.exact_words for t in analysis.tokenize(w)}
        self.prefixes = tuple(analysis.normalize(p) for p in hl.prefixes)
        self.word_cache: dict[str, tuple] = {}
        self.candidates = self._candidate_regex(hl)

    def _candidate_regex(self, hl: Highlight):
        """Words that may match start like a query term: found by one C-speed regex scan,
        so that only they are analysed (a passage has ~1,000 words, a query a handful)."""
        heads = set()
        for t in self.lemma_terms | self.exact | set(self.prefixes):
            heads.add(t[:3])
        for w in self.lemma_words + hl.exact_words:
            heads.add(analysis.normalize(w)[:3])
        heads.discard("")
        if not heads:
            return None
        alts = "|".join(sorted((re.escape(h).replace("е", "[её]") for h in heads), key=len, reverse=True))
        return re.compile(rf"(?<![\w\u0300-\u036f\u00ad])(?:{alts})", re.IGNORECASE)

    def __bool__(self) -> bool:
        return bool(self.lemma_terms or self.exact or self.prefixes)

    def matches(self, tok) -> bool:
        if tok.norm in self.exact:
            return True
        if self.prefixes and tok.norm.startswith(self.prefixes):
            return True
        return bool(self.lemma_terms) and not self.lemma_terms.isdisjoint(analysis.terms(tok.norm))


# A word as it stands in the text, stress marks, soft hyphens and hyphenated parts included.
_WORD = re.compile(r"[\w\u0300-\u036f\u00ad]+(?:-[\w\u0300-\u036f\u00ad]+)*")


@lru_cache(maxsize=200_000)
def _analysed(word: str) -> tuple:
    """The tokens of one written word (queries come and go, the vocabulary stays)."""
    return tuple(analysis.tokenize(word))


def _word_spans(word: str, matcher: Matcher) -> tuple[tuple[int, int], ...]:
    """Spans (relative to the word) of the tokens of one written word that match."""
    spans: list[tuple[int, int]] = []
    for tok in _analysed(word):
        if matcher.matches(tok):
            if spans and tok.start < spans[-1][1]:
                # a compound and its parts overlap: keep the widest
                spans[-1] = (spans[-1][0], max(spans[-1][1], tok.end))
            else:
                spans.append((tok.start, tok.end))
    return tuple(spans)


def _marked_spans(text: str, matcher: Matcher) -> list[tuple[int, int]]:
    """Matches in `text`, in order, none overlapping another."""
    # Words repeat: each distinct written word is analysed once per query.
    cache = matcher.word_cache
    spans = []
    if matcher.candidates is None:
        return spans
    done = 0
    for c in matcher.candidates.finditer(text):
        # The second part of `жилищно-коммунальные` is a candidate too, but the whole written
        # word was analysed already: marking it again repeated `коммунальные` in the snippet.
        if c.start() < done:
            continue
        m = _WORD.match(text, c.start())
        if m is None:
            continue
        done = m.end()
        word = m.group()
        rel = cache.get(word)
        if rel is None:
            rel = cache[word] = _word_spans(word, matcher)
        if rel:
            base = m.start()
            spans.extend((base + a, base + b) for a, b in rel)
    return spans


def mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    """Escape text[start:end] and wrap the given spans in <mark>."""
    end = len(text) if end is None else end
    out, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s], quote=False))
        out.append("<mark>" + escape(text[s:e], quote=False) + "</mark>")
        pos = e
    out.append(escape(text[pos:end], quote=False))
    return "".join(out)


def highlight_all(text: str, matcher: Matcher) -> str:
    """The whole text, escaped, with every match marked (document pages)."""
    return mark(text, _marked_spans(text, matcher) if matcher else [])


@dataclass
class Snippet:
    """A snippet as plain text (no markup, no entities) and its matches as [start, end)
    offsets into it, in order and not overlapping; offsets count characters (code points)."""

    text: str
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def html(self) -> str:
        """The same snippet escaped for HTML, each match in <mark>."""
        return mark(self.text, self.highlights)


def highlight_spans(text: str, matcher: Matcher) -> list[tuple[int, int]]:
    """[start, end) offsets of every match in the whole text (document pages, the API)."""
    return _marked_spans(text, matcher) if matcher else []


def make_snippet(text: str, matcher: Matcher, width: int = 320) -> Snippet:
    """About `width` characters of `text` around its densest run of matches, cut at spaces,
    `… ` / ` …` where text was left out, line breaks as spaces."""
    spans = _marked_spans(text, matcher) if matcher else []
    if len(text) <= width:
        return Snippet(text.replace("\n", " "), spans)
    best_i, best_n, j = 0, 0, 0
    for i, (s, _) in enumerate(spans):
        while j < len(spans) and spans[j][1] - s <= width:
            j += 1
        if j - i > best_n:
            best_i, best_n = i, j - i
    if spans:
        first = spans[best_i][0]
        last = spans[best_i + best_n - 1][1]
        pad = max(0, (width - (last - first)) // 2)
        start = max(0, first - min(pad, 80))
    else:
        start = 0
    end = min(len(text), start + width)
    if end - start < width:
        start = max(0, end - width)
    # Do not cut words in half.
    if start > 0:
        sp = text.find(" ", start, start + 30)
        start = sp + 1 if sp != -1 else start
    if end < len(text):
        sp = text.rfind(" ", end - 30, end)
        end = sp if sp != -1 else end
    head = "… " if start > 0 else ""
    shift = len(head) - start
    # A match cut by the window is kept for its part inside, as the HTML marked it.
    inside = [(max(s, start) + shift, min(e, end) + shift) for s, e in spans if e > start and s < end]
    return Snippet(head + text[start:end].replace("\n", " ") + (" …" if end < len(text) else ""), inside)


def snippet(text: str, matcher: Matcher, width: int = 320) -> str:
    """`make_snippet` as HTML."""
    return make_snippet(text, matcher, width).html()
