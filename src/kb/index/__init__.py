"""The index stage: the only place that knows whoosh.

Public face:
    update_index(corpus, index_dir)  -> Report       (`kb index`)
    write_passages(index_dir, recs)                   (throwaway indexes: `kb eval`)
    reader(index_dir)                -> Reader        (search, passages of a document, spelling)
    similar_to_doc(rd, doc_id), similar_to_text(rd, text) -> [Similar]   (more like this)
    story_passages(rd, concepts, filters)  -> RawResults  (the passages a client's story touches)
    vector_status(index_dir, key)    -> {"ready", "done", "total"}   (passage vectors, kb.index.vectors)
    segment_count(index_dir)         -> int           (segments of the published index: bench/updates.py)
    Manifest                                          (what is indexed, with metadata)
    querymodel                                        (the engine-neutral query the search stage builds)
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from kb.index import querymodel
from kb.index._engine import RawHit, RawResults, Reader, exists, forget_readers, reader, segment_count
from kb.index._more import Similar, similar_to_doc, similar_to_text, story_passages
from kb.index.manifest import Entry, Manifest, manifest_stamp
from kb.index.vectors import status as vector_status

__all__ = [
    "update_index", "write_passages", "edit", "reader", "Reader", "RawHit", "RawResults", "Report",
    "Manifest", "Entry", "ExtractCache", "querymodel", "exists", "forget_readers", "is_stale",
    "Similar", "similar_to_doc", "similar_to_text", "story_passages", "verify", "manifest_stamp", "vector_status",
    "segment_count",
]


_BUILD = ("ExtractCache", "Report", "is_stale", "update_index", "verify")


def __getattr__(name: str):
    # Building (extraction, enrichment, MinHash of copies) is imported when first used: a
    # search from the command line never needs it, and it was a fifth of its start-up.
    if name in _BUILD:
        from kb.index import build

        return getattr(build, name)
    raise AttributeError(f"module 'kb.index' has no attribute {name!r}")


@contextmanager
def edit(index_dir: Path):
    """A writer on a new generation of the published index, published when the block ends
    without an error (as `kb index` does): for tests and tools that change passages directly."""
    from kb.index import _engine, store

    gen = store.new_generation(Path(index_dir), store.current(Path(index_dir)))
    try:
        w = _engine.Writer(_engine.open_dir(gen))
        try:
            yield w
            w.commit()
        except BaseException:
            w.cancel()
            raise
        store.publish(Path(index_dir), gen, _engine.passage_count(gen))
    except BaseException:
        store.discard(gen)
        raise


def write_passages(index_dir: Path, records: Iterable[dict]) -> int:
    """Create a fresh index holding exactly these passage records (keys as in the schema)."""
    from kb.index import _engine, store

    gen = store.new_generation(Path(index_dir))
    try:
        w = _engine.Writer(_engine.create(gen), bulk=True)
        n = 0
        try:
            for rec in records:
                rec = dict(rec)
                rec.setdefault("exact", rec.get("body", ""))
                rec.setdefault("pid", f"{rec.get('doc_id', '')}:{rec.get('ordinal', n)}")
                w.add_passage(rec)
                n += 1
            w.commit()
        except BaseException:
            w.cancel()
            raise
        store.publish(Path(index_dir), gen, n)
    except BaseException:
        store.discard(gen)
        raise
    forget_readers()
    return n
