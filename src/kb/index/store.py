"""The index folder on disk: immutable generations behind one pointer file.

    index/
      CURRENT          the name of the published generation ("g000007"), replaced atomically
      g000007/         whoosh's files, manifest.json, seal.json (sizes and hashes of the files)
      cache/           extraction results by content hash (kb.index.build.ExtractCache)
      write.lock       one writer at a time (kb.index.lock)

A writer never changes a published generation: it builds the next one beside it (a full
rebuild from nothing, an update from hard links to the current one's files, which whoosh
never rewrites in place), seals it, and swaps CURRENT. Readers keep answering from the
old generation until the swap and move to the new one at their next query; a writer
killed at any moment leaves CURRENT and its generation as they were, and the next writer
deletes the unpublished remains. The previous generation is kept until the next swap, so
a reader that has just read CURRENT still finds its files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CURRENT = "CURRENT"
SEAL = "seal.json"
_GEN = re.compile(r"^g(\d{6,})$")
# Files of the index layout before generations (kb schema 7 and older), at the top level.
_LEGACY = re.compile(r"^(_passages_\d+\.toc|passages_[0-9a-z]+\.\w+|_passages_LOCK|manifest\.json|manifest\.tmp)$")


def current(index_dir: Path) -> Path | None:
    """The published generation's folder, or None when there is none (never built, or CURRENT
    names a folder that is gone)."""
    try:
        name = (Path(index_dir) / CURRENT).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not _GEN.match(name):
        return None
    d = Path(index_dir) / name
    return d if d.is_dir() else None


def pointer_stamp(index_dir: Path) -> tuple | None:
    """Changes whenever CURRENT is replaced: what readers check before each query (one stat)."""
    try:
        st = os.stat(Path(index_dir) / CURRENT)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def generations(index_dir: Path) -> list[tuple[int, Path]]:
    try:
        entries = list(os.scandir(index_dir))
    except OSError:
        return []
    gens = [(int(m.group(1)), Path(e.path)) for e in entries if (m := _GEN.match(e.name)) and e.is_dir()]
    return sorted(gens)


def has_legacy_files(index_dir: Path) -> bool:
    """An index written by kb before generations (whoosh files at the top level)."""
    try:
        return any(_LEGACY.match(n) and n.startswith("_passages_") for n in os.listdir(index_dir))
    except OSError:
        return False


def new_generation(index_dir: Path, base: Path | None = None) -> Path:
    """A new, unpublished generation folder; with `base`, holding hard links to its files.

    The caller holds the write lock, so every unpublished folder found here is the remains
    of a killed writer and is removed first."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    discard_unpublished(index_dir)
    gens = generations(index_dir)
    gen = index_dir / f"g{(gens[-1][0] + 1 if gens else 1):06d}"
    gen.mkdir()
    if base is not None:
        for f in base.iterdir():
            if f.name == SEAL or f.name.endswith("LOCK") or not f.is_file():
                continue
            try:
                os.link(f, gen / f.name)
            except OSError:         # a file system without hard links
                shutil.copy2(f, gen / f.name)
    return gen


def discard(gen: Path) -> None:
    shutil.rmtree(gen, ignore_errors=True)


def discard_unpublished(index_dir: Path) -> list[str]:
    """Remove generation folders newer than the published one (left by a killed writer)."""
    cur = current(index_dir)
    cur_n = int(cur.name[1:]) if cur else 0
    gone = []
    for n, d in generations(index_dir):
        if n > cur_n or (cur is None):
            discard(d)
            gone.append(d.name)
    return gone


def publish(index_dir: Path, gen: Path, passages: int) -> None:
    """Seal `gen` and make it the current generation; older ones but the previous go."""
    index_dir = Path(index_dir)
    prev = current(index_dir)
    write_seal(gen, passages, read_seal(prev) if prev else None, prev)
    tmp = index_dir / f"{CURRENT}.tmp"
    tmp.write_text(gen.name + "\n", encoding="ascii")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    keep = {gen.name, prev.name if prev else ""}
    for _, d in generations(index_dir):
        if d.name not in keep and int(d.name[1:]) < int(gen.name[1:]):
            discard(d)
    remove_legacy_files(index_dir)


def remove_legacy_files(index_dir: Path) -> None:
    for n in os.listdir(index_dir):
        if _LEGACY.match(n):
            try:
                os.unlink(Path(index_dir) / n)
            except OSError:
                pass


# --- the seal: what a generation's files must be ---------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_seal(gen: Path | None) -> dict | None:
    if gen is None:
        return None
    try:
        data = json.loads((gen / SEAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get("sha256"), str)
            for v in files.values()):
        return None
    return data


def write_seal(gen: Path, passages: int, base_seal: dict | None = None, base: Path | None = None) -> None:
    """Sizes and hashes of the generation's index files (not the manifest: it is checked by
    its shape, and may be rewritten in place when only file times changed).

    A file hard-linked from the base generation keeps the base's hash unread."""
    files = {}
    known = (base_seal or {}).get("files", {})
    for f in sorted(gen.iterdir()):
        if f.name in (SEAL,) or f.name.startswith("manifest") or f.name.endswith("LOCK") or not f.is_file():
            continue
        st = f.stat()
        old = known.get(f.name)
        sha = None
        if old and base is not None and old["size"] == st.st_size:
            try:
                if os.stat(base / f.name).st_ino == st.st_ino:
                    sha = old["sha256"]
            except OSError:
                pass
        files[f.name] = {"size": st.st_size, "sha256": sha or _sha256(f)}
    tmp = gen / (SEAL + ".tmp")
    tmp.write_text(json.dumps({"passages": passages, "files": files}, indent=1), encoding="utf-8")
    os.replace(tmp, gen / SEAL)


@dataclass
class Check:
    """What is wrong with a generation's files (empty `problems`: sound)."""

    gen: Path | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.gen is not None and not self.problems


def check_files(gen: Path, deep: bool = True) -> list[str]:
    """Compare a generation's files with its seal: missing, truncated, changed (deep: by hash)."""
    seal = read_seal(gen)
    if seal is None:
        return [f"{gen.name}/{SEAL}: нет или повреждён (missing or damaged seal)"]
    out = []
    for name, want in seal["files"].items():
        f = gen / name
        try:
            size = f.stat().st_size
        except OSError:
            out.append(f"{gen.name}/{name}: файла нет (missing)")
            continue
        if size != want["size"]:
            out.append(f"{gen.name}/{name}: размер {size} вместо {want['size']} байт (truncated or changed)")
        elif deep and _sha256(f) != want["sha256"]:
            out.append(f"{gen.name}/{name}: содержимое изменилось (checksum mismatch)")
    return out
