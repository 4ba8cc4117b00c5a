"""What the index keeps of one consultation record: title, type, year, metadata, citations."""

from __future__ import annotations

from kb.enrich.citations import find_citations, infer_jurisdiction
from kb.extract.consultations import Consultation
from kb.segment import Passage, Segmented

TITLE_CHARS = 110


def title_of(rec: Consultation) -> str:
    if rec.title:
        return rec.title
    q = " ".join(rec.question.split())
    if len(q) <= TITLE_CHARS:
        return q
    return q[:TITLE_CHARS].rsplit(" ", 1)[0] + " …"


def segment_consultation(rec: Consultation) -> Segmented:
    """Two passages: the question (0) and the answer (1)."""
    return Segmented(passages=[Passage(ordinal=0, text=rec.question, heading="Вопрос"),
                               Passage(ordinal=1, text=rec.answer, heading="Ответ")])


def describe_consultation(rec: Consultation, seg: Segmented) -> dict:
    """Like `describe()` for a file: title, doc_type, year, meta and citations by passage.

    The acts listed in the record count as cited by the answer."""
    juris = infer_jurisdiction(rec.question + "\n" + rec.answer + "\n" + "\n".join(rec.acts))
    texts = [(p.ordinal, p.text) for p in seg.passages] + [(1, a) for a in rec.acts]
    by_passage: dict[int, set[str]] = {}
    cited: dict[str, dict] = {}
    for ordinal, text in texts:
        for c in find_citations(text, default_jurisdiction=juris):
            if not c.act_key:
                continue
            by_passage.setdefault(ordinal, set()).add(c.act_key)
            e = cited.setdefault(c.act_key, {"act_key": c.act_key, "kind": c.kind, "name": c.name,
                                             "number": c.number, "date": c.date, "jurisdiction": c.jurisdiction,
                                             "articles": [], "passages": []})
            e["articles"] += [a for a in c.articles if a not in e["articles"]]
            if ordinal not in e["passages"]:
                e["passages"].append(ordinal)
    consult = {k: v for k, v in rec.to_json().items() if k not in ("question", "answer") and v not in ("", [], {}, None)}
    return {"title": title_of(rec), "doc_type": "консультация", "year": rec.year,
            "meta": {"consultation": consult, "citations": list(cited.values())},
            "passage_cites": by_passage}
