"""The manifest: what is indexed, by relative path, with size, mtime, hash and metadata.

Written atomically after each commit, so an interrupted run leaves the last
committed index and a manifest that agrees with it (or is older, which the next
run repairs by re-indexing the files it does not know).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

FILE = "manifest.json"


@dataclass
class Entry:
    doc_id: str
    size: int
    mtime: float
    sha256: str
    title: str
    format: str
    doc_type: str
    year: int | None
    pages: int
    passages: int
    warnings: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)       # enrich output: requisites, citations, outline
    sidecar: str = ""       # "name:size:mtime" of its sidecar metadata file: a change re-indexes it


@dataclass
class Manifest:
    version: str = ""
    corpus: str = ""
    files: dict[str, Entry] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)   # path -> reason, from the last run

    @classmethod
    def load(cls, index_dir: Path) -> "Manifest":
        p = Path(index_dir) / FILE
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return cls()
        files = {k: Entry(**v) for k, v in data.get("files", {}).items()}
        return cls(version=data.get("version", ""), corpus=data.get("corpus", ""), files=files,
                   failed=data.get("failed", {}))

    def save(self, index_dir: Path) -> None:
        p = Path(index_dir) / FILE
        tmp = p.with_suffix(".tmp")
        data = {"version": self.version, "corpus": self.corpus,
                "files": {k: asdict(v) for k, v in sorted(self.files.items())},
                "failed": self.failed}
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, p)

    def by_id(self) -> dict[str, tuple[str, Entry]]:
        return {e.doc_id: (path, e) for path, e in self.files.items()}
