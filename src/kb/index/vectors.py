"""Passage vectors beside the index: built after the lexical index is published, read by search.

    index/
      vectors/<model key>/       one folder per embedder (kb.analysis.embed.Embedder.key)
        c000001.key, .npy        a chunk: 16-byte content hashes, then float16 rows (memory-mapped)
        g000007.map              per passage number of that generation: the hash of its vector
        g000007.partial          the same, written when the build of that generation starts
        g000007.hnsw             above kb.index.ann.APPROX_OVER passages: its HNSW graph
        progress.json            what the last builder had done ({"gen", "done", "total"})
      vectors.lock               one builder at a time (a lockf lock: gone with its process)

Why so: embedding costs 0.2-0.35 s a passage on one core, so vectors are kept by the hash of
the embedded text and never computed twice (an update embeds only new or changed passages; a
rebuild of the lexical index none). A chunk is written to a temporary name and renamed (its
`.key` first, then its `.npy`: a chunk counts only when both exist and agree), so a builder
killed at any moment loses at most the chunk it was filling; the next `kb index` goes on
from there. A generation's map is written last, atomically: until it exists, search for that
generation is lexical only ("semantic joins when ready"). Published generations are never
touched, so the lexical index's seal and crash-safety stay as they were.

While a generation is being built (or after a build stopped early), its `.partial` map lets
search by meaning use the vectors embedded so far (`view(..., partial=True)`, kb.search.fill):
from the first minute, not after hours. Such a view is read again as chunks land, at most
every PARTIAL_RELOAD seconds (reading every chunk costs ~0.1 s per 10,000 passages).

Retrieval is exact up to kb.index.ann.APPROX_OVER passages: a dot product of the query with
every row of one float32 matrix kept in memory per generation (10,000 passages x 384
dimensions: 15 MB, a few milliseconds; 75,000: 110 MB, 20-25 ms on the loaded 2-core machine;
docs/ranking.md), then the filters and access masks, then a partial sort (`nearest`). Above
it the builder adds an HNSW graph per generation (`g000007.hnsw`, written after the map: search
is exact until it lands), whose candidates are scored exactly from the same matrix. A chunk that does not read, or rows that are not
numbers, make a generation's vectors damaged: search is lexical, `kb check` says so in one
line, and the next build embeds what was lost.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
import os
import re
import shutil
import logging
import threading
from pathlib import Path

from kb.errors import KbError
from kb.index import ann, store, vcache
from kb.progress import Pace

VECTORS = "vectors"
LOCK = "vectors.lock"
KEY_BYTES = 16
FLUSH = 32              # passages per chunk while building: at most this much work lost to a kill
BATCH = 8               # passages per call of the embedder, unless it says (`batch`)
COMPACT_OVER = 8        # chunks above which a finished build merges them into one
PARTIAL = "partial"     # suffix of a generation's map while its vectors are being built
PARTIAL_RELOAD = 20.0   # seconds a reader keeps a partial view before reading the new chunks
ATTENTION_CHARS = 5000  # passage length at which attention doubles a character's cost (_work)
STALE_PROGRESS = 600.0  # seconds without a new chunk after which a build counts as stopped
log = logging.getLogger("kb.index")
_CHUNK = re.compile(r"^c(\d{6,})\.npy$")


def key_of(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=KEY_BYTES).digest()


def _safe(model_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)[:120] or "model"


def model_dir(index_dir: Path, model_key: str) -> Path:
    return Path(index_dir) / VECTORS / _safe(model_key)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Chunks:
    """The chunks of one model folder: hashes and memory-mapped float16 rows."""

    def __init__(self, folder: Path):
        import numpy as np

        self.folder = folder
        self.names: list[str] = []
        self.arrays: list = []
        self.row_of: dict[bytes, tuple[int, int]] = {}     # hash -> (chunk, row)
        self.bad: list[str] = []        # chunks that do not read (damaged, or merged away meanwhile)
        self.garbled = 0                # rows that are not numbers
        try:
            names = sorted(n for n in os.listdir(folder) if _CHUNK.match(n))
        except OSError:
            names = []
        for name in names:
            stem = name[:-4]
            try:
                arr = np.load(folder / name, mmap_mode="r")
                keys = (folder / f"{stem}.key").read_bytes()
            except (OSError, ValueError, EOFError):
                # A kill leaves only a `.tmp` or a `.key` without its `.npy` (never listed):
                # a listed chunk that does not read is damaged, or was merged away meanwhile.
                self.bad.append(name)
                continue
            if arr.ndim != 2 or len(keys) != KEY_BYTES * arr.shape[0] or arr.dtype != np.float16:
                self.bad.append(name)
                continue
            c = len(self.arrays)
            self.names.append(stem)
            self.arrays.append(arr)
            # Rows that are not numbers (a garbled file) count as absent: embedded again.
            ok = np.isfinite(arr).all(axis=1) if arr.shape[0] else np.zeros(0, dtype=bool)
            self.garbled += int(arr.shape[0] - ok.sum())
            for r in range(arr.shape[0]):
                if ok[r]:
                    self.row_of.setdefault(keys[r * KEY_BYTES:(r + 1) * KEY_BYTES], (c, r))

    def next_name(self) -> str:
        nums = [int(n[1:]) for n in self.names]
        try:
            nums += [int(m.group(1)) for n in os.listdir(self.folder) if (m := _CHUNK.match(n))]
        except OSError:
            pass
        return f"c{(max(nums) + 1 if nums else 1):06d}"

    def add(self, keys: list[bytes], vecs) -> None:
        """Write one chunk (hashes first, then rows: a chunk counts only when both agree)."""
        import io

        import numpy as np

        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self.next_name()
        _write_atomic(self.folder / f"{stem}.key", b"".join(keys))
        buf = io.BytesIO()
        np.save(buf, np.asarray(vecs, dtype=np.float16))
        _write_atomic(self.folder / f"{stem}.npy", buf.getvalue())
        arr = np.load(self.folder / f"{stem}.npy", mmap_mode="r")
        c = len(self.arrays)
        self.names.append(stem)
        self.arrays.append(arr)
        for r, k in enumerate(keys):
            self.row_of.setdefault(k, (c, r))

    def vector(self, key: bytes):
        c, r = self.row_of[key]
        return self.arrays[c][r]


def read_map(folder: Path, gen_name: str, suffix: str = "map") -> bytes | None:
    try:
        return (folder / f"{gen_name}.{suffix}").read_bytes()
    except OSError:
        return None


# --- reading -------------------------------------------------------------------------------


class View:
    """The vectors of one generation's passages, by passage number, for exact dot products.

    The rows are kept as one float32 matrix in memory (passage number -> row; zeros where a
    passage has no vector): numpy has no float16 BLAS, and converting the float16 memory maps
    at every query cost 5-10x the dot products themselves (bench/semantic.py --no-embed). 10,000
    passages x 384 dimensions take 15 MB, 75,000 take 115 MB."""

    def __init__(self, folder: Path, gen_name: str, stamp, suffix: str = "map"):
        import numpy as np

        self.stamp = stamp
        self.partial = suffix == PARTIAL    # being built: passages without a vector are expected
        self.loaded = time.monotonic()
        self.graph = None               # kb.index.ann.Graph above APPROX_OVER, once built
        raw = read_map(folder, gen_name, suffix)
        if raw is None or len(raw) % KEY_BYTES:
            raise FileNotFoundError(gen_name)
        chunks = Chunks(folder)
        n = len(raw) // KEY_BYTES
        empty = bytes(KEY_BYTES)
        offsets = np.cumsum([0] + [a.shape[0] for a in chunks.arrays])
        rows = np.full(n, -1, dtype=np.int64)
        wanted = 0
        for d in range(n):
            k = raw[d * KEY_BYTES:(d + 1) * KEY_BYTES]
            if k == empty:
                continue
            wanted += 1
            if k in chunks.row_of:
                c, r = chunks.row_of[k]
                rows[d] = offsets[c] + r
        self.rows, self.size = rows, n
        self.have = rows >= 0
        self.wanted = wanted                # live passages (those a vector is made for)
        self.missing = wanted - int(self.have.sum())
        self.bad_chunks = list(chunks.bad)
        dim = chunks.arrays[0].shape[1] if chunks.arrays else 0
        self.matrix = np.zeros((n, dim), dtype=np.float32)
        every = offsets[-1] if len(offsets) else 0
        if every and self.have.any():
            # Chunk by chunk, only the rows this generation uses.
            for c, a in enumerate(chunks.arrays):
                lo, hi = offsets[c], offsets[c + 1]
                sel = self.have & (rows >= lo) & (rows < hi)
                if sel.any():
                    self.matrix[sel] = np.asarray(a[rows[sel] - lo], dtype=np.float32)
        bad = ~np.isfinite(self.matrix).all(axis=1)
        if bad.any():                       # garbled rows (a damaged file): as if missing
            self.matrix[bad] = 0.0
            self.missing += int((bad & self.have).sum())
            self.have &= ~bad
        if not self.partial:
            self.graph = ann.open_graph(folder, gen_name, n)

    @property
    def with_vectors(self) -> int:
        return int(self.have.sum())

    def scores(self, qvec):
        """Cosine of the query with every passage (by number); -inf for passages without a vector."""
        import numpy as np

        q = np.asarray(qvec, dtype=np.float32)
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        # einsum, not `@`: one thread. OpenBLAS's two threads wait for each other on a loaded
        # 2-core machine (10,000 passages: 10-16 ms p50 against 1.5; docs/ranking.md).
        out = np.einsum("ij,j->i", self.matrix, q)
        out[~self.have] = -np.inf
        return out

    def mean_of(self, nums) -> "object | None":
        """The unit-length mean of the vectors of passages `nums` (a document's vector), or None
        when none of them has one."""
        import numpy as np

        nums = np.asarray([n for n in nums if 0 <= n < self.size and self.have[n]], dtype=np.int64)
        if not len(nums):
            return None
        v = self.matrix[nums].mean(axis=0)
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else None


def nearest(v: View, qvec, limit: int, allowed=None, masked=None):
    """(passage numbers, their cosines) of the `limit` passages closest to `qvec`, best first,
    among `allowed` (numbers; None: all) less `masked` (numbers: filters' exclusions, hidden
    documents). Scores are always exact dot products; which rows are scored (bench/ann.py):

    - a filter that allows under a tenth of the passages: its rows alone;
    - a generation with a graph (kb.index.ann), unfiltered or a filter allowing at least half:
      the graph's candidates (OVERFETCH times what is wanted, 1/share more under a filter),
      filtered exactly; if too few survive, every row, as below;
    - else every row (one pass over the matrix in memory order beats gathering a third of
      it, and a graph asked for 1/share the candidates), then the filters, a partial sort."""
    import numpy as np

    q = np.asarray(qvec, dtype=np.float32)
    if not v.size or not v.have.any():      # a build that has not written its first chunk yet
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    out_mask = np.zeros(v.size, dtype=bool)
    if masked:
        m = np.fromiter(masked, dtype=np.int64)
        out_mask[m[(m >= 0) & (m < v.size)]] = True
    rows = None
    share = 1.0             # of the passages the filter allows
    if allowed is not None:
        a = np.fromiter(allowed, dtype=np.int64)
        keep = np.zeros(v.size, dtype=bool)
        keep[a[(a >= 0) & (a < v.size)]] = True
        share = float(keep.sum()) / v.size
        if share < 0.1:
            rows = np.flatnonzero(keep)
        out_mask |= ~keep
    if rows is None and v.graph is not None and share >= 0.5:
        cand = v.graph.candidates(q, int(max(limit * ann.OVERFETCH, ann.MIN_FETCH) / share))
        cand = cand[v.have[cand] & ~out_mask[cand]]
        if len(cand) >= limit:
            rows = cand
    if rows is not None:
        rows = rows[v.have[rows] & ~out_mask[rows]]
        scores = np.einsum("ij,j->i", v.matrix[rows], q) if len(rows) else np.zeros(0, dtype=np.float32)
        k = min(limit, len(rows))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return rows[top], scores[top]
    scores = v.scores(q)
    scores[out_mask] = -np.inf
    k = min(limit, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]


_views: dict[tuple, View] = {}
_views_lock = threading.Lock()


def view(index_dir: Path, gen: Path, model_key: str, partial: bool = False) -> View | None:
    """The vectors of generation `gen`, or None while they are not built (search is then lexical).
    `partial`: while they are being built, those embedded so far (View.partial), if any.

    Kept until the generation's map changes (one stat per query)."""
    folder = model_dir(index_dir, model_key)
    try:
        st = os.stat(folder / f"{gen.name}.map")
    except OSError:
        return _partial_view(index_dir, folder, gen, model_key) if partial else None
    try:
        g = os.stat(ann.path_for(folder, gen.name))
        graph = (g.st_ino, g.st_mtime_ns, g.st_size)
    except OSError:
        graph = None            # none (yet): exact; the graph joins when the builder writes it
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size, graph)
    key = (str(Path(index_dir).resolve()), gen.name, model_key)
    with _views_lock:
        v = _views.get(key)
        if v is not None and v.stamp == stamp:
            return v if isinstance(v, View) else None
        if isinstance(v, View) and v.stamp[:3] == stamp[:3]:
            # Only the graph is new (the builder writes it after the map): the matrix stays.
            v.graph = ann.open_graph(folder, gen.name, v.size)
            v.stamp = stamp
            return v
        why = None
        for attempt in range(2):      # a builder may merge chunks while they are listed
            try:
                v = View(folder, gen.name, stamp)
            except (OSError, ValueError) as e:
                v, why = None, f"{type(e).__name__}: {e}"
                continue
            if not v.missing:
                break
            why = damage_line(v)
        if v is None or v.missing:
            # Damaged (a chunk that does not read, garbled rows): search stays lexical, said in
            # one line; `kb check` names the files, the next `kb index` embeds them again.
            log.warning("векторы смысла %s повреждены (%s): поиск только по словам; выполните `kb index` "
                        "(passage vectors damaged)", folder, why)
            v = _Damaged(stamp, why)
        for k in [k for k in _views if k[0] == key[0] and k[2] == model_key]:
            del _views[k]
        _views[key] = v
        return v if isinstance(v, View) else None


