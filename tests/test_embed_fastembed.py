"""A model the user has on disk, run by fastembed (`KB_EMBEDDER=fastembed:/path`): loaded
without any download, its similarities as the model defines them, its vectors built by
`kb index` under a key of their own and used by search; clear errors for a bad folder.

The model is one the test makes (tests/onnx_fixtures.py): words of one topic share a vector,
so "eviction" and "выселение" mean the same to it while sharing no letter."""

from __future__ import annotations

import json

import pytest

from conftest import _required
from kb.analysis import embed
from kb.cli import main
from kb.errors import KbError
from kb.search import search

np = pytest.importorskip("numpy")

TOPICS = {"eviction": ["выселение", "выселении", "выселить", "eviction", "evicted", "ousting", "чыгаруу"],
          "tax": ["налог", "налога", "налоговый", "tax", "салык"],
          "divorce": ["брак", "брака", "расторжение", "divorce", "ажырашуу"]}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    try:
        import fastembed  # noqa: F401
        import onnx  # noqa: F401
    except ImportError as e:
        msg = f"needs fastembed and onnx (scripts/setup --test installs them): {e}"
        if _required("KB_REQUIRE_VECTORS"):
            pytest.fail(msg)
        pytest.skip(msg)
    from onnx_fixtures import make_word_model

    return make_word_model(tmp_path_factory.mktemp("models") / "word-model", TOPICS)


def test_model_on_disk_embeds_as_it_defines(model_dir):
    e = embed.FastEmbed(str(model_dir), threads=1)
    assert e.dim == 8 and e.key.startswith("fastembed-word-model-") and e.key.endswith(f"-c{embed.MAX_CHARS}")
    q = e.queries(["eviction", "how to pay the tax", "ажырашуу"])
    p = e.passages(["Выселение из общежития по решению суда", "Налоговый кодекс: налог на имущество",
                    "Расторжение брака в суде"])
    assert q.dtype == np.float32 and np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert np.allclose(q @ p.T, np.eye(3), atol=1e-5)


def test_configured_by_environment_and_key_follows_the_files(model_dir, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("KB_EMBEDDER", f"fastembed:{model_dir}")
    e = embed.make_embedder(threads=1)
    assert isinstance(e, embed.FastEmbed) and embed.configured_key() == e.key
    # Another model in a folder of the same name gets another key: its vectors are never mixed.
    other = tmp_path / "x" / "word-model"
    shutil.copytree(model_dir, other)
    assert embed._fe_key(str(other)) == e.key
    from onnx_fixtures import make_word_model
    make_word_model(other, {"tax": TOPICS["tax"], "eviction": TOPICS["eviction"]})
    assert embed._fe_key(str(other)) != e.key


@pytest.mark.parametrize("damage", ["no folder", "no model", "no tokenizer"])
def test_bad_model_folder_is_named(model_dir, tmp_path, monkeypatch, damage):
    import shutil

    folder = tmp_path / "m"
    if damage != "no folder":
        shutil.copytree(model_dir, folder)
        (folder / ("model.onnx" if damage == "no model" else "tokenizer.json")).unlink()
    monkeypatch.setenv("KB_EMBEDDER", f"fastembed:{folder}")
    with pytest.raises(KbError, match=str(folder)):
        embed.make_embedder(threads=1)


def test_kb_index_builds_its_vectors_and_search_finds_by_meaning(model_dir, tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evict.txt").write_text("Решение суда\n\nСуд отказал в выселении семьи из общежития.\n",
                                      encoding="utf-8")
    (corpus / "tax.txt").write_text("Разъяснение\n\nНалоговый вычет и налог на имущество.\n", encoding="utf-8")
    index = tmp_path / "ix"
    monkeypatch.setenv("KB_EMBEDDER", f"fastembed:{model_dir}")
    monkeypatch.setenv("KB_ANN_OVER", "1")          # the graph of large collections, on two passages
    assert main(["index", "--corpus", str(corpus), "--index", str(index), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    # Embedded now, or taken from the vectors an earlier run of the same files left in the
    # cache shared between indexes (kb.index.vcache).
    built = out["vectors"]
    assert built["ready"] and built["embedded"] + built.get("reused", 0) == 2 and built["graph"]
    assert "строится приближённый индекс векторов (HNSW) для 2 фрагментов" in captured.err
    key = embed.configured_key()
    assert (index / "vectors").is_dir() and any(p.name.startswith("fastembed-word-model") for p in
                                                (index / "vectors").iterdir()), key
    # No word of these queries is in the documents: meaning alone finds them.
    assert [g.path for g in search(index, "ousting").groups][:1] == ["evict.txt"]
    assert [g.path for g in search(index, "салык").groups][:1] == ["tax.txt"]
    monkeypatch.setenv("KB_EMBEDDER", "off")
    assert not search(index, "ousting").groups
