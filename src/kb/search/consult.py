"""/consult: what the collection says about a client's problem told in the client's words.

    consult(index_dir, text, limit=5) -> Consultation
        .articles       [LawAct]  the articles of law the story touches, grouped by act
        .found          [dict]    past consultations like it, with the acts each cited
        .acts           [dict]    those acts together, the most often cited first
        .staff_hidden   bool      consultation records exist that the caller may not see
    law_for(index_dir, text) -> [LawAct]

The articles come from the passages of documents of type «нормативный акт», found by words
and, once the passage vectors are built, by meaning too (kb.search.semantic.fuse, as search
fuses them). They are shown whether or not consultation records exist: a lawyer whose
collection holds only the codes still gets the articles that answer the story.

Words: a story is not a query. Its function words and its syntax are dropped (a `-` or a
quote in a story excludes or binds nothing); each content word is a concept that counts once
per passage, with the lexicon's legal terms for everyday ones (`выгонять` => `выселение`)
and the words of its family (kb.index.story_passages); a word in an article's title counts
more. Copies of an act (the same code as HTML and DOCX) are one act.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kb import analysis
from kb.analysis import embed
from kb.errors import QueryError
from kb.index import access, reader, story_passages
from kb.index import querymodel as qm
from kb.search.catalog import catalog, full_catalog
from kb.search.citations import citation_graph
from kb.search.cite import cite, stable_anchor
from kb.search.query import default_lexicon, lexicon_terms, parse
from kb.search.reading import passage_label
from kb.search.semantic import _query_vector, fuse
from kb.search.similar import model_for, similar_to_text, story_text
from kb.search.snippets import Matcher, snippet

CONSULTATION = "консультация"
ACT = "нормативный акт"

MAX_CONCEPTS = 40       # content words of a story weighed (a story of 5,000 characters has ~700)
LEXICON_WEIGHT = 0.8    # a legal term the lexicon gives for an everyday word, of the word's weight
PASSAGES = 100          # passages ranked before they are grouped by act
SEMANTIC_DEPTH = 100    # passages taken from the ranking by meaning
# A passage scoring under this share of the best one is left out (words alone): a story of
# common words would otherwise list every act that mentions a week or a year.
LEXICAL_FLOOR = 0.3
ACTS = 5                # acts shown
ACT_FLOOR = 0.65        # of the best act's score, by words alone: an act below is not shown
PER_ACT = 6             # articles shown of each act
EXCERPT = 220           # characters of an article's excerpt


# Words of telling and asking, not of the problem: `комендант говорит`, `куда обращаться`, `что
# делать`. Law uses them in other senses (`обращение с отходами`, `право ребенка жить`), and a
# story has them in every other sentence.
STORY_WORDS = ("говорить сказать делать сделать обращаться обратиться подсказать помочь помогите хотеть "
               "мочь знать понимать просить спросить ответить пожалуйста здравствуйте спасибо вопрос жить")


@dataclass
class LawArticle:
    doc_id: str
    ordinal: int
    article: str | None     # the article's number, None for a passage that is not one
    label: str              # `ст. 103`, `п. 40`, `фрагмент 12`
    heading: str            # the article's title as the act gives it
    citation: str           # the short citation: `ст. 103 ЖК РФ`
    anchor: str             # a stable anchor (`st-103`, `page-12`, `p-40`): kb.search.cite.stable_anchor
    excerpt_html: str       # the part of the passage densest in the story's words, marked, escaped
    score: float

    @property
    def title(self) -> str:
        """The heading without its `Статья 103.`: the label says that."""
        return re.sub(r"^\s*Статья\s+[\d.]+\.?\s*", "", self.heading) if self.article else self.heading

    @property
    def excerpt(self) -> str:
        return html.unescape(re.sub(r"</?mark>", "", self.excerpt_html))

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "passage": self.ordinal, "article": self.article, "label": self.label,
                "heading": self.heading, "citation_short": self.citation, "anchor": self.anchor,
                "excerpt": self.excerpt, "score": round(self.score, 4)}


@dataclass
class LawAct:
    doc_id: str
    title: str
    citation: str           # the act's short name: `ЖК РФ`
    score: float
    articles: list[LawArticle] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)     # the same act in other files

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "citation_short": self.citation,
                "score": round(self.score, 4), "copies": self.copies,
                "articles": [a.to_json() for a in self.articles]}


@dataclass
class Consultation:
    articles: list[LawAct]
    found: list[dict]
    acts: list[dict]
    staff_hidden: bool


@lru_cache(maxsize=1)
def _story_terms() -> frozenset[str]:
    return frozenset(t for w in STORY_WORDS.split() for t in analysis.terms(analysis.normalize(w)))


def _content(toks: list) -> list[int]:
    """Indices of the story's tokens that carry meaning, each lemma once, in order."""
    out, seen = [], set()
    for i, tok in enumerate(toks):
        norm = tok.norm
        if len(norm) < 3 or not norm.isalpha() or analysis.query_weight(norm) != 1.0:
            continue
        terms = tuple(analysis.terms(norm))
        if not terms or terms in seen or _story_terms().issuperset(terms):
            continue
        seen.add(terms)
        out.append(i)
    return out[:MAX_CONCEPTS]