_partials: dict[tuple, View] = {}


def _partial_view(index_dir: Path, folder: Path, gen: Path, model_key: str) -> View | None:
    """The vectors embedded so far for generation `gen` (its `.partial` map), or None when its
    build has not started. Read again when chunks have landed, at most every PARTIAL_RELOAD s."""
    try:
        st = os.stat(folder / f"{gen.name}.{PARTIAL}")
        d = os.stat(folder)
    except OSError:
        return None
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size, d.st_mtime_ns)
    key = (str(Path(index_dir).resolve()), gen.name, model_key)
    with _views_lock:
        v = _partials.get(key)
        if v is not None and (v.stamp == stamp or (v.stamp[:3] == stamp[:3]
                                                   and time.monotonic() - v.loaded < PARTIAL_RELOAD)):
            return v
        try:
            v = View(folder, gen.name, stamp, suffix=PARTIAL)
        except (OSError, ValueError):
            return None         # a builder merging or rewriting meanwhile: lexical this time
        for k in [k for k in _partials if k[0] == key[0] and k[2] == model_key]:
            del _partials[k]
        _partials[key] = v
        return v


class _Damaged:
    """A generation's vectors found damaged, remembered until its map changes."""

    def __init__(self, stamp, why):
        self.stamp, self.why = stamp, why


