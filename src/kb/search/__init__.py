"""The search stage: one `search()` that the CLI and the web both call; neither knows whoosh.

    search(index_dir, "права инвалидов на жильё", page=1) -> SearchResult
    documents(index_dir, doc_type=..., year=..., sort=...) -> [DocInfo]
    document_facets(index_dir, doc_type=..., year=...) -> {"type": [(value, count)], ...}
    added_since(index_dir, parse_since("2025-03-01")) -> [DocInfo] newest first
    document(index_dir, doc_id, query=None, offset=0, limit=50) -> DocView   (kb.search.reading)
    matches_in(index_dir, doc_id, query) -> DocMatches
    index_notice(index_dir, corpus=None) -> message when there is nothing to search yet
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime
from dataclasses import dataclass, replace
from pathlib import Path

from kb import config
from kb.analysis import embed
from kb.errors import QueryError
from kb.index import querymodel as qm
from kb.index import RawResults, exists, reader
from kb.search import acts
from kb.search.articles import article_targets, query_citations
from kb.search.catalog import Catalog, DocInfo, catalog
from kb.search.citations import citation_graph
from kb.search.cite import cite, first_match, place_of, stable_anchor
from kb.search.known import KNOWN_SHARE, coverage
from kb.search.query import MAX_WORDS, Parsed, default_glossary, glossary_russian, parse
from kb.search.reading import PART_PASSAGES, DocView, check_index, document, part_of
from kb.search.rerank import _plain, with_vectors
from kb.search.semantic import status as meaning_status
from kb.search.semantic import prefetch, with_meaning
from kb.search.results import DocGroup, FacetValue, Hit, SearchResult
from kb.search.snippets import Matcher, make_snippet
from kb.search import fill, spelling
from kb.search.tables import readable

__all__ = ["search", "parse", "SearchResult", "Hit", "DocGroup", "DocInfo", "catalog",
           "documents", "document", "Filters", "MAX_PAGE", "MAX_PER_PAGE", "warm_up", "consultation_field",
           "document_facets", "index_notice", "empty_result", "ranked", "DocView", "part_of", "PART_PASSAGES",
           "matches_in", "DocMatches", "parse_since", "added_since", "newest", "meaning_status"]

Filters = qm.Filters
MAX_PAGE = 1000
MAX_PER_PAGE = 100
CANDIDATES = 1000        # passages ranked to form the document groups
# Documents listed, grouped and counted in the facets: beyond it a search says "более N"
# (bench/scale.py: at 75,000 passages a question of common words matched 31,000 documents,
# and walking them all was most of its time).
DOC_CAP = 1000
PER_DOC = 3              # best passages shown per document


NO_INDEX = ("индекс ещё не построен: выполните `kb index` или дождитесь окончания индексации "
            "(no index yet: run `kb index` or wait until indexing ends)")


def index_notice(index_dir: Path, corpus: Path | None = None) -> str | None:
    """Why there is nothing to search yet ("русский (english)"), or None when the index has documents.

    Goes through kb.index only (its files are its own business). A damaged index is not
    a notice: opening it raises its KbError."""
    if not exists(Path(index_dir)):
        return NO_INDEX
    if reader(Path(index_dir)).doc_count() == 0:
        where = f"в папку {corpus}" if corpus else "в папку документов"
        return (f"в индексе пока нет документов: добавьте файлы {where} и выполните `kb index` "
                "(the index has no documents yet)")
    return None


def empty_result(query: str, notice: str | None, *, page: int = 1, per_page: int = 10,
                 sort: str = "relevance") -> SearchResult:
    """No results, with the reason to show (an index not built yet, or with no documents).

    A malformed query still raises its QueryError, as search() would."""
    if query:
        parse(query)
    return SearchResult(query=query, groups=[], total_docs=0, total_hits=0, page=page, per_page=per_page,
                        sort=sort, notice=notice)


_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[А-Яа-яЁёӨөҮүҢң]")


def _rewrite(query: str, fixes: dict[str, str]) -> str:
    for w, fix in fixes.items():
        query = re.sub(rf"(?<![\w-]){re.escape(w)}(?![\w-])", fix, query)
    return query


def latin_terms(query: str, parsed: Parsed) -> list[str] | None:
    """For a query typed only in Latin letters: the Russian terms of the glossary for its
    words ([] when it has none), else None."""
    if _CYRILLIC.search(query) or not parsed.plain_words or not all(_LATIN.search(w) for w in parsed.plain_words):
        return None
    return default_glossary().russian_for(parsed.plain_words)


def query_language(query: str, parsed: Parsed) -> str | None:
    """"en" for a query in Latin letters only (English, as far as the glossary and the page
    go), "ky" for a Kyrgyz one (kb.search.spelling.kyrgyz_query), None for Russian."""
    if latin_terms(query, parsed) is not None:
        return "en"
    if spelling.kyrgyz_query(query):
        return "ky"
    return None


def warm_up(index_dir: Path) -> None:
    """Open the index and load the word and passage vectors now, not at the first user's query."""
    from kb.analysis.vectors import word_vectors

    if exists(Path(index_dir)):
        rd = reader(Path(index_dir))
        rd.doc_count()
        key = embed.configured_key()
        if key is not None:
            # Loads the passage vectors (~0.1 s for 10,000 passages), or those built so far.
            rd.has_vectors(key) or rd.vector_cover(key)
    word_vectors()


