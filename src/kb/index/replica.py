"""A copy of another server's published index: what a follower (`kb serve --follow URL`) keeps.

    describe(index_dir)              -> the published generation: its files with sizes and sha256,
                                        and the passage vectors' files (served to followers)
    sync(index_dir, source)          -> Synced: one round of following (source: kb.cluster.Source)
    read_state(index_dir) / lag(...) -> what the follower last did ("follow.json")

The indexer publishes generations as kb.index.store describes (a sealed folder, then
`CURRENT`). A follower copies a new generation into a hidden `.gNNNNNN.part` folder beside
its own: files it already holds with the same hash (whoosh never rewrites a segment, so most
of an update's files) are hard-linked from its current generation, the others downloaded and
checked against the size and sha256 the indexer gave; only a complete, verified folder is
renamed to `gNNNNNN`, and only then is `CURRENT` replaced. Until that moment the follower
answers from its old generation; a download that fails or does not match leaves it as it was
(the next round tries again). Generation names are the indexer's, so "how far behind" is a
difference of numbers.

Vectors (`vectors/<model>/`) follow in the same round, before `CURRENT` moves: chunks first,
then maps and graphs (a map names rows its chunks must hold), each file checked and renamed
into place; files the indexer no longer has are removed after the switch. Nothing else of the
index folder is copied: accounts, the audit log, limits and the extraction cache are the
node's own (or the shared database's, docs/usage.md "Several servers").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import KbError
from kb.index import store
from kb.index.lock import WriteLock
from kb.index.vectors import VECTORS

STATE = "follow.json"
RULES = "access-rules"          # the indexer's access rules, as a follower keeps them
RULES_REL = "access/rules"      # their name in describe() and /cluster/files/
_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")
_MODEL = re.compile(r"^[A-Za-z0-9._-]{1,120}$")
_VECTOR_FILE = re.compile(r"^(c\d{6,}\.(key|npy)|g\d{6,}\.(map|hnsw))$")
_GEN = re.compile(r"^g\d{6,}$")


class SyncError(KbError):
    """A round of following that could not finish (the indexer unreachable, a bad download)."""


# --- the indexer's side ---------------------------------------------------------------------

_hashes: dict[str, tuple[tuple, str]] = {}       # path -> (stat key, sha256): files are hashed once
_hash_lock = threading.Lock()


def _sha_cached(path: Path) -> tuple[int, str]:
    st = path.stat()
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _hash_lock:
        hit = _hashes.get(str(path))
    if hit and hit[0] == key:
        return st.st_size, hit[1]
    sha = store._sha256(path)
    with _hash_lock:
        if len(_hashes) > 100_000:
            _hashes.clear()
        _hashes[str(path)] = (key, sha)
    return st.st_size, sha


def generation_files(gen: Path) -> dict[str, dict]:
    """Every file a follower needs of a generation: the sealed index files (their hashes from
    the seal: hashing a large index on every poll would cost seconds), the seal and the manifest."""
    seal = store.read_seal(gen)
    if seal is None:
        raise SyncError(f"{gen.name}/{store.SEAL}: нет или повреждён (missing or damaged seal)")
    files = {n: {"size": v["size"], "sha256": v["sha256"]} for n, v in seal["files"].items()}
    for f in gen.iterdir():
        if f.name not in files and f.is_file() and _FILE.match(f.name) and not f.name.endswith(("LOCK", ".tmp")):
            size, sha = _sha_cached(f)
            files[f.name] = {"size": size, "sha256": sha}
    return files


def vector_files(index_dir: Path) -> dict[str, dict]:
    """"vectors/<model>/<file>" -> size and sha256, for every chunk, map and graph."""
    out: dict[str, dict] = {}
    root = Path(index_dir) / VECTORS
    try:
        models = sorted(d for d in root.iterdir() if d.is_dir() and _MODEL.match(d.name))
    except OSError:
        return out
    for d in models:
        for f in sorted(d.iterdir()):
            if _VECTOR_FILE.match(f.name):
                try:
                    size, sha = _sha_cached(f)
                except OSError:         # merged away meanwhile: the next poll has the new list
                    continue
                out[f"{VECTORS}/{d.name}/{f.name}"] = {"size": size, "sha256": sha}
    return out


_corpus_cache: dict[str, tuple] = {}


def rules_file(index_dir: Path) -> tuple[str, Path | None]:
    """The access rules this server reads for its published index: ("none", None) without a
    rules file, ("error", None) when they cannot be read (they then hide), ("file", path)."""
    from kb.index import access
    from kb.index.manifest import Manifest, manifest_stamp

    index_dir = Path(index_dir)
    stamp = manifest_stamp(index_dir)
    hit = _corpus_cache.get(str(index_dir))
    if hit is not None and hit[0] == stamp:
        corpus = hit[1]
    else:
        try:
            corpus = Manifest.load(index_dir).corpus if stamp is not None else None
        except KbError:
            return "error", None
        _corpus_cache[str(index_dir)] = (stamp, corpus)
    path = access.rules_path(corpus)
    rstamp, rules = access.load_rules(path)
    if rules.error:
        return "error", None
    return ("file", path) if rstamp is not None else ("none", None)


def describe_rules(index_dir: Path) -> dict:
    state, path = rules_file(index_dir)
    if state != "file":
        return {"state": state}
    try:
        size, sha = _sha_cached(path)
    except OSError:
        return {"state": "error"}
    return {"state": "file", "size": size, "sha256": sha}


def describe(index_dir: Path) -> dict:
    """The published generation as followers fetch it (`GET /cluster/generation`)."""
    index_dir = Path(index_dir)
    gen = store.current(index_dir)
    if gen is None:
        return {"generation": None, "files": {}, "vectors": {}, "published": None, "access": {"state": "error"}}
    try:
        published = os.stat(index_dir / store.CURRENT).st_mtime
    except OSError:
        published = None
    return {"generation": gen.name, "published": published, "files": generation_files(gen),
            "vectors": vector_files(index_dir), "access": describe_rules(index_dir)}


def file_path(index_dir: Path, rel: str) -> Path | None:
    """The file a follower asks for by its name in `describe()`, or None: a published or kept
    generation's file, or a vector file; nothing else of the index folder (accounts, audit,
    secret key) can be named."""
    if rel == RULES_REL:
        state, path = rules_file(index_dir)
        return path if state == "file" and path.is_file() else None
    parts = rel.split("/")
    if len(parts) == 2 and _GEN.match(parts[0]) and _FILE.match(parts[1]) and not parts[1].endswith("LOCK"):
        path = Path(index_dir) / parts[0] / parts[1]
    elif len(parts) == 3 and parts[0] == VECTORS and _MODEL.match(parts[1]) and parts[1] not in (".", "..") \
            and _VECTOR_FILE.match(parts[2]):
        path = Path(index_dir) / parts[0] / parts[1] / parts[2]
    else:
        return None
    return path if path.is_file() and not path.is_symlink() else None


# --- the follower's side --------------------------------------------------------------------

@dataclass
class Synced:
    generation: str | None              # the generation served after this round
    remote: str | None                  # the indexer's
    switched: bool = False              # CURRENT moved this round
    downloaded: int = 0                 # files fetched
    linked: int = 0                     # files taken from the previous generation
    bytes: int = 0
    vectors: int = 0                    # vector files fetched
    removed: list[str] = field(default_factory=list)


def _check(path: Path, want: dict, what: str) -> None:
    size = path.stat().st_size
    if size != want["size"]:
        raise SyncError(f"{what}: получено {size} байт вместо {want['size']} (size mismatch)")
    if store._sha256(path) != want["sha256"]:
        raise SyncError(f"{what}: контрольная сумма не совпала (sha256 mismatch): файл отвергнут, "
                        "остаётся прежнее поколение")


def _fetch(source, rel: str, dest: Path, want: dict) -> int:
    """Download `rel` to `dest` (a temporary name) and check it; the number of bytes."""
    dest.unlink(missing_ok=True)
    source.fetch(rel, dest, want["size"])
    _check(dest, want, rel)
    return want["size"]


def _replace(source, rel: str, tmp: Path, path: Path, want: dict) -> int:
    """`path` replaced atomically by `rel`, downloaded and checked at `tmp` first (removed if
    that fails); the number of bytes."""
    try:
        got = _fetch(source, rel, tmp, want)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return got


def _valid_descriptor(desc) -> dict:
    if not isinstance(desc, dict) or not isinstance(desc.get("files", {}), dict) \
            or not isinstance(desc.get("vectors", {}), dict):
        raise SyncError("ответ индексатора не похож на описание поколения (bad descriptor)")
    gen = desc.get("generation")
    if gen is not None and (not isinstance(gen, str) or not _GEN.match(gen)):
        raise SyncError(f"индексатор назвал поколение «{str(gen)[:40]}» (bad generation name)")
    for group, pattern in (("files", _FILE), ("vectors", None)):
        for name, want in desc.get(group, {}).items():
            ok = isinstance(want, dict) and isinstance(want.get("size"), int) and want["size"] >= 0 \
                and isinstance(want.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", want["sha256"])
            if pattern is not None:
                ok = ok and pattern.match(name) and not name.endswith("LOCK")
            else:
                parts = name.split("/")
                ok = ok and len(parts) == 3 and parts[0] == VECTORS and _MODEL.match(parts[1]) \
                    and parts[1] not in (".", "..") and _VECTOR_FILE.match(parts[2])
            if not ok:
                raise SyncError(f"индексатор описал файл «{str(name)[:80]}» неверно (bad file entry)")
    rules = desc.get("access")
    if not isinstance(rules, dict) or rules.get("state") not in ("none", "error", "file") or (
            rules["state"] == "file" and not (isinstance(rules.get("size"), int) and rules["size"] >= 0
                                              and isinstance(rules.get("sha256"), str)
                                              and re.fullmatch(r"[0-9a-f]{64}", rules["sha256"]))):
        desc["access"] = {"state": "error"}         # an indexer that does not say: hide
    return desc


def _local_hashes(gen: Path | None) -> dict[str, dict]:
    """What this node's generation holds, as the indexer described it when it was copied (its
    seal, plus the hashes of the other files kept beside it)."""
    if gen is None:
        return {}
    try:
        return json.loads((gen / ".files.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _assemble(index_dir: Path, source, name: str, files: dict, local: Path | None, out: Synced) -> Path:
    """A verified copy of generation `name` at index_dir/name (not yet published)."""
    target = index_dir / name
    if target.is_dir():
        # A round killed between the rename and CURRENT: the folder is complete if it matches.
        if all(_matches(target / n, w) for n, w in files.items()):
            return target
        store.discard(target)
    part = index_dir / f".{name}.part"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    have = _local_hashes(local)
    try:
        for n, want in sorted(files.items()):
            old = have.get(n)
            if local is not None and old == want and _size_is(local / n, want["size"]):
                try:
                    os.link(local / n, part / n)
                    out.linked += 1
                    continue
                except OSError:
                    pass
            out.bytes += _fetch(source, f"{name}/{n}", part / n, want)
            out.downloaded += 1
        _write_files(part, files)
        _fsync_dir(part)
        os.rename(part, target)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    return target


def _write_files(gen: Path, files: dict) -> None:
    """The indexer's description of the generation's files, kept beside them (`_local_hashes`)."""
    tmp = gen / ".files.json.tmp"
    tmp.write_text(json.dumps(files), encoding="utf-8")
    os.replace(tmp, gen / ".files.json")


def _size_is(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _matches(path: Path, want: dict) -> bool:
    try:
        return path.stat().st_size == want["size"] and store._sha256(path) == want["sha256"]
    except OSError:
        return False


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _refresh_in_place(gen: Path, source, files: dict, out: Synced) -> None:
    """The same generation with a file changed on the indexer (its manifest is rewritten in
    place when only file times changed): the file replaced atomically."""
    have = _local_hashes(gen)
    changed = {n: w for n, w in files.items() if have.get(n) != w}
    if not changed:
        return
    for n, want in sorted(changed.items()):
        out.bytes += _replace(source, f"{gen.name}/{n}", gen / f".{n}.part", gen / n, want)
        out.downloaded += 1
    _write_files(gen, files)


def _sync_vectors(index_dir: Path, source, remote: dict, out: Synced) -> None:
    """Chunks first, then maps and graphs: a map is only ever read with the chunks it needs."""
    def order(rel: str) -> int:
        return 0 if rel.rsplit("/", 1)[1].startswith("c") else 1

    for rel in sorted(remote, key=lambda r: (order(r), r)):
        want = remote[rel]
        path = index_dir / rel
        if _size_is(path, want["size"]) and _vector_hash(path) == want["sha256"]:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        # At the builder's own leftovers' name first: tidied by it.
        out.bytes += _replace(source, rel, path.with_name(path.name + ".tmp"), path, want)
        out.vectors += 1


def _vector_hash(path: Path) -> str | None:
    try:
        return _sha_cached(path)[1]
    except OSError:
        return None


def _drop_vectors(index_dir: Path, remote: dict, out: Synced) -> None:
    root = index_dir / VECTORS
    try:
        models = [d for d in root.iterdir() if d.is_dir()]
    except OSError:
        return
    for d in models:
        for f in d.iterdir():
            rel = f"{VECTORS}/{d.name}/{f.name}"
            if _VECTOR_FILE.match(f.name) and rel not in remote:
                f.unlink(missing_ok=True)
                out.removed.append(rel)


def _sync_rules(index_dir: Path, source, rules: dict, out: Synced) -> None:
    """The indexer's access rules to INDEX/access-rules: none there, an empty file (the default
    rules); unreadable there, no file (which hides); else a checked copy."""
    path = index_dir / RULES
    state = rules["state"]
    if state == "error":
        path.unlink(missing_ok=True)
        return
    if state == "none":
        if not _size_is(path, 0):
            tmp = path.with_name(RULES + ".tmp")
            tmp.write_bytes(b"")
            os.replace(tmp, path)
        return
    if not _matches(path, rules):
        out.bytes += _replace(source, RULES_REL, path.with_name(RULES + ".tmp"), path, rules)


def _point(index_dir: Path, gen: Path) -> None:
    tmp = index_dir / f"{store.CURRENT}.tmp"
    tmp.write_text(gen.name + "\n", encoding="ascii")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / store.CURRENT)


def sync(index_dir: Path, source) -> Synced:
    """One round: fetch the indexer's description, copy what is new, switch when complete.

    `source` has `descriptor() -> dict` and `fetch(rel, dest)` (kb.cluster.Source over HTTP).
    Raises SyncError (or KbError, OSError) with this node's generation untouched."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    desc = _valid_descriptor(source.descriptor())
    name = desc.get("generation")
    with WriteLock(index_dir):
        local = store.current(index_dir)
        out = Synced(generation=local.name if local else None, remote=name)
        if name is None:            # the indexer has nothing published yet
            return out
        # The rules first: a document a new rule hides is hidden here before a generation shows it.
        _sync_rules(index_dir, source, desc["access"], out)
        if local is not None and local.name == name:
            _refresh_in_place(local, source, desc["files"], out)
            _sync_vectors(index_dir, source, desc["vectors"], out)
            _drop_vectors(index_dir, desc["vectors"], out)
            return out
        gen = _assemble(index_dir, source, name, desc["files"], local, out)
        _sync_vectors(index_dir, source, desc["vectors"], out)
        _point(index_dir, gen)
        out.generation, out.switched = gen.name, True
        # Kept: the new one and the previous (a reader that has just read CURRENT still finds its files).
        for _, d in store.generations(index_dir):
            if d.name not in (gen.name, local.name if local else ""):
                store.discard(d)
        for p in index_dir.glob(".g*.part"):
            shutil.rmtree(p, ignore_errors=True)
        _drop_vectors(index_dir, desc["vectors"], out)
        return out