def damage_line(v: View) -> str:
    parts = [f"нет векторов у {v.missing} фрагментов"]
    if v.bad_chunks:
        parts.append("не читаются: " + ", ".join(v.bad_chunks[:3]) + (" …" if len(v.bad_chunks) > 3 else ""))
    return "; ".join(parts)


def status(index_dir: Path, model_key: str) -> dict:
    """{"ready": the current generation has its vectors, "done", "total"} for `kb index` and the UI."""
    gen = store.current(index_dir)
    folder = model_dir(index_dir, model_key)
    ready = gen is not None and (folder / f"{gen.name}.map").exists()
    try:
        prog = json.loads((folder / "progress.json").read_text(encoding="utf-8"))
        age = time.time() - (folder / "progress.json").stat().st_mtime
    except (OSError, ValueError):
        prog, age = {}, 0.0
    if gen is None or prog.get("gen") != gen.name:
        prog = {}           # numbers of an older generation: the builder has not started on this one
    done, total, left = prog.get("done", 0), prog.get("total", 0), prog.get("minutes_left")
    if age > STALE_PROGRESS:
        left = None         # the builder stopped (a builder writes after each chunk): no estimate
    elif isinstance(left, (int, float)):
        left = max(0.0, left - age / 60)     # estimated when the file was written
    return {"ready": ready, "done": done if isinstance(done, int) else 0,
            "total": total if isinstance(total, int) else 0,
            "minutes_left": left if isinstance(left, (int, float)) and not ready else None}