def ranked(rd, query: str, filters: qm.Filters | None = None, limit: int = CANDIDATES,
           deadline: qm.Deadline | None = None, mode: str = "hybrid"):
    """Parse and run a query; when its required phrases find nothing, try them as optional.

    The one ranking path of `kb search`, the web and `kb eval`. Both tries share the
    `deadline`; results it cut are marked `cut` and not tried again. A plain-words query is
    then fused with the passages closest in meaning, when their vectors are built
    (kb.search.semantic); `mode` "lexical" or "semantic" keeps one side only (`kb eval`)."""
    if mode not in ("hybrid", "lexical", "semantic"):
        raise QueryError("режим: hybrid, lexical или semantic (mode must be hybrid, lexical or semantic)")
    parsed = parse(query)
    if mode != "lexical":
        prefetch(rd, parsed.node, query)
    raw = rd.search(parsed.node, filters, limit=limit, deadline=deadline, doc_cap=DOC_CAP)
    if not raw.total and parsed.relaxable and not raw.cut:
        parsed = parse(query, relaxed=True)
        raw = rd.search(parsed.node, filters, limit=limit, deadline=deadline, doc_cap=DOC_CAP)
    if mode != "semantic":
        raw = with_vectors(parsed.node, parsed.plain_words, raw)
    raw = with_meaning(rd, parsed.node, query, raw, filters, limit, mode=mode)
    return parsed, acts.narrow(raw, acts.named_acts(query))


def corrected_ranked(rd, query: str, filters: qm.Filters | None, limit: int, deadline: qm.Deadline,
                     exact: bool = False):
    """`ranked` for the query with its typos corrected when that finds something (unless
    `exact`), else as typed: (the correction or None, the query run, parsed, raw)."""
    fixes = spelling.corrections(rd, parse(query), query, lambda: _kyrgyz_docs(rd))
    corrected = _rewrite(query, fixes) if fixes else None
    if corrected and not exact:
        parsed, raw = ranked(rd, corrected, filters, limit, deadline)
        if raw.total or raw.cut:
            return corrected, corrected, parsed, raw
    parsed, raw = ranked(rd, query, filters, limit, deadline)
    return corrected, query, parsed, raw


def _kyrgyz_docs(rd) -> list[str]:
    """The documents with Kyrgyz passages (kb.index.build.languages) the audience may see."""
    return [d.doc_id for d in catalog(rd.index_dir).all() if "ky" in (d.meta.get("lang") or ())]


def cut_notice(seconds: float) -> str:
    shown = f"{seconds:g}".replace(".", ",")
    return (f"поиск остановлен через {shown} с: показаны найденные к этому моменту результаты "
            f"(search stopped after {seconds:g} s: results found by then)")


