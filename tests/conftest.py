"""Shared fixtures. Tests needing ../shared/data, the word vectors or a browser skip locally
with a reason, and fail in CI (CI=true or KB_REQUIRE_SHARED / KB_REQUIRE_VECTORS /
KB_REQUIRE_BROWSER / KB_REQUIRE_OCR set), so nothing passes silently."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The suite runs `kb index` on many corpora, and loading the engine and embedding each costs
# seconds (~0.05 s a passage on one core): the semantic layer is off unless a test turns it on
# (tests/test_vectors.py, test_meaning.py, test_e5onnx.py).
os.environ.setdefault("KB_EMBEDDER", "off")
# The vectors shared between indexes (kb.index.vcache) stay on, in the user's cache folder, as
# for every `kb index`: the suite's real-model vectors are taken from there on the next run
# (issue 27). Tests of an index's own mechanics with fake embedders, counting what a build
# embeds, turn it off (the `own_vectors` fixture): an earlier test's or run's vectors of the
# same fake key would be taken instead. The tests of that cache use a folder of their own.


@pytest.fixture
def own_vectors(monkeypatch):
    """No shared vector cache: what a build embeds is what this test's embedder saw."""
    monkeypatch.setenv("KB_VECTOR_CACHE", "off")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KB_SHARED_DATA", ROOT.parent / "shared" / "data"))


def load_bench(name: str):
    """A script of bench/ imported as a module (bench/ is not a package)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod        # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _required(var: str) -> bool:
    return bool(os.environ.get("CI")) or bool(os.environ.get(var))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, the real documents; skip (locally) or fail (CI) when missing."""
    if not (SHARED_DATA / "README.md").exists():
        msg = f"needs the real documents of ../shared/data (not found at {SHARED_DATA})"
        if _required("KB_REQUIRE_SHARED"):
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture(scope="session")
def vectors():
    """kb's word vectors (scripts/setup installs them); skip locally or fail in CI when missing."""
    from kb.analysis.vectors import configured_path, word_vectors

    wv = word_vectors()
    if wv is None:
        msg = f"needs the word vectors ({configured_path()}): run scripts/setup"
        if _required("KB_REQUIRE_VECTORS"):
            pytest.fail(msg)
        pytest.skip(msg)
    return wv


@pytest.fixture(scope="session")
def tesseract() -> str:
    """Tesseract with rus and kir (scripts/setup installs them); skip locally, fail in CI
    (KB_REQUIRE_OCR), so OCR tests never pass by not running."""
    from kb.extract import ocr

    why = ocr.unavailable()
    if why is None and "kir" not in ocr.languages():
        why = "tesseract has no Kyrgyz data (apt-get install tesseract-ocr-kir)"
    if why:
        msg = f"needs Tesseract: {why}; run scripts/setup --test"
        if _required("KB_REQUIRE_OCR"):
            pytest.fail(msg)
        pytest.skip(msg)
    return ocr.languages()


def require_browser_or_skip(reason: str) -> None:
    if _required("KB_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_index(shared_data, tmp_path_factory) -> Path:
    """An index of all of ../shared/data, as `kb index --corpus ../shared/data` builds it (a few
    minutes), once per session. KB_TEST_REAL_INDEX names a folder to keep it in between runs:
    `kb index` brings it up to date (rebuilding it when the schema changed), as it would any index."""
    from kb.index import update_index

    keep = os.environ.get("KB_TEST_REAL_INDEX")
    index = Path(keep) if keep else tmp_path_factory.mktemp("real") / "index"
    report = update_index(shared_data, index, show_progress=False)
    assert not report.failed, report.failed
    return index


def indexed_corpus(root: Path, docs: dict[str, str]) -> tuple[Path, Path]:
    """`root/corpus` holding `docs` (name -> text) and `root/index` built from it by
    `update_index` with its default workers, as `kb index` builds it; (corpus, index)."""
    from kb.index import update_index

    corpus = root / "corpus"
    for name, text in docs.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    report = update_index(corpus, root / "index", show_progress=False)
    assert report.failed == [], report.failed
    return corpus, root / "index"


def csrf_of(html: str) -> str:
    """The hidden csrf_token of the first form of a page."""
    import re

    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, "no csrf_token in the page"
    return m.group(1)


def signed_in(app, name: str = "staff-test", role: str = "staff", password: str = "пароль-сотрудника"):
    """A test client of `app` signed in through /login as an account of that role (created
    when missing in the app's index folder)."""
    from kb.accounts import Accounts

    acc = Accounts(app.config["KB_INDEX"])
    if acc.get(name) is None:
        acc.add(name, password, role)
    c = app.test_client()
    token = csrf_of(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": name, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return c


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster (tests/pgcluster.py); skip locally or fail in CI
    (KB_REQUIRE_POSTGRES) when PostgreSQL's server or psycopg is not installed."""
    from pgcluster import Cluster, bindir

    why = None
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        why = "psycopg and psycopg-pool are not installed (pip install -e .)"
    if why is None and bindir() is None:
        why = "PostgreSQL's server is not installed (apt-get install postgresql; scripts/setup --test)"
    if why:
        msg = f"needs PostgreSQL: {why}"
        if _required("KB_REQUIRE_POSTGRES"):
            pytest.fail(msg)
        pytest.skip(msg)
    cluster = Cluster(bindir())
    yield cluster
    cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, monkeypatch):
    """Each state test runs against both backends: the SQLite files of the index folder, then a
    new database of the throwaway cluster (KB_DATABASE_URL)."""
    if request.param == "sqlite":
        monkeypatch.delenv("KB_DATABASE_URL", raising=False)
        yield request.param
        return
    url = request.getfixturevalue("pg_cluster").new_database()
    monkeypatch.setenv("KB_DATABASE_URL", url)
    yield request.param
    from kb.state.postgres import PostgresDatabase

    # This test's pool is closed: the suite makes a database per test, and the cluster
    # admits a bounded number of connections.
    db = PostgresDatabase._open.pop(url, None)
    if db is not None:
        db.close()