# --- what the follower last did --------------------------------------------------------------

def write_state(index_dir: Path, state: dict) -> None:
    path = Path(index_dir) / STATE
    tmp = path.with_name(f"{STATE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def forget_state(index_dir: Path) -> None:
    (Path(index_dir) / STATE).unlink(missing_ok=True)


def read_state(index_dir: Path) -> dict | None:
    """The follower's last round (None: this index folder does not follow another server)."""
    try:
        data = json.loads((Path(index_dir) / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def lag(state: dict | None, index_dir: Path, now: float | None = None) -> dict | None:
    """Generations behind the indexer (as of the last answer it gave), seconds since the last
    successful round, the last error."""
    if state is None:
        return None
    now = time.time() if now is None else now
    local = store.current(Path(index_dir))
    remote = state.get("remote")
    behind = None
    if isinstance(remote, str) and _GEN.match(remote):
        if local is None:
            behind = int(remote[1:])
        else:
            # A number lower than ours: the indexer's folder was started again; one step behind.
            behind = 0 if remote == local.name else max(1, int(remote[1:]) - int(local.name[1:]))
    ok = state.get("last_success")
    return {"indexer": state.get("source"), "generation": local.name if local else None, "remote": remote,
            "behind": behind, "since_success": None if not isinstance(ok, (int, float)) else round(now - ok, 1),
            "last_error": state.get("last_error"), "last_attempt": state.get("last_attempt")}
