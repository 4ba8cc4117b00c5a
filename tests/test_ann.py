"""The approximate index over large collections' vectors (kb.index.ann, HNSW by usearch):
built above its threshold, after the map; the same hits as exact search; filters and access
masks never lose a passage to it; a damaged or half-written graph means exact search until
`kb index` builds it again; graphs of gone generations are dropped.

The threshold is lowered (KB_ANN_OVER) so that a few hundred passages get a graph."""

from __future__ import annotations

import hashlib

import pytest

from kb.analysis import embed
from kb.index import reader, vectors, write_passages
from kb.index import ann
from kb.index.health import check
from kb.search import Filters

np = pytest.importorskip("numpy")
DIM = 32
N = 600


class RandomEmbedder(embed.Embedder):
    """A unit vector from a hash of the text: every passage distinct, nothing in common."""

    key = "random-32"
    dim = DIM

    def _vec(self, text):
        seed = int(hashlib.md5(text.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
        return v / np.linalg.norm(v)

    def passages(self, texts):
        return np.stack([self._vec(t) for t in texts])

    def queries(self, texts):
        return self.passages(texts)


def _records(n):
    return [{"doc_id": f"d{i}", "ordinal": 0, "pid": f"d{i}:0", "path": f"d{i}.txt", "title": f"Документ {i}",
             "body": f"текст номер {i}", "doc_type": "закон" if i % 10 == 0 else "отчет"} for i in range(n)]


@pytest.fixture()
def big(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_ANN_OVER", "100")
    idx = tmp_path / "index"
    write_passages(idx, _records(N))
    res = vectors.build(idx, RandomEmbedder())
    assert res["ready"] and res["graph"]
    vectors._views.clear()
    return idx


def _exact(idx, q, limit, flt=None):
    """The same search with the graph out of the view: every row scored."""
    v = vectors.view(idx, reader(idx).gen, RandomEmbedder.key)
    graph, v.graph = v.graph, None
    try:
        return [(h.doc_id, round(h.score, 5)) for h in reader(idx).semantic(q, RandomEmbedder.key, flt, limit).hits]
    finally:
        v.graph = graph


def _queries(n=20):
    return [RandomEmbedder().query(f"вопрос {i}") for i in range(n)]


def _agrees(got, want, at_least=0.9):
    """Graph hits against exact ones: every score the exact dot product of its passage, in
    order, and most of the exact hits found (a graph may not reach every node: on 600 random
    vectors it sometimes reached 596)."""
    exact_score = dict(want)
    for doc, score in got:
        if doc in exact_score:
            assert score == exact_score[doc]
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    return len({d for d, _ in got} & set(exact_score)) / max(1, len(want)) >= at_least


def test_graph_built_above_threshold_and_gives_the_exact_hits(big):
    folder = vectors.model_dir(big, RandomEmbedder.key)
    assert ann.path_for(folder, "g000001").exists()
    rd = reader(big)
    v = vectors.view(big, rd.gen, RandomEmbedder.key)
    assert v.graph is not None
    same = 0
    for q in _queries():
        got = [(h.doc_id, round(h.score, 5)) for h in rd.semantic(q, RandomEmbedder.key, limit=20).hits]
        want = _exact(big, q, 20)
        assert len(got) == 20 and _agrees(got, want)
        same += got == want
    assert same >= 17          # nearly always the exact list itself
    assert vectors.health(big, RandomEmbedder.key)["graph"] == "ready"


def test_below_threshold_no_graph(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_ANN_OVER", str(N))
    idx = tmp_path / "index"
    write_passages(idx, _records(N))
    assert vectors.build(idx, RandomEmbedder())["graph"] is False
    assert not list(vectors.model_dir(idx, RandomEmbedder.key).glob("*.hnsw"))
    assert vectors.health(idx, RandomEmbedder.key)["graph"] is None


@pytest.mark.parametrize("flt", [Filters(doc_type=["закон"]), Filters(doc_type=["отчет"]),
                                 Filters(exclude_doc_id=[f"d{i}" for i in range(1, N, 2)])],
                         ids=["narrow filter", "wide filter", "half masked"])
def test_filters_and_masks_stay_exact(big, flt):
    rd = reader(big)
    for q in _queries(10):
        got = [(h.doc_id, round(h.score, 5)) for h in rd.semantic(q, RandomEmbedder.key, flt, limit=30).hits]
        want = _exact(big, q, 30, flt)
        if flt.doc_type == ["закон"]:
            assert got == want                  # a narrow filter scores its own rows: exact
        else:
            assert _agrees(got, want)
        assert not {d for d, _ in got} & set(flt.exclude_doc_id)
        if flt.doc_type:
            assert all(h.fields["doc_type"] in flt.doc_type for h in rd.semantic(q, RandomEmbedder.key, flt, 30).hits)


def test_mask_of_almost_everything_falls_back_to_every_row(big):
    """The graph's candidates are nearly all masked: the exact path finds the few left."""
    keep = {f"d{i}" for i in (5, 77, 311)}
    flt = Filters(exclude_doc_id=[f"d{i}" for i in range(N) if f"d{i}" not in keep])
    hits = reader(big).semantic(_queries(1)[0], RandomEmbedder.key, flt, limit=10).hits
    assert {h.doc_id for h in hits} == keep


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_graph_means_exact_search_and_kb_index_builds_it_again(big, damage, caplog):
    folder = vectors.model_dir(big, RandomEmbedder.key)
    p = ann.path_for(folder, "g000001")
    data = p.read_bytes()
    p.write_bytes(b"not a graph" * 100 if damage == "garbage" else data[:len(data) // 3])
    vectors._views.clear()
    q = _queries(1)[0]
    rd = reader(big)
    hits = rd.semantic(q, RandomEmbedder.key, limit=10).hits
    assert vectors.view(big, rd.gen, RandomEmbedder.key).graph is None
    assert [h.doc_id for h in hits] == [d for d, _ in _exact(big, q, 10)]
    assert "приближённый индекс" in caplog.text
    health = check(None, big)
    health.vectors = vectors.health(big, RandomEmbedder.key)      # the suite runs with KB_EMBEDDER=off
    assert health.vectors["graph"] == "damaged" and any("HNSW" in line for line in health.lines())
    assert health.vectors_state == "ready"          # exact search works: the vectors are not damaged
    assert vectors.build(big, RandomEmbedder())["graph"]
    vectors._views.clear()
    assert vectors.view(big, rd.gen, RandomEmbedder.key).graph is not None
    assert vectors.health(big, RandomEmbedder.key)["graph"] == "ready"


def test_graph_joins_a_view_already_open(tmp_path, monkeypatch):
    """Search is exact from the moment the map is written; the graph, written after it, is
    taken up by an open view without reloading the matrix."""
    monkeypatch.setenv("KB_ANN_OVER", "100")
    idx = tmp_path / "index"
    write_passages(idx, _records(N))
    folder = vectors.model_dir(idx, RandomEmbedder.key)
    real = vectors._graph
    monkeypatch.setattr(vectors, "_graph", lambda *a: False)       # a builder killed after the map
    vectors.build(idx, RandomEmbedder())
    rd = reader(idx)
    v = vectors.view(idx, rd.gen, RandomEmbedder.key)
    assert v is not None and v.graph is None and not ann.path_for(folder, rd.gen.name).exists()
    assert vectors.health(idx, RandomEmbedder.key)["graph"] == "due"
    (folder / f"{rd.gen.name}{ann.SUFFIX}.tmp").write_bytes(b"half")   # what a kill leaves
    monkeypatch.setattr(vectors, "_graph", real)
    assert vectors.build(idx, RandomEmbedder())["graph"]
    v2 = vectors.view(idx, rd.gen, RandomEmbedder.key)
    assert v2 is v and v.graph is not None
    assert not list(folder.glob("*.tmp"))


def test_graph_of_a_gone_generation_is_dropped(big):
    folder = vectors.model_dir(big, RandomEmbedder.key)
    recs = _records(N)
    recs[0]["body"] = "другой текст"
    write_passages(big, recs)
    write_passages(big, recs + _records(N + 3)[N:])
    vectors.build(big, RandomEmbedder())
    kept = {d.name for _, d in vectors.store.generations(big)}
    graphs = {p.name[:-len(ann.SUFFIX)] for p in folder.glob(f"*{ann.SUFFIX}")}
    assert graphs and graphs <= kept
    assert reader(big).gen.name in graphs


def test_bench_ann_prints_its_rows(capsys):
    """bench/ann.py (the measurement behind APPROX_OVER) runs and prints a row per case; on a
    small collection the graph's recall against exact is high."""
    from conftest import load_bench

    bench = load_bench("ann")
    assert bench.main(["--random", "--sizes", "400", "--queries", "8"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 400 |")]
    assert [r.split("|")[2].strip() for r in rows] == ["all", "filtered 5%", "filtered 30%", "filtered 60%", "masked 10%"]
    for r in rows:
        cells = [c.strip() for c in r.split("|")]
        assert 0.9 <= float(cells[5]) <= 1.0 and 0.9 <= float(cells[6]) <= 1.0, r


@pytest.mark.parametrize("order", [("usearch.index", "onnxruntime"), ("onnxruntime", "usearch.index")])
def test_usearch_and_onnxruntime_load_in_one_process(order):
    """A process may need both (a fastembed model and a large collection's graph): usearch
    2.26.2-2.26.6 made the import of onnxruntime after it crash with SIGSEGV."""
    import subprocess
    import sys

    pytest.importorskip("onnxruntime")
    code = f"import {order[0]}; import {order[1]}; print('both')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "both", out.returncode
