"""`.kbignore` (gitignore syntax) and the files that are never documents (README, licences)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.extract import scan_corpus
from kb.index import update_index
from kb.search import catalog


def _names(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in scan_corpus(root).files]


def _corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for rel in ["README.md", "LICENSE-CC-BY-SA-4.0.txt", "licence.txt", "COPYING", "law.txt",
                "drafts/draft.txt", "drafts/keep.txt", "notes/README.txt", "notes/a.log.txt",
                "reports/2019.txt", "readme-first-law.txt"]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("Текст документа о выселении.\n", encoding="utf-8")
    return root


def test_readme_and_licences_are_not_documents(tmp_path):
    root = _corpus(tmp_path)
    names = _names(root)
    assert "README.md" not in names and "notes/README.txt" not in names
    assert "LICENSE-CC-BY-SA-4.0.txt" not in names and "licence.txt" not in names
    assert "law.txt" in names and "drafts/draft.txt" in names
    # Only the names themselves: a document that merely starts with the word stays.
    assert "readme-first-law.txt" in names


def test_kbignore_gitignore_syntax(tmp_path):
    root = _corpus(tmp_path)
    (root / ".kbignore").write_text("# черновики\ndrafts/\n*.log.txt\n!README.md\n", encoding="utf-8")
    names = _names(root)
    assert not any(n.startswith("drafts/") for n in names)
    assert "notes/a.log.txt" not in names
    assert "README.md" in names                     # negated: a document after all
    assert "notes/README.txt" not in names
    assert ".kbignore" not in names


def test_nested_kbignore_overrides(tmp_path):
    root = _corpus(tmp_path)
    (root / ".kbignore").write_text("*.txt\n", encoding="utf-8")
    (root / "reports" / ".kbignore").write_text("!*.txt\n", encoding="utf-8")
    assert _names(root) == ["reports/2019.txt"]


def test_kbignore_change_removes_from_index(tmp_path):
    root = _corpus(tmp_path)
    index = tmp_path / "index"
    update_index(root, index, show_progress=False)
    assert "drafts/draft.txt" in {d.path for d in catalog(index).all()}
    (root / ".kbignore").write_text("drafts/\n", encoding="utf-8")
    rep = update_index(root, index, show_progress=False)
    assert set(rep.removed) == {"drafts/draft.txt", "drafts/keep.txt"}
    assert not any(d.path.startswith("drafts/") for d in catalog(index).all())