def health(index_dir: Path, model_key: str) -> dict:
    """The state of the vectors for `kb check`, read without changing anything:

    {"model", "ready", "building": {"done", "total"} or None, "passages" (of the published
    generation), "with_vectors", "stored" (rows in the chunks), "stale" (stored rows no kept
    generation uses, dropped at the next merge), "old_maps" (maps of generations that are gone),
    "problems": [one line each]}."""
    index_dir = Path(index_dir)
    folder = model_dir(index_dir, model_key)
    gen = store.current(index_dir)
    st = status(index_dir, model_key)
    out = {"model": model_key, "ready": st["ready"], "building": None, "passages": None, "with_vectors": 0,
           "stored": 0, "stale": 0, "old_maps": 0, "problems": []}
    if not st["ready"] and st["total"]:
        out["building"] = {"done": st["done"], "total": st["total"], "minutes_left": st["minutes_left"]}
    if not folder.is_dir():
        return out
    chunks = Chunks(folder)
    out["stored"] = len(chunks.row_of)
    out["problems"] += [f"векторы: файл {folder / n} не читается" for n in chunks.bad]
    if chunks.garbled:
        out["problems"].append(f"векторы: {chunks.garbled} строк в файлах {folder} — не числа (испорчены)")
    kept = {d.name for _, d in store.generations(index_dir)}
    used: set[bytes] = set()
    empty = bytes(KEY_BYTES)
    for f in sorted(folder.glob("g*.map")):
        if f.stem not in kept:
            out["old_maps"] += 1
            continue
        raw = f.read_bytes()
        if len(raw) % KEY_BYTES:
            out["problems"].append(f"векторы: карта {f} обрезана ({len(raw)} байт)")
            continue
        keys = [raw[i:i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES)]
        used.update(k for k in keys if k != empty)
        if gen is not None and f.stem == gen.name:
            out["passages"] = len(keys)
            live = [k for k in keys if k != empty]
            out["with_text"] = len(live)        # the passages a vector is made for, as `kb index` counts
            out["with_vectors"] = sum(1 for k in live if k in chunks.row_of)
            lost = len(live) - out["with_vectors"]
            if lost:
                out["problems"].append(f"векторы: у {lost} фрагментов из {len(live)} нет векторов "
                                       f"(повреждены или удалены файлы в {folder})")
    # While a build runs, the rows it has written belong to no map yet (the generation's map is
    # written at its end): they are its progress, not stale rows (kb check said "stale" of a
    # brand-new index, more and more of them).
    out["stale"] = 0 if out["building"] else sum(1 for k in chunks.row_of if k not in used)
    out["graph"] = _graph_state(folder, gen, out) if st["ready"] else None
    return out


