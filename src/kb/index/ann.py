"""An approximate nearest-neighbour index (HNSW, usearch) over a large generation's vectors.

Exact dot products cost time in proportion to the collection: a few ms at 10,000 passages,
20-30 ms at 75,000, ~100 ms at 300,000 on the 2-core machine (docs/ranking.md). Above
APPROX_OVER passages with vectors the builder also writes a graph for the generation
(`g000007.hnsw` beside its map, written before the map, so that a reader finds both), and
search asks the graph for many times more candidates than it needs, then scores those
exactly from the generation's matrix and applies the filters and access masks exactly, as for
the exact path. Where too few candidates survive a filter, search falls back to the exact path:
a filter never loses a passage to the approximation.

The graph holds float16 rows keyed by passage number and is memory-mapped (`view=True`), so
a reader pays for the pages it touches. A file that does not read means exact search (logged
once); keys that are not passage numbers of the generation are dropped, and every score shown
is the exact one.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("kb.index")

SUFFIX = ".hnsw"
# Passages with vectors above which a graph is built, chosen by bench/ann.py (docs/ranking.md,
# "Approximate retrieval"): every row costs ~0.12 ms per 1,000 passages on a quiet core (9-10 ms
# at 75,000, 2-3x that on a loaded one), the graph ~5-8 ms from 75,000 to 300,000 with 0.99+ of
# the exact top 10 and 10-70 s to build per generation. Below 50,000 exact is as fast and
# exact. KB_ANN_OVER overrides it (tests, benches; 0: always).
APPROX_OVER = 50_000
CONNECTIVITY = 16       # edges a node per layer (HNSW's M; 32 gained ~0.001 of recall)
EXPANSION_ADD = 128     # candidates while inserting (efConstruction)
# Candidates asked of the graph: OVERFETCH per passage wanted, at least MIN_FETCH, through a
# search list of at least EXPANSION_SEARCH. On real e5 vectors (bench/ann.py) ef 200 found
# 0.85 of the exact top 10 at 150,000 passages, ef 1,600 with 800 candidates 0.997 (300,000:
# 0.989) in 5-7 ms, against 20 / 39 ms for every row.
OVERFETCH = 16
MIN_FETCH = 800
EXPANSION_SEARCH = 1600


def threshold() -> int:
    raw = os.environ.get("KB_ANN_OVER", "").strip()
    return int(raw) if raw.isdigit() else APPROX_OVER


def path_for(folder: Path, gen_name: str) -> Path:
    return Path(folder) / f"{gen_name}{SUFFIX}"


def available() -> bool:
    try:
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


def build(path: Path, nums, rows, threads: int | None = None) -> None:
    """Write the graph of `rows` (unit vectors) keyed by passage numbers `nums` to `path`
    atomically (a temporary name, then renamed: a kill leaves no half graph)."""
    import numpy as np
    from usearch.index import Index

    rows = np.asarray(rows, dtype=np.float32)
    index = Index(ndim=rows.shape[1], metric="ip", dtype="f16", connectivity=CONNECTIVITY,
                  expansion_add=EXPANSION_ADD)
    index.add(np.asarray(nums, dtype=np.uint64), rows, threads=threads or os.cpu_count() or 1)
    tmp = path.with_name(path.name + ".tmp")
    index.save(str(tmp))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Graph:
    """A generation's graph opened for search (memory-mapped)."""

    def __init__(self, path: Path, size: int):
        from usearch.index import Index

        index = Index.restore(str(path), view=True)
        if index is None:
            raise ValueError(f"{path}: not a usearch index")
        self.index, self.size = index, size
        # The search list is a setting of the index, not of a search: set and searched at once
        # (the view, and so this graph, is shared by every reader of the generation).
        self._lock = threading.Lock()

    def candidates(self, qvec, count: int):
        """Passage numbers of up to `count` approximate neighbours of `qvec`, best first."""
        import numpy as np

        count = max(1, min(count, len(self.index)))
        with self._lock:
            self.index.expansion_search = max(EXPANSION_SEARCH, 2 * count)
            found = self.index.search(np.asarray(qvec, dtype=np.float32), count)
        keys = np.asarray(found.keys, dtype=np.int64)
        return keys[(keys >= 0) & (keys < self.size)]


def open_graph(folder: Path, gen_name: str, size: int) -> Graph | None:
    """The generation's graph, or None when it has none or it does not read (exact search)."""
    p = path_for(folder, gen_name)
    if not p.exists():
        return None
    try:
        return Graph(p, size)
    except (ImportError, OSError, ValueError, RuntimeError) as e:
        log.warning("приближённый индекс векторов %s не читается (%s): поиск по смыслу точный, "
                    "`kb index` построит его заново (approximate index unreadable)", p, e)
        return None
