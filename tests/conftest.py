"""Shared fixtures. Tests needing ../shared/data, the word vectors or a browser skip locally
with a reason, and fail in CI (CI=true or KB_REQUIRE_SHARED / KB_REQUIRE_VECTORS /
KB_REQUIRE_BROWSER set), so nothing passes silently."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KB_SHARED_DATA", ROOT.parent / "shared" / "data"))


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


def require_browser_or_skip(reason: str) -> None:
    if _required("KB_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)
