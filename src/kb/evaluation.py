"""`kb eval`: retrieval quality on a BEIR-format set, with kb's own analyzer and ranking."""

from __future__ import annotations

import csv
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from kb.errors import KbError
from kb.index import reader, write_passages
from kb.search import ranked as run_query


def _jsonl(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        raise KbError(f"{path}: файл не найден (BEIR set needs corpus.jsonl, queries.jsonl, qrels/test.tsv)") from None
    except json.JSONDecodeError as e:
        raise KbError(f"{path}: строка {e.lineno}: не JSON ({e.msg})") from None


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        with open(path, encoding="utf-8") as f:
            rows = csv.reader(f, delimiter="\t")
            for i, row in enumerate(rows):
                if i == 0 and row and row[0] == "query-id":
                    continue
                if len(row) < 3:
                    continue
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    except FileNotFoundError:
        raise KbError(f"{path}: файл не найден (qrels/test.tsv)") from None
    return qrels


def ndcg_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    # Linear gain, as trec_eval's ndcg_cut (and so BEIR) computes it.
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], rel: dict[str, int], k: int) -> float:
    wanted = {d for d, r in rel.items() if r > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if rel.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def corpus_records(corpus: list[dict]):
    for n, rec in enumerate(corpus):
        yield {"doc_id": str(rec["_id"]), "ordinal": 0, "pid": str(rec["_id"]), "path": str(rec["_id"]),
               "title": rec.get("title", "") or "", "body": rec.get("text", "") or "", "doc_type": "другое"}


def evaluate(beir_dir: Path, *, index_dir: Path | None = None, limit: int = 100, mode: str = "lexical",
             max_queries: int | None = None, progress=None) -> dict:
    """Scores of kb's ranking on a BEIR set.

    `mode`: "lexical" (the default: words only, no embedding cost), "hybrid" (what `kb search`
    does once `kb index` has built the vectors) or "semantic". Unless lexical, the set's passage vectors are built first (as
    `kb index` does; ~0.05 s a passage on one core): `index_dir` keeps them between runs, keyed
    by content, so a second run embeds nothing. `max_queries`: the first N judged queries only."""
    beir_dir = Path(beir_dir)
    if not beir_dir.is_dir():
        raise KbError(f"{beir_dir}: папка набора BEIR не найдена (not a directory)")
    corpus = _jsonl(beir_dir / "corpus.jsonl")
    queries = _jsonl(beir_dir / "queries.jsonl")
    qrels = load_qrels(beir_dir / "qrels" / "test.tsv")
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        idx = Path(index_dir or tmp)
        write_passages(idx, corpus_records(corpus))
        vectors = _vectors(idx, progress) if mode != "lexical" else None
        if mode != "lexical" and not (vectors or {}).get("ready"):
            raise KbError(f"режим {mode}: векторы смысла не построены (KB_EMBEDDER=off?); "
                          "без них есть только --mode lexical (no passage vectors)")
        rd = reader(idx)
        scores = {"ndcg@10": [], "recall@10": [], "recall@100": [], "mrr@10": []}
        times = []
        judged = [q for q in queries if qrels.get(str(q["_id"]))]
        for q in judged[:max_queries]:
            rel = qrels.get(str(q["_id"]))
            t0 = time.perf_counter()
            try:
                ranked = [h.doc_id for h in run_query(rd, q["text"], None, limit, mode=mode)[1].hits]
            except KbError:
                ranked = []
            times.append((time.perf_counter() - t0) * 1000)
            scores["ndcg@10"].append(ndcg_at(ranked, rel))
            scores["recall@10"].append(recall_at(ranked, rel, 10))
            scores["recall@100"].append(recall_at(ranked, rel, 100))
            scores["mrr@10"].append(mrr_at(ranked, rel))
        from kb.index import forget_readers
        forget_readers()
    out = {k: round(statistics.fmean(v), 4) if v else 0.0 for k, v in scores.items()}
    out["median_query_ms"] = round(statistics.median(times), 2) if times else 0.0
    out["queries"] = len(times)
    return out


def _vectors(index_dir: Path, progress=None) -> dict | None:
    """The passage vectors of the throwaway index, as `kb index` builds them (None when off)."""
    import os

    from kb.analysis import embed
    from kb.index import vectors

    if not embed.enabled():
        return None
    threads = int(os.environ.get("KB_EMBED_THREADS", "").strip() or 0) or (os.cpu_count() or 1)
    return vectors.build(index_dir, embed.make_embedder(threads=threads), progress=progress)