def _graph_state(folder: Path, gen: Path, h: dict) -> str | None:
    """None (not needed: exact search), "ready", "due" (needed, not built yet: search is exact
    meanwhile) or "damaged" (does not read: exact until `kb index` builds it again)."""
    if h["with_vectors"] <= ann.threshold() or not ann.available():
        return None
    p = ann.path_for(folder, gen.name)
    if not p.exists():
        return "due"
    return "ready" if ann.open_graph(folder, gen.name, h["passages"] or 0) is not None else "damaged"


# --- building ------------------------------------------------------------------------------


class BuilderLock:
    """One vector builder per index; a second is told so at once (it is not an error)."""

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / LOCK
        self._fd: int | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise Busy() from None
        self._fd = fd
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Busy(KbError):
    def __init__(self):
        super().__init__("векторы этого индекса уже строит другой процесс kb (another kb builds the vectors)")


def _passages(gen: Path) -> tuple[int, list[tuple[int, str]]]:
    """(passage numbers in the generation, [(number, text to embed)] of the live passages)."""
    from kb.analysis.embed import passage_text
    from kb.index import _engine

    ix = _engine.open_dir(gen)
    with ix.reader() as r:
        n = r.doc_count_all()
        live = [(d, passage_text(f.get("title", ""), f.get("heading", "") or "", f.get("body", "")))
                for d, f in r.iter_docs()]
    return n, live


def _work(text: str) -> float:
    """What embedding `text` costs, in characters: its length, plus attention, quadratic in it.
    Per character, the default engine spent 1.15x (wall clock, 2 threads, a quiet machine) to
    1.5x (CPU seconds) on 2,400-character passages what it spent on 300-character ones
    (bench/eta.py): n * (1 + n/5000) fits the loaded case, and errs long, the safe side, when
    quiet. After a tenth of five builds of bench/eta.py the time left so counted was 1-17% off
    in CPU seconds (under 5% in four), by plain characters 7-24%, by passages 33-47%. Tokens predicted no better
    (Russian and Kyrgyz alike run 4.5-5 characters a token) and would tokenize every passage twice."""
    n = len(text)
    return n * (1 + n / ATTENTION_CHARS)