def story_concepts(text: str) -> list[dict[str, float]]:
    """One {index term: weight} per content word of the story (at most MAX_CONCEPTS), with
    the lexicon's alternatives for it (and for the everyday phrases it begins) at a lower weight."""
    toks = analysis.tokenize(text)
    by_index = {i: {t: 1.0 for t in analysis.terms(toks[i].norm)} for i in _content(toks)}
    concepts = list(by_index.values())
    for m in lexicon_terms(default_lexicon(), [t.surface for t in toks]):
        c = next((by_index[i] for i in range(m.start, m.end) if i in by_index), None)
        if c is None:
            if len(concepts) >= MAX_CONCEPTS:
                continue
            c = {}
            concepts.append(c)
        for alt in m.alternatives:
            for w in alt:
                for tok in analysis.tokenize(w):
                    if analysis.query_weight(tok.norm) == 1.0:
                        for t in analysis.terms(tok.norm):
                            c.setdefault(t, LEXICON_WEIGHT)
    return [c for c in concepts if c]


def _ranked(rd, text: str, filters: qm.Filters):
    """The passages of acts for the story: by words, fused with meaning when the vectors are built."""
    lexical = story_passages(rd, story_concepts(text), filters, limit=PASSAGES)
    if lexical.hits:
        floor = lexical.hits[0].score * LEXICAL_FLOOR
        lexical.hits = [h for h in lexical.hits if h.score >= floor]
    model = model_for(rd)
    if model is None:
        return lexical
    # e5 reads at most 512 tokens: the start of a long story, as for passages.
    qvec = _query_vector(model, " ".join(text.split())[:embed.MAX_CHARS])
    sem = rd.semantic(qvec, model.key, filters, limit=SEMANTIC_DEPTH) if qvec is not None else None
    if sem is None:
        return lexical
    return fuse(lexical, sem, PASSAGES, min_alone=-1.0 if model.floor is None else model.floor)


def law_for(index_dir: Path, text: str, *, acts: int = ACTS, per_act: int = PER_ACT) -> list[LawAct]:
    """The articles of the acts in the collection that a client's story touches, grouped by
    act (copies of an act as one), the acts with the best articles first."""
    text = story_text(text)
    rd = reader(Path(index_dir))
    raw = _ranked(rd, text, qm.Filters(doc_type=[ACT]))
    cat = catalog(index_dir)
    keys = cat.copy_keys()
    toks = analysis.tokenize(text)
    words = " ".join(toks[i].surface for i in _content(toks))
    try:
        matcher = Matcher(parse(words).highlight) if words else None
    except QueryError:
        matcher = None
    groups: dict[str, LawAct] = {}
    seen: dict[str, set] = {}
    for h in raw.hits:
        info = cat.get(h.doc_id)
        if info is None:
            continue
        key = keys.get(h.doc_id, h.doc_id)
        act = groups.get(key)
        if act is None:
            if len(groups) >= acts * 3:     # enough acts to choose from
                continue
            act = groups[key] = LawAct(doc_id=h.doc_id, title=info.title, citation=cite(info).short, score=0.0,
                                       copies=[c for c in info.meta.get("copies") or [] if cat.get(c)])
        if len(act.articles) >= per_act:
            continue
        if h.doc_id != act.doc_id:
            continue        # a copy's passage: the first file found speaks for the act
        f = h.read()
        article = f.get("article") or None
        body = f.get("body") or ""
        label = passage_label(f.get("ordinal", 0), article=article, page=f.get("page"), text=body, act=True)
        where = article or label
        if where in seen.setdefault(key, set()):
            continue        # a long article cut in several passages: its best one
        seen[key].add(where)
        act.score += h.score if not act.articles else h.score / (len(act.articles) + 1)
        act.articles.append(LawArticle(
            doc_id=act.doc_id, ordinal=f.get("ordinal", 0), article=article, label=label.replace("Ст.", "ст."),
            heading=f.get("heading") or "",
            citation=cite(info, article=article).short if article else f"{label}, {cite(info).short}",
            anchor=stable_anchor(info, article, f.get("page")) or f"p-{f.get('ordinal', 0)}",
            excerpt_html=snippet(body, matcher, EXCERPT) if matcher else html.escape(body[:EXCERPT]),
            score=h.score))
    out = sorted(groups.values(), key=lambda a: -a.score)[:acts]
    if out and not raw.by_meaning and out[0].score > 0:
        # Words alone: an act far behind the best one shares only common words with the story
        # (`неделя` found the working week of the labour code).
        out = [a for a in out if a.score >= out[0].score * ACT_FLOOR]
    return out


def staff_records_hidden(index_dir: Path) -> bool:
    """Consultation records exist that the current audience may not see: signing in would
    show them. Said only then (a collection of codes alone has nothing to sign in for)."""
    if not access.restricted():
        return False
    full = full_catalog(index_dir)
    return any((info := full.get(d)) is not None and info.doc_type == CONSULTATION
               for d in access.staff_ids(index_dir))


def similar_consultations(index_dir: Path, text: str, limit: int = 5) -> tuple[list, list]:
    """Past consultations most like a client's problem, with the acts each cited, and all those
    acts together (the most often cited first)."""
    graph = citation_graph(index_dir)
    found = []
    acts: dict[str, dict] = {}
    for d in similar_to_text(index_dir, text, limit=limit, doc_type=CONSULTATION):
        info = graph.catalog.get(d.doc_id)
        cited = graph.cites(d.doc_id)
        found.append({"doc": d, "consultation": (info.meta.get("consultation") if info else None) or {},
                      "cites": cited})
        for c in cited:
            a = acts.setdefault(c.key, {"act": c, "articles": {}, "count": 0})
            a["count"] += 1
            for art in c.articles:
                a["articles"].setdefault(art.number, art)
    total = sorted(acts.values(), key=lambda a: (-a["count"], a["act"].label.lower()))
    return found, total


def consult(index_dir: Path, text: str, limit: int = 5) -> Consultation:
    """Everything /consult shows for a story."""
    found, acts = similar_consultations(index_dir, text, limit)
    return Consultation(articles=law_for(index_dir, text), found=found, acts=acts,
                        staff_hidden=staff_records_hidden(index_dir))
