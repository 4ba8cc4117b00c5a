"""The manifest: what is indexed, by relative path, with size, mtime, hash and metadata.

It lives in its generation's folder (kb.index.store), written before the generation is
published, so the index and the manifest that describes it change together. Loading checks
its shape: a file that is valid JSON of the wrong shape is damage, not an empty index.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from kb.errors import IndexDamaged
from kb.index import store
from kb.names import dumps

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
    # When the file first appeared in the collection (UTC, "2025-03-14T04:02:11Z"): kept when it
    # is re-indexed, renamed or the index rebuilt; "" in manifests written before it existed.
    added: str = ""


# The type each field must have in the file (bool is an int in Python: excluded by hand).
_TYPES = {"doc_id": str, "size": int, "mtime": (int, float), "sha256": str, "title": str, "format": str,
          "doc_type": str, "year": (int, type(None)), "pages": int, "passages": int, "warnings": list,
          "meta": dict, "sidecar": str, "added": str}
_REQUIRED = {f.name for f in fields(Entry) if f.default is MISSING and f.default_factory is MISSING}


def _entry(path: str, v) -> Entry:
    if not isinstance(v, dict):
        raise ValueError(f"запись «{path}» не объект")
    missing = _REQUIRED - set(v)
    unknown = set(v) - set(_TYPES)
    if missing or unknown:
        raise ValueError(f"запись «{path}»: нет полей {sorted(missing)}, лишние {sorted(unknown)}")
    for k, val in v.items():
        if isinstance(val, bool) or not isinstance(val, _TYPES[k]):
            raise ValueError(f"запись «{path}»: поле {k} неверного типа")
    records = v.get("meta", {}).get("records")
    if records is not None and not (isinstance(records, list) and all(
            isinstance(r, dict) and isinstance(r.get("doc_id"), str) for r in records)):
        raise ValueError(f"запись «{path}»: неверный список записей консультаций")
    return Entry(**v)


def manifest_stamp(index_dir: Path) -> tuple | None:
    """Changes when a generation is published or its manifest rewritten (for caches)."""
    gen = store.current(Path(index_dir))
    if gen is None:
        return None
    try:
        st = os.stat(gen / FILE)
    except OSError:
        return (gen.name, None)
    return (gen.name, st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass
class Manifest:
    version: str = ""
    corpus: str = ""
    files: dict[str, Entry] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)   # path -> reason, from the last run

    @classmethod
    def load(cls, index_dir: Path) -> "Manifest":
        """The manifest of the published generation; empty when there is no index.

        Raises IndexDamaged when the file is missing from its generation or of the wrong shape."""
        gen = store.current(Path(index_dir))
        return cls() if gen is None else cls.read(gen / FILE)

    @classmethod
    def read(cls, p: Path) -> "Manifest":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("не объект JSON")
            version, corpus = data.get("version", ""), data.get("corpus", "")
            files, failed = data.get("files", {}), data.get("failed", {})
            if not (isinstance(version, str) and isinstance(corpus, str) and isinstance(files, dict)
                    and isinstance(failed, dict) and all(isinstance(r, str) for r in failed.values())):
                raise ValueError("неверные поля version/corpus/files/failed")
            entries = {k: _entry(k, v) for k, v in files.items()}
        except (OSError, ValueError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) else str(e)
            raise IndexDamaged(f"индекс {p.parent.parent} повреждён (манифест {p.parent.name}/{p.name}: {why}); "
                               "выполните `kb index`, чтобы восстановить его (index is damaged)") from None
        return cls(version=version, corpus=corpus, files=entries, failed=failed)

    def write(self, p: Path) -> None:
        """Atomically (a reader sees the old file or the new one, never half of one)."""
        tmp = p.with_suffix(".tmp")
        data = {"version": self.version, "corpus": self.corpus,
                "files": {k: asdict(v) for k, v in sorted(self.files.items())},
                "failed": self.failed}
        tmp.write_text(dumps(data), encoding="utf-8")
        os.replace(tmp, p)

    def save(self, index_dir: Path) -> None:
        """Rewrite the published generation's manifest in place: only for changes that leave
        the index itself as it is (new file times, failures of the last run)."""
        gen = store.current(Path(index_dir))
        if gen is None:
            raise IndexDamaged(f"в {index_dir} нет опубликованного индекса (no index)")
        self.write(gen / FILE)

    def by_id(self) -> dict[str, tuple[str, Entry]]:
        return {e.doc_id: (path, e) for path, e in self.files.items()}