def build(index_dir: Path, embedder, progress=None, should_stop=None, say=None) -> dict:
    """Embed what the published generation's passages still lack, then publish its map.

    `progress(done, total, seconds_left)` is called as passages are embedded (seconds_left:
    None until the first are); `should_stop()` ends the work
    early (Ctrl-C is the other way): what was embedded stays. Follows a new generation
    published meanwhile. `say(line)` is told of the approximate index being built (10-70 s at
    75,000-300,000 passages). Returns {"gen", "embedded", "total", "ready", "graph"}."""
    import numpy as np

    index_dir = Path(index_dir)
    embedded = reused = 0
    shared = None
    with BuilderLock(index_dir):
        folder = model_dir(index_dir, embedder.key)
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            stamp = store.pointer_stamp(index_dir)
            gen = store.current(index_dir)
            if gen is None:
                return {"gen": None, "embedded": embedded, "total": 0, "ready": False}
            try:
                size, live = _passages(gen)
            except Exception as e:        # a damaged index: `kb index` repairs it first
                if store.pointer_stamp(index_dir) != stamp:
                    continue
                raise KbError(f"векторы не построены: индекс не читается ({type(e).__name__}); "
                              "выполните `kb index`") from None
            chunks = Chunks(folder)
            keys = {d: key_of(t) for d, t in live}
            todo: dict[bytes, str] = {}
            for d, t in live:
                if keys[d] not in chunks.row_of:
                    todo.setdefault(keys[d], t)
            # Vectors another index of this user embedded already (a rebuild, a copy): taken, not embedded.
            if shared is None:
                shared = vcache.SharedVectors(embedder.key, int(getattr(embedder, "dim", 0) or 0))
            known = shared.get(list(todo))
            if known:
                got = list(known)
                for i in range(0, len(got), FLUSH * 32):
                    part = got[i:i + FLUSH * 32]
                    chunks.add(part, np.stack([known[k] for k in part]))
                    for k in part:
                        todo.pop(k, None)
                reused += len(got)
            total, done = len(live), len(live) - len(todo)
            empty = bytes(KEY_BYTES)
            by_num = [empty] * size
            for d, k in keys.items():
                by_num[d] = k
            data = b"".join(by_num)
            if todo and read_map(folder, gen.name, PARTIAL) != data:
                # Search by meaning covers what is embedded so far (kb.search.fill).
                _write_atomic(folder / f"{gen.name}.{PARTIAL}", data)
            prog_file = folder / "progress.json"
            # The time left for kb check, the results page and the bar, at this run's pace in
            # units of work (_work), not passages: a collection's passages are not alike in
            # length along the way (a code's short articles first, a decree's long paragraphs
            # last), so a rate of passages measured early promised half the time left.
            pace = Pace(sum(_work(t) for t in todo.values()))

            def report():
                left = pace.seconds_left()
                _write_atomic(prog_file, json.dumps({"gen": gen.name, "done": done, "total": total,
                                                     "minutes_left": None if left is None else round(left / 60, 2)
                                                     }).encode())
                if progress:
                    progress(done, total, left)

            report()
            items = list(todo.items())
            buf_k, buf_v = [], []
            moved = False
            step = int(getattr(embedder, "batch", 0) or BATCH)
            for i in range(0, len(items), step):
                if should_stop and should_stop():
                    break
                part = items[i:i + step]
                # Passages a search embedded meanwhile (kb.search.fill) are in the shared cache.
                meanwhile = shared.get([k for k, _ in part]) if i else {}
                if meanwhile:
                    buf_k += list(meanwhile)
                    buf_v.append(np.stack([np.asarray(v, dtype=np.float32) for v in meanwhile.values()]))
                    reused += len(meanwhile)
                    pace.skipped(sum(_work(t) for k, t in part if k in meanwhile))
                    part = [(k, t) for k, t in part if k not in meanwhile]
                if part:
                    vecs = embedder.passages([t for _, t in part])
                    buf_k += [k for k, _ in part]
                    buf_v.append(vecs)
                    embedded += len(part)
                    pace.did(sum(_work(t) for _, t in part))
                done += len(part) + len(meanwhile)
                if len(buf_k) >= FLUSH:
                    flushed = np.concatenate(buf_v)
                    chunks.add(buf_k, flushed)
                    shared.put(buf_k, flushed)
                    buf_k, buf_v = [], []
                    report()
                    if store.pointer_stamp(index_dir) != stamp:
                        moved = True        # a newer generation: embed what it needs instead
                        break
            if buf_k:
                flushed = np.concatenate(buf_v)
                chunks.add(buf_k, flushed)
                shared.put(buf_k, flushed)
                report()
            if moved:
                continue
            if done < total:                # stopped early
                return {"gen": gen.name, "embedded": embedded, "total": total, "ready": False}
            if store.pointer_stamp(index_dir) != stamp:
                continue
            # Nothing embedded, nothing damaged, the same map: it stays as it is, so that
            # readers keep their matrix (~1 s to load at 75,000 passages). A new map (new
            # mtime) tells them to read the chunks again.
            if todo or chunks.bad or chunks.garbled or read_map(folder, gen.name) != data:
                _write_atomic(folder / f"{gen.name}.map", data)
            (folder / f"{gen.name}.{PARTIAL}").unlink(missing_ok=True)
            graph = _graph(folder, gen.name, size, keys, chunks, say)
            _tidy(index_dir, folder, chunks, force=bool(chunks.bad or chunks.garbled))
            return {"gen": gen.name, "embedded": embedded, "total": total, "ready": True, "graph": graph,
                    **({"reused": reused} if reused else {})}


