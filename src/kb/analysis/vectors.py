"""Static word vectors: how close in meaning two words are, where lemmas see no link.

The vectors are navec's news model (250K word forms x 300, product-quantised, 26 MB), the
file shipped inside the `natasha` wheel (MIT). scripts/setup copies it to
`.venv/share/kb/`; `KB_VECTORS` names another file, `KB_VECTORS=off` turns them off. Without
the file kb works as before, without this signal (docs/ranking.md has both measurements).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

FILE_NAME = "navec_news_v1_1B_250K_300d_100q.tar"
# navec's words: lowercase, letters and digits, hyphenated compounds whole.
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def words(text: str) -> list[str]:
    """The word forms of a text as navec spells them (much cheaper than tokenize())."""
    return _WORD.findall(text.lower().replace("ё", "е"))


SEEN_TEXTS = 4096       # passages whose word ids are kept
MAX_ROWS = 80_000       # decoded word vectors kept (~96 MB at most)


def default_path() -> Path:
    return Path(sys.prefix) / "share" / "kb" / FILE_NAME


def configured_path() -> Path | None:
    """The vectors file to use, or None when turned off."""
    env = os.environ.get("KB_VECTORS", "").strip()
    if env.lower() in ("off", "0", "no", "none"):
        return None
    return Path(env) if env else default_path()


def _read_navec(path: Path):
    """(words, codes, indexes) from navec's tar: meta.json, vocab.bin (gzip: count, counts,
    words one per line), pq.bin (vectors, dim, qdim, centroids; indexes; codes).

    Read here rather than by `navec.Navec.load`, which also precomputes every vector's norm
    and a centroid-product table kb never uses: 0.4 s of each cold `kb search`."""
    import gzip
    import tarfile

    import numpy as np

    with tarfile.open(path) as tar:
        with gzip.open(tar.extractfile("vocab.bin")) as f:
            size = int(np.frombuffer(f.read(4), np.uint32)[0])
            f.read(4 * size)                                    # word counts: not used
            vocab = f.read().decode("utf-8").splitlines()
        data = tar.extractfile("pq.bin").read()
    vectors, _dim, qdim, centroids = (int(x) for x in np.frombuffer(data[:16], np.uint32))
    end = 16 + vectors * qdim
    indexes = np.frombuffer(data[16:end], np.uint8).reshape(vectors, qdim)
    codes = np.frombuffer(data[end:], np.float32).reshape(qdim, centroids, -1)
    if len(vocab) != vectors:
        raise ValueError(f"{path}: {len(vocab)} words for {vectors} vectors")
    return vocab, codes, indexes


# The navec file unpacked once into arrays that are memory-mapped, with an open-addressing
# hash table of its words: a cold `kb search` then opens them in ~1 ms where unpacking the
# tar and building a 250K-word dict took ~0.17 s. Written beside the file by scripts/setup
# (or at first use, where that folder is writable); rebuilt when the file changes.
CACHE_SUFFIX = ".kb-cache"
_CACHE_VERSION = "1"


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{_CACHE_VERSION} {st.st_size} {st.st_mtime_ns}"


def _slot(word: bytes, mask: int) -> int:
    return zlib.crc32(word) & mask


def _fresh(cache: Path, stamp: str) -> bool:
    try:
        return (cache / "stamp").read_text() == stamp
    except OSError:
        return False


def _sweep(cache: Path, age: float = 600.0) -> None:
    """Remove half-written copies of the cache that a killed process left (older than `age`
    seconds, so as not to take one another process is writing now)."""
    for tmp in cache.parent.glob(cache.name + ".*"):
        try:
            if tmp.is_dir() and time.time() - tmp.stat().st_mtime > age:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass


def prepare_cache(path: Path) -> Path:
    """Write (or refresh) the unpacked cache of the navec file at `path`; returns its folder.
    Safe when several processes start at once: each writes its own copy and the first to
    rename it into place wins."""
    import numpy as np

    cache = Path(str(path) + CACHE_SUFFIX)
    stamp = _stamp(path)
    if _fresh(cache, stamp):
        return cache
    _sweep(cache)
    vocab, codes, indexes = _read_navec(path)
    encoded = [w.encode("utf-8") for w in vocab]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    size = 1 << max(4, (2 * len(encoded)).bit_length())           # load factor below 1/2
    mask = size - 1
    table = [-1] * size
    for wid, b in enumerate(encoded):
        i = _slot(b, mask)
        while table[i] >= 0:
            i = (i + 1) & mask
        table[i] = wid
    tmp = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    try:
        (tmp / "words.bin").write_bytes(b"".join(encoded))
        np.save(tmp / "offsets.npy", offsets)
        np.save(tmp / "table.npy", np.asarray(table, dtype=np.int32))
        np.save(tmp / "indexes.npy", np.ascontiguousarray(indexes))
        np.save(tmp / "codes.npy", np.ascontiguousarray(codes))
        (tmp / "stamp").write_text(stamp)
        try:
            if cache.exists():                  # stale: the navec file changed
                shutil.rmtree(cache, ignore_errors=True)
            os.replace(tmp, cache)
        except OSError:
            if not _fresh(cache, stamp):        # another process's fresh copy is as good
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


class _HashedVocab:
    """word -> id over the cache's hash table; answers are kept, so each word is probed once."""

    MEMO = 400_000

    def __init__(self, cache: Path):
        import numpy as np

        self._words = (cache / "words.bin").read_bytes()
        self._offsets = memoryview(np.load(cache / "offsets.npy", mmap_mode="r"))
        self._table = memoryview(np.load(cache / "table.npy", mmap_mode="r"))
        self._mask = len(self._table) - 1
        self._memo: dict[str, int | None] = {}
        self.size = len(self._offsets) - 1
        if (len(self._table) & self._mask or len(self._table) < 2 * self.size
                or self._offsets[self.size] != len(self._words)):
            raise ValueError(f"{cache}: damaged word table")

    def get(self, word: str) -> int | None:
        try:
            return self._memo[word]
        except KeyError:
            pass
        b = word.encode("utf-8")
        i = _slot(b, self._mask)
        found = None
        while (wid := self._table[i]) >= 0:
            if self._words[self._offsets[wid]:self._offsets[wid + 1]] == b:
                found = wid
                break
            i = (i + 1) & self._mask
        if len(self._memo) >= self.MEMO:
            self._memo.clear()
        self._memo[word] = found
        return found

    def ids_of(self, ws: list[str]) -> set[int]:
        """The ids of the known words among `ws`: words seen before cost a dict look-up (in C,
        as with the plain dict), only new ones are probed."""
        memo = self._memo
        found = {memo.get(w, _NEW) for w in ws}
        if _NEW in found:
            found.discard(_NEW)
            found.update(self.get(w) for w in ws if w not in memo)
        found.discard(None)
        return found

    def __contains__(self, word: str) -> bool:
        return self.get(word) is not None