def search(index_dir: Path, query: str, *, page: int = 1, per_page: int = 10,
           filters: qm.Filters | None = None, sort: str = "relevance", per_doc: int = PER_DOC,
           exact: bool = False, copies: bool = False, facets: bool = True) -> SearchResult:
    """Passages matching `query`, grouped by document, with facets, paging and snippets.

    A plain word neither the index, the lexicon nor the Russian dictionary knows is read as
    the closest indexed word, and the result says so (`corrected`); `exact` searches the
    words as typed (the correction is then only suggested). Copies of one document (kb.enrich.copies) are one
    result, the others listed in `also`, unless `copies` asks for them separately. `facets=False`
    leaves out the "ссылается на" facet: its citation graph was most of a cold command-line
    search after the imports, and the command line shows no facets."""
    t0 = time.perf_counter()
    if not 1 <= page <= MAX_PAGE:
        raise QueryError(f"номер страницы должен быть от 1 до {MAX_PAGE} (page out of range)")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise QueryError(f"на странице может быть от 1 до {MAX_PER_PAGE} результатов (per_page out of range)")
    if sort not in ("relevance", "date"):
        raise QueryError("сортировка: relevance или date (sort must be relevance or date)")
    check_index(index_dir)
    rd = reader(Path(index_dir))
    if rd.doc_count() == 0:
        return empty_result(query, index_notice(index_dir), page=page, per_page=per_page, sort=sort)
    cat = catalog(index_dir)
    run_filters = _doc_filters(index_dir, cat, filters)
    deadline = qm.Deadline(config.query_seconds())
    corrected, shown, parsed, raw = corrected_ranked(rd, query, run_filters, CANDIDATES, deadline, exact)
    raw = _article_first(rd, index_dir, cat, shown, run_filters, raw)

    order: dict[str, list] = {}
    for h in raw.hits:
        order.setdefault(h.doc_id, []).append(h)
    doc_ids = list(order)
    # Documents matched only by passages beyond the candidates still count and come last.
    doc_ids += [d for d in raw.doc_counts if d not in order]
    doc_ids = _known_first(rd, cat, parsed, doc_ids, order, run_filters, raw, _card_words(shown, parsed))
    if sort == "date":
        doc_ids.sort(key=lambda d: -((cat.get(d).year or 0) if cat.get(d) else 0))
    # Copies of one document: the first to rank stands for the others.
    also: dict[str, list[str]] = {}
    if not copies:
        doc_ids, also = _one_per_copy(cat, doc_ids)
    doc_counts = {d: raw.doc_counts.get(d, 1) for d in doc_ids} if (raw.doc_counts or order) else {}

    matcher = Matcher(parsed.highlight)
    start = (page - 1) * per_page
    groups = []
    for d in doc_ids[start:start + per_page]:
        info = cat.get(d)
        hits = [_hit(h, info, matcher, rd) for h in order.get(d, [])[:per_doc]]
        if not hits:
            continue
        groups.append(DocGroup(doc_id=d, path=hits[0].path, title=hits[0].title, doc_type=hits[0].doc_type,
                               year=hits[0].year, score=hits[0].score, hits=hits,
                               total_hits=raw.doc_counts.get(d, len(hits)),
                               also=[_copy(cat.get(c)) for c in also.get(d, []) if cat.get(c)]))
    total_docs = len(doc_ids)
    year_docs = _years_unfiltered(rd, parsed, run_filters, deadline, doc_counts)
    if year_docs is not doc_counts and not copies:
        year_docs = dict.fromkeys(_one_per_copy(cat, list(year_docs))[0], 1)
    result = SearchResult(query=query, groups=groups, total_docs=total_docs, total_hits=raw.total,
                          page=page, per_page=per_page, sort=sort, relaxed=parsed.relaxed,
                          facets=_facets(cat, doc_counts, filters, year_docs),
                          cut=raw.cut, notice=cut_notice(deadline.seconds) if raw.cut else None)
    if parsed.dropped and not raw.cut:
        result.notice = (f"учтены первые {MAX_WORDS} слов запроса, ещё {parsed.dropped} пропущено "
                         f"(only the first {MAX_WORDS} words of the query were searched)")
    result.corrected = shown if shown != query else None
    result.copies_joined = sum(len(v) for v in also.values())
    result.docs_more = raw.docs_more
    result.latin = latin_terms(query, parsed)
    if raw.by_meaning and groups:
        result.meaning_lang = query_language(query, parsed)
        if result.meaning_lang == "ky":
            # Found by the glossary's Russian terms as well as by meaning: the page names them.
            result.meaning_terms = glossary_russian(parsed.plain_words)
    result.meaning = fill.coverage(rd, raw.scored_now)
    sel_c = set(filters.cites) if filters else set()
    rows = cat.facet_rows()
    matched = [rows[d] for d in doc_counts if d in rows]
    for name, col in (("category", 2), ("region", 3)):
        sel = set(getattr(filters, name)) if filters else set()
        counts = Counter(r[col] for r in matched)
        counts.pop("", None)
        if counts or sel:
            result.facets[name] = [FacetValue(v, counts.get(v, 0), v in sel) for v, _ in _by_count(counts)]
            result.facets[name] += [FacetValue(v, 0, True) for v in sel if v not in counts]
    sel_l = set(filters.lang) if filters else set()
    langs = Counter(v for r in matched for v in r[4])
    if len(langs) > 1 or sel_l:
        result.facets["lang"] = [FacetValue(v, langs.get(v, 0), v in sel_l, LANGUAGES.get(v, v))
                                 for v in sorted(set(langs) | sel_l, key=lambda v: (-langs.get(v, 0), v))]
    if facets:
        result.facets["cites"] = [FacetValue(k, n, k in sel_c, label)
                                  for k, label, n in citation_graph(index_dir).facet(doc_counts, sel_c)]
    if corrected and result.corrected is None:
        result.suggestion = corrected
    result.took_ms = (time.perf_counter() - t0) * 1000
    return result


