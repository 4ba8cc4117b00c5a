"""A second look at the best passages of a plain-words query, with word vectors.

BM25 over lemmas only sees shared words. For the top passages, a passage whose words are
close in meaning to the question's (`ТСЖ` / `товарищество`, `создать` / `создание`,
`коммуналка` / `коммунальные`) gains VECTOR_WEIGHT x (top score) x the mean best cosine of
the query's content words (kb.analysis.vectors). Measured with `kb eval` (docs/ranking.md):
legal-ru-dev 0.4897 -> 0.53, xquad-ru 0.9613 -> 0.963. Queries with explicit syntax (phrases,
exact forms, fields, AND / NOT) are left exactly as the user asked.
"""

from __future__ import annotations

from dataclasses import replace

from kb import analysis
from kb.analysis.vectors import word_vectors
from kb.index import RawResults
from kb.index import querymodel as qm

DEPTH = 20              # passages looked at again
VECTOR_WEIGHT = 1.0     # λ: 1 is best on both dev sets together (3 helps legal, costs xquad)


def _plain(node) -> bool:
    """Words in any inflection, OR'ed, possibly with the lexicon's expansions."""
    if isinstance(node, qm.Word):
        return node.mode == "lemma"
    if isinstance(node, qm.Any):
        return all(_plain(n) or (isinstance(n, qm.Phrase) and not n.exact) for n in node.nodes)
    return False


def content_words(query_words: list[str]) -> list[str]:
    """Normalised words that carry meaning: no function or question words, no numbers."""
    out = []
    for w in query_words:
        for tok in analysis.tokenize(w):
            if analysis.query_weight(tok.norm) == 1.0 and not tok.norm.isdigit():
                out.append(tok.norm)
    return out


def with_vectors(node, query_words: list[str], raw: RawResults, depth: int = DEPTH,
                 weight: float = VECTOR_WEIGHT, vectors=None) -> RawResults:
    """The same results, the first `depth` passages reordered; scores stay comparable
    (a passage only gains, so those beyond `depth` keep their place below).

    `vectors`: a `WordVectors` to use instead of kb's configured ones (bench/ranking_lab.py)."""
    vectors = vectors or word_vectors()
    if vectors is None or weight <= 0 or len(raw.hits) < 2 or not _plain(node):
        return raw
    words = content_words(query_words)
    if not words:
        return raw
    top = raw.hits[:depth]
    texts = [f"{h.fields.get('title', '')} {h.fields.get('body', '')}" for h in top]
    closeness = vectors.best_match(words, texts)
    best = top[0].score
    gained = [replace(h, score=h.score + weight * best * c) for h, c in zip(top, closeness)]
    gained.sort(key=lambda h: -h.score)
    return replace(raw, hits=gained + raw.hits[depth:])