_NEW = -2


class _Vocab(dict):
    """word -> id read straight from the tar (where the cache cannot be used)."""

    def ids_of(self, ws: list[str]) -> set[int]:
        get = self.get
        found = {get(w) for w in ws}
        found.discard(None)
        return found


def _load(path: Path):
    """(vocab, codes, indexes): from the cache, made now if it is missing or stale and the
    folder is writable; else straight from the tar, as before the cache existed."""
    import numpy as np

    try:
        cache = prepare_cache(path)
        vocab = _HashedVocab(cache)
        indexes = np.load(cache / "indexes.npy", mmap_mode="r")
        if len(indexes) != vocab.size:
            raise ValueError(f"{cache}: damaged vectors")
        return vocab, np.load(cache / "codes.npy", mmap_mode="r"), indexes
    except (OSError, ValueError):
        # A read-only folder, or a damaged cache (removed, so that the next start rebuilds
        # it): the tar itself, as before the cache existed.
        shutil.rmtree(Path(str(path) + CACHE_SUFFIX), ignore_errors=True)
        vocab, codes, indexes = _read_navec(path)
        return _Vocab(zip(vocab, range(len(vocab)))), codes, indexes


class WordVectors:
    def __init__(self, path: Path):
        import numpy as np

        self._np = np
        self._ids, self._codes, self._indexes = _load(path)
        self._qdims = np.arange(self._codes.shape[0])
        self._dim = self._codes.shape[0] * self._codes.shape[2]
        self._squares = np.sum(self._codes ** 2, axis=-1)         # qdim x centroids
        self._seen: dict[int, object] = {}
        self._row_of = np.full(len(self._indexes), -1, dtype=np.int64)
        self._store = np.empty((4096, self._dim), dtype=np.float32)
        self._used = 0
        self._lock = threading.Lock()      # the caches below are shared by web threads

    def _matrix(self, ids):
        """Unit vectors of these word ids, one row each.

        Decoding product-quantised vectors costs more than comparing them, so each word's
        unit vector is decoded once and kept (the words of one corpus: a few tens of MB)."""
        np = self._np
        ids_a = np.asarray(ids, dtype=np.int64)
        rows = self._row_of[ids_a]
        new = np.unique(ids_a[rows < 0])
        if len(new) and self._used + len(new) > MAX_ROWS:
            self._row_of[:] = -1                 # a rare reset keeps memory bounded
            self._used = 0
            rows = self._row_of[ids_a]
            new = np.unique(ids_a)
        if len(new):
            vecs = self._codes[self._qdims, self._indexes[new]].reshape(len(new), self._dim)
            norm = np.sqrt(np.sum(self._squares[self._qdims, self._indexes[new]], axis=-1))
            vecs = vecs / np.maximum(norm, 1e-9)[:, None]
            start = self._used
            if start + len(new) > len(self._store):
                grown = np.empty((max(2 * len(self._store), start + len(new)), self._dim), dtype=np.float32)
                grown[:start] = self._store[:start]
                self._store = grown
            self._store[start:start + len(new)] = vecs
            self._row_of[new] = np.arange(start, start + len(new))
            self._used = start + len(new)
            rows = self._row_of[ids_a]
        return self._store[rows]

    def text_ids(self, text: str):
        """Sorted unique vocabulary ids of a text's words (kept for recently seen texts)."""
        key = hash(text)
        ids = self._seen.get(key)
        if ids is None:
            found = self._ids.ids_of(words(text))
            ids = self._np.fromiter(sorted(found), dtype=self._np.int64, count=len(found))
            if len(self._seen) >= SEEN_TEXTS:
                self._seen.pop(next(iter(self._seen)))
            self._seen[key] = ids
        return ids

    def best_match(self, query_words: list[str], texts: list[str]) -> list[float]:
        """Per text: the mean, over the query words that have vectors, of each one's best
        cosine with a word of the text (0.0 when nothing can be compared)."""
        with self._lock:
            return self._best_match(query_words, texts)

    def _best_match(self, query_words: list[str], texts: list[str]) -> list[float]:
        np = self._np
        get = self._ids.get
        q_ids = [i for w in dict.fromkeys(query_words) if (i := get(w)) is not None]
        if not q_ids or not texts:
            return [0.0] * len(texts)
        per_text = [self.text_ids(t) for t in texts]
        if not any(len(ids) for ids in per_text):
            return [0.0] * len(texts)
        vocab = np.unique(np.concatenate(per_text))
        sims = self._matrix(q_ids) @ self._matrix(vocab).T      # query words x text words
        out = []
        for ids in per_text:
            if len(ids):
                cols = np.searchsorted(vocab, ids)
                out.append(max(0.0, float(sims[:, cols].max(axis=1).mean())))
            else:
                out.append(0.0)
        return out


_loaded: dict[Path, WordVectors | None] = {}
_lock = threading.Lock()


def word_vectors() -> WordVectors | None:
    """The vectors (loaded once: ~5 ms from the cache, ~0.2 s from the tar), or None when
    off, missing or unreadable."""
    path = configured_path()
    if path is None:
        return None
    with _lock:
        if path not in _loaded:
            try:
                _loaded[path] = WordVectors(path) if path.is_file() else None
            except Exception:   # a broken or foreign file: search goes on without vectors
                _loaded[path] = None
        return _loaded[path]