def _one_per_copy(cat: Catalog, doc_ids: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The first of each group of copies, in order, and for those that have them the others."""
    keys = cat.copy_keys()
    if not keys:
        return list(doc_ids), {}
    kept, seen, also = [], {}, {}
    for d in doc_ids:
        key = keys.get(d)
        if key is None:
            kept.append(d)
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = d
            kept.append(d)
        else:
            also.setdefault(first, []).append(d)
    return kept, also


def _by_count(counts: Counter) -> list[tuple[str, int]]:
    """Facet values, most documents first, ties by name: the order must not depend on the
    order hits happened to come in (it differed between the public and the staff view)."""
    return sorted(counts.items(), key=lambda vn: (-vn[1], vn[0]))


def _copy(info: DocInfo) -> dict:
    return {"doc_id": info.doc_id, "path": info.path, "format": info.format, "title": info.title}


def _card_words(query: str, parsed: Parsed) -> list[str]:
    """The words a document's card is looked up by: for a Kyrgyz query the Russian terms the
    glossary has for it, as the cards are Russian (`Турак жай кодекси` names the document
    carded `Жилищный кодекс`, `Турак жай кодексинде` too: kyrgyz_bases); else the query's plain words."""
    if parsed.plain_words and spelling.kyrgyz_query(query):
        russian = glossary_russian(parsed.plain_words)
        if russian:
            return [w for term in russian for w in term.split()]
    return parsed.plain_words


def _known_first(rd, cat: Catalog, parsed: Parsed, doc_ids: list[str], order: dict, filters, raw,
                 words: list[str] | None = None) -> list[str]:
    """Documents whose card (kb.search.known) covers most of the query (or of `words`) come
    first, the best covered first; one not matched by any passage comes with its first passage."""
    words = parsed.plain_words if words is None else words
    if not words:
        return doc_ids
    cov = coverage(cat, words, KNOWN_SHARE)
    if not cov:
        return doc_ids
    allowed = _allowed(cat, filters)
    # Documents that no passage matched join only a query of plain words: a phrase, field
    # or exclusion must hold for every result.
    plain = _plain(parsed.node)
    rank = {d: i for i, d in enumerate(doc_ids)}
    known = sorted((d for d in cov if allowed(d)), key=lambda d: (-round(cov[d], 6), rank.get(d, len(rank))))
    # Article-first hits stay first: a requisite query asked for that article.
    head = [d for d in doc_ids if order.get(d) and getattr(order[d][0], "article", False)]
    for d in known:
        if d not in order and plain:
            first = rd.doc_passages(d, 0, 1)
            if not first:
                continue
            order[d] = [_Found(first[0], 0.0)]
            raw.doc_counts.setdefault(d, 1)
    known = [d for d in known if d in order and d not in head]
    return head + known + [d for d in doc_ids if d not in known and d not in head]


def _allowed(cat: Catalog, filters: qm.Filters | None):
    """Whether a document passes the filters (type, year, documents) on its own."""
    def ok(d: str) -> bool:
        info = cat.get(d)
        if info is None or not filters:
            return info is not None
        if filters.doc_type and info.doc_type not in filters.doc_type:
            return False
        if filters.year and str(info.year or "") not in filters.year:
            return False
        if filters.doc_id and d not in filters.doc_id:
            return False
        return d not in filters.exclude_doc_id
    return ok


class _Found:
    """A passage read by its stored fields, shaped like an index hit."""

    def __init__(self, fields: dict, score: float, article: bool = False):
        self.fields, self.score = fields, score
        self.doc_id = fields.get("doc_id")
        self.docnum = None
        self.article = article          # put first by a requisite query


# The language facet's values, for people.
LANGUAGES = {"ky": "кыргызский", "ru": "русский"}


def consultation_field(info: DocInfo, name: str) -> str:
    """A field of a consultation record ("category", "region"); "" for other documents."""
    return info.consultation(name)


def _doc_filters(index_dir: Path, cat: Catalog, filters: qm.Filters | None) -> qm.Filters | None:
    """Document-level facets ("ссылается на", category and region of consultations) become doc ids."""
    if not filters or not (filters.cites or filters.category or filters.region or filters.since
                           or filters.lang):
        return filters
    docs = None
    if filters.since:
        docs = {d.doc_id for d in cat.added_since(filters.since)}
    if filters.cites:
        graph = citation_graph(index_dir)
        cited = set().union(*(graph.citing_docs(k) for k in filters.cites))
        docs = cited if docs is None else docs & cited
    for name in ("category", "region"):
        wanted = set(getattr(filters, name))
        if wanted:
            ids = {d.doc_id for d in cat.all() if consultation_field(d, name) in wanted}
            docs = ids if docs is None else docs & ids
    if filters.lang:
        wanted = set(filters.lang)
        ids = {d.doc_id for d in cat.all() if wanted.intersection(d.meta.get("lang") or ())}
        docs = ids if docs is None else docs & ids
    if filters.doc_id:
        docs &= set(filters.doc_id)
    return replace(filters, cites=[], category=[], region=[], since="", lang=[], doc_id=sorted(docs) or ["-"])


def _article_first(rd, index_dir: Path, cat: Catalog, query: str, filters: qm.Filters | None, raw):
    """A query naming an article of an act in the collection (`ст. 84 ЖК РФ`,
    `п. 1 ст. 1064 ГК РФ`) gets that article first: in the document (copy or part of a code)
    that has it (kb.search.articles)."""
    cited = query_citations(query)
    if not cited:
        return raw
    graph = citation_graph(index_dir)
    first = []
    allowed = _allowed(cat, filters)
    # Shown above the best passage: a score just over it (a finite number for JSON).
    top = (raw.hits[0].score if raw.hits else 0.0) + 1.0
    for c in cited:
        for doc_id, article, ordinal in article_targets(graph, c):
            if not allowed(doc_id):
                continue
            got = rd.doc_passages(doc_id, ordinal, ordinal + 1)
            if got and not any(h.doc_id == doc_id and h.fields.get("ordinal") == ordinal for h in first):
                first.append(_Found(got[0], top, article=True))
    if not first:
        return raw
    seen = {(h.doc_id, h.fields.get("ordinal")) for h in first}
    docs = {d for d, _ in seen}
    counts = dict(raw.doc_counts)
    total = raw.total
    for h in first:
        if h.doc_id not in counts:
            counts[h.doc_id] = 1
            total += 1
    rest = [h for h in raw.hits if h.doc_id not in docs or (h.doc_id, h.fields.get("ordinal")) not in seen]
    return RawResults(hits=first + rest, doc_counts=counts, total=total, cut=raw.cut, docs_more=raw.docs_more,
                      by_meaning=raw.by_meaning)


def _hit(h, info: DocInfo | None, matcher: Matcher, rd=None) -> Hit:
    f = h.fields
    year = f.get("year")
    article = f.get("article") or None
    body, heading = f.get("body", ""), f.get("heading", "")
    earlier = (lambda a, b: rd.doc_passages(f["doc_id"], a, b)) if rd is not None else None
    place = place_of(info, body, heading, article, first_match(body, matcher), f.get("ordinal", 0), earlier)
    c = cite(info, article=article, page=f.get("page"), heading=heading, ordinal=f.get("ordinal", 0),
             **place) if info else None
    snip = make_snippet(readable(body), matcher)
    return Hit(doc_id=f["doc_id"], path=f.get("path", ""), title=info.title if info else f.get("title", ""),
               doc_type=f.get("doc_type", ""), year=int(year) if year else None,
               ordinal=f.get("ordinal", 0), page=f.get("page"), article=article,
               heading=heading, score=h.score, snippet=snip.html(),
               citation=c.full if c else "", citation_short=c.short if c else "",
               anchor=stable_anchor(info, article, f.get("page"), place.get("point"), f.get("ordinal", 0),
                                    place.get("table")),
               point=place.get("point"), table=place.get("table"), snippet_text=snip.text,
               highlights=snip.highlights)


def _years_unfiltered(rd, parsed: Parsed, filters: qm.Filters | None, deadline: qm.Deadline, matched):
    """The documents matching under every filter but the year (the year chart shows the other
    years beside a selected one): a second search, only when a year is selected."""
    if not filters or not filters.year:
        return matched
    raw = rd.search(parsed.node, replace(filters, year=[]), limit=1, deadline=deadline, doc_cap=DOC_CAP)
    return raw.doc_counts or matched


def _facets(cat: Catalog, doc_counts: dict[str, int], filters: qm.Filters | None,
            year_docs=None) -> dict[str, list[FacetValue]]:
    """Documents per type and per year; years counted under the other filters (`year_docs`)."""
    rows = cat.facet_rows()
    types = Counter(rows[d][0] for d in doc_counts if d in rows)
    years = Counter(rows[d][1] for d in (doc_counts if year_docs is None else year_docs) if d in rows)
    years.pop("", None)
    sel_t = set(filters.doc_type) if filters else set()
    sel_y = set(filters.year) if filters else set()
    return {
        "doc_type": [FacetValue(v, n, v in sel_t) for v, n in _by_count(types)],
        "year": [FacetValue(v, n, v in sel_y) for v, n in sorted(years.items(), reverse=True)],
    }


# What the browse page filters documents by, and how each value is read from a document.
_DOC_FACETS = {
    "type": lambda d: d.doc_type,
    "year": lambda d: str(d.year) if d.year else "",
    "category": lambda d: consultation_field(d, "category"),
    "region": lambda d: consultation_field(d, "region"),
}


def _selected(d: DocInfo, chosen: dict, but: str | None = None) -> bool:
    return all(not sel or _DOC_FACETS[name](d) in sel for name, sel in chosen.items() if name != but)


def documents(index_dir: Path, *, doc_type: list[str] | None = None, year: list[str] | None = None,
              sort: str = "title", category: list[str] | None = None,
              region: list[str] | None = None) -> list[DocInfo]:
    """All indexed documents, filtered and sorted (browse page, /api/documents).

    category / region select consultation records by their fields."""
    check_index(index_dir)
    chosen = {"type": doc_type, "year": year, "category": category, "region": region}
    docs = [d for d in catalog(index_dir).all() if _selected(d, chosen)]
    if sort == "date":
        docs.sort(key=lambda d: (-(d.year or 0), d.title.lower()))
    elif sort == "title":
        docs.sort(key=lambda d: d.title.lower())
    else:
        raise QueryError("сортировка: title или date (sort must be title or date)")
    return docs


def document_facets(index_dir: Path, *, doc_type: list[str] | None = None, year: list[str] | None = None,
                    category: list[str] | None = None,
                    region: list[str] | None = None) -> dict[str, list[tuple[str, int]]]:
    """(value, documents) per facet ("type", "year", "category", "region") of the collection.

    Each facet counts under the other facets' selections, so a number says what a click
    gives; a selected value with no documents is listed with 0. Years newest first, the
    others most frequent first."""
    check_index(index_dir)
    chosen = {"type": doc_type, "year": year, "category": category, "region": region}
    docs = catalog(index_dir).all()
    out = {}
    for name, value_of in _DOC_FACETS.items():
        counts = Counter(value_of(d) for d in docs if _selected(d, chosen, but=name))
        counts.pop("", None)
        values = sorted(counts.items(), reverse=True) if name == "year" \
            else sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out[name] = values + [(v, 0) for v in chosen[name] or [] if v not in counts]
    return out


_SINCE = (re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?Z?)?$"),
          re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$"))


def parse_since(text: str) -> str:
    """An ISO date or UTC time to compare with `DocInfo.added`: `2025-03-14`, `2025-03-14T10:00`,
    `14.03.2025`. QueryError when it is not one."""
    text = (text or "").strip()
    m = _SINCE[0].match(text)
    if m:
        y, mo, d, hh, mi, ss = m.groups()
    elif m := _SINCE[1].match(text):
        (d, mo, y), hh, mi, ss = m.groups(), None, None, None
    else:
        raise QueryError(f"дата «{text[:40]}»: нужна ГГГГ-ММ-ДД или ДД.ММ.ГГГГ (date must be YYYY-MM-DD)")
    try:
        datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError:
        raise QueryError(f"нет такой даты: «{text[:40]}» (no such date)") from None
    return f"{y}-{mo}-{d}" + (f"T{hh}:{mi}:{ss or '00'}Z" if hh else "")


def added_since(index_dir: Path, since: str, *, doc_type: list[str] | None = None,
                year: list[str] | None = None) -> list[DocInfo]:
    """Documents added to the collection at or after `since` (parse_since), newest first."""
    check_index(index_dir)
    return [d for d in catalog(index_dir).added_since(since)
            if (not doc_type or d.doc_type in doc_type) and (not year or str(d.year) in year)]


def newest(index_dir: Path, query: str, *, filters: qm.Filters | None = None,
           limit: int = 20) -> list[tuple[DocInfo, Hit | None]]:
    """The documents matching `query` (every document when it is empty), the most recently added
    first, each with its best passage when it is among the ranked candidates (the Atom feed)."""
    check_index(index_dir)
    rd = reader(Path(index_dir))
    cat = catalog(index_dir)
    run_filters = _doc_filters(index_dir, cat, filters)
    if not query.strip():
        f = run_filters or qm.Filters()
        ids = set(f.doc_id)
        docs = [d for d in cat.all() if (not f.doc_type or d.doc_type in f.doc_type)
                and (not f.year or str(d.year) in f.year) and (not ids or d.doc_id in ids)]
        docs.sort(key=lambda d: (d.added, d.doc_id), reverse=True)
        return [(d, None) for d in docs[:limit]]
    with fill.known_only():             # listed by date: meaning would not change the list
        parsed, raw = ranked(rd, query, run_filters, CANDIDATES, qm.Deadline(config.query_seconds()))
    best: dict[str, object] = {}
    for h in raw.hits:
        best.setdefault(h.doc_id, h)
    found = [cat.get(d) for d in (raw.doc_counts or best) if cat.get(d)]
    found.sort(key=lambda d: (d.added, d.doc_id), reverse=True)
    matcher = Matcher(parsed.highlight)
    return [(d, _hit(best[d.doc_id], d, matcher, rd) if d.doc_id in best else None) for d in found[:limit]]


MATCHES_RANKED = 300      # passages of one document ranked for its "matches" list
MATCHES_SHOWN = 30


@dataclass
class DocMatches:
    """Where a query matches in one document: the first passages in reading order (of its
    best MATCHES_RANKED), each with its ordinal, page and article."""

    total: int                       # matching passages in the document
    passages: list[dict]
    cut: bool = False                # the time budget stopped the search
    error: str | None = None         # the query could not be run ("русский (english)")


def matches_in(index_dir: Path, doc_id: str, query: str) -> DocMatches:
    """The passages of `doc_id` matching `query`, found by the index (the whole document, not
    just the part on screen)."""
    check_index(index_dir)
    rd = reader(Path(index_dir))
    try:
        with fill.known_only():         # listed in reading order: no embedding at query time
            _, raw = ranked(rd, query, qm.Filters(doc_id=[doc_id]), MATCHES_RANKED,
                            qm.Deadline(config.query_seconds()))
    except QueryError as e:
        return DocMatches(0, [], error=str(e))
    found = sorted(({"ordinal": h.fields.get("ordinal", 0), "page": h.fields.get("page"),
                     "article": h.fields.get("article") or None} for h in raw.hits if h.doc_id == doc_id),
                   key=lambda m: m["ordinal"])
    return DocMatches(raw.doc_counts.get(doc_id, 0), found[:MATCHES_SHOWN], cut=raw.cut)