def _graph(folder: Path, gen_name: str, size: int, keys: dict[int, bytes], chunks: Chunks, say=None) -> bool:
    """The generation's approximate index (kb.index.ann), built when it has more than
    APPROX_OVER vectors and none that reads; after the map, so search is exact meanwhile.
    True when the generation has one."""
    import numpy as np

    live = [(d, k) for d, k in keys.items() if k in chunks.row_of]
    path = ann.path_for(folder, gen_name)
    if len(live) <= ann.threshold() or not ann.available():
        path.unlink(missing_ok=True)
        return False
    if ann.open_graph(folder, gen_name, size) is not None:
        return True
    if say:
        say(f"строится приближённый индекс векторов (HNSW) для {len(live)} фрагментов; поиск по смыслу "
            "пока точный")
    rows = np.stack([np.asarray(chunks.vector(k), dtype=np.float32) for _, k in live])
    ann.build(path, [d for d, _ in live], rows)
    return True


def _tidy(index_dir: Path, folder: Path, chunks: Chunks, force: bool = False) -> None:
    """Drop maps of generations that are gone; merge many chunks into one, keeping only the
    vectors a kept map refers to (a kill in between leaves duplicates, which readers ignore).
    `force`: merge anyway, to drop damaged chunks and garbled rows (their passages were just
    embedded again)."""
    import numpy as np

    kept_gens = {d.name for _, d in store.generations(index_dir)}
    maps = []
    for f in folder.glob("g*.map"):
        if f.stem in kept_gens:
            maps.append(f)
        else:
            f.unlink(missing_ok=True)
    for f in folder.glob(f"g*.{PARTIAL}"):
        if f.stem not in kept_gens or (folder / f"{f.stem}.map").exists():
            f.unlink(missing_ok=True)
    for f in folder.glob(f"g*{ann.SUFFIX}"):
        if f.name[:-len(ann.SUFFIX)] not in kept_gens:
            f.unlink(missing_ok=True)
    for f in folder.glob("*.tmp"):
        f.unlink(missing_ok=True)
    if len(chunks.names) <= COMPACT_OVER and not force:
        return
    wanted: dict[bytes, None] = {}
    for f in maps:
        raw = f.read_bytes()
        for i in range(0, len(raw), KEY_BYTES):
            k = raw[i:i + KEY_BYTES]
            if k in chunks.row_of:
                wanted.setdefault(k)
    old = list(chunks.names) + [n[:-4] for n in chunks.bad]
    keys = list(wanted)
    if keys:
        vecs = np.stack([np.asarray(chunks.vector(k), dtype=np.float16) for k in keys])
        Chunks(folder).add(keys, vecs)
    for stem in old:
        (folder / f"{stem}.npy").unlink(missing_ok=True)
        (folder / f"{stem}.key").unlink(missing_ok=True)


def remove(index_dir: Path) -> None:
    """Forget every stored vector (tests, and a user who turns the layer off for good)."""
    shutil.rmtree(Path(index_dir) / VECTORS, ignore_errors=True)
