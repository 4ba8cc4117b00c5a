"""Word vectors (kb.analysis.vectors) and the second look they give plain-words queries."""

from __future__ import annotations


import pytest

from kb.analysis import vectors as V
from kb.index import RawHit, RawResults
from kb.index import querymodel as qm
from kb.search import rerank as R
from kb.search.query import parse


def test_words_are_spelled_as_navec_spells_them():
    assert V.words("Жильё и социально-экономических, ТСЖ 2019!") == [
        "жилье", "и", "социально-экономических", "тсж", "2019"]


def test_vectors_can_be_turned_off_or_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_VECTORS", "off")
    assert V.configured_path() is None and V.word_vectors() is None
    monkeypatch.setenv("KB_VECTORS", str(tmp_path / "nothing.tar"))
    assert V.word_vectors() is None
    broken = tmp_path / "broken.tar"
    broken.write_bytes(b"not a tar file")
    monkeypatch.setenv("KB_VECTORS", str(broken))
    assert V.word_vectors() is None          # no exception: search goes on without them


def test_related_words_are_closer_than_unrelated(vectors):
    housing, tractor = vectors.best_match(
        ["квартира"], ["жилое помещение в многоквартирном доме", "трактор пашет поле весной"])
    assert housing > tractor + 0.1
    # Words the vectors do not know count for nothing, and empty input is harmless.
    assert vectors.best_match(["ыыыщщщ"], ["квартира"]) == [0.0]
    assert vectors.best_match(["квартира"], ["", "ыыыщщщ"]) == [0.0, 0.0]


def _hit(n: int, score: float, body: str) -> RawHit:
    return RawHit(docnum=n, score=score, doc_id=f"d{n}", _fields={"title": "", "body": body})


def _raw(*hits: RawHit) -> RawResults:
    return RawResults(hits=list(hits), doc_counts={h.doc_id: 1 for h in hits}, total=len(hits))


BODIES = ["Трактор пашет поле весной, урожай убирают комбайном.",
          "Товарищество собственников жилья управляет многоквартирным домом."]


def test_plain_query_closer_passage_moves_up(vectors):
    node = parse("как создать ТСЖ").node
    raw = _raw(_hit(1, 10.0, BODIES[0]), _hit(2, 9.5, BODIES[1]), _hit(3, 4.0, BODIES[0]))
    out = R.with_vectors(node, ["как", "создать", "ТСЖ"], raw, depth=2)
    assert [h.docnum for h in out.hits] == [2, 1, 3]
    # A passage only gains; beyond the depth nothing moves, so scores stay in order.
    assert out.hits[0].score > 9.5 and out.hits[1].score >= 10.0
    assert out.hits[2].score == 4.0
    assert [h.score for h in out.hits] == sorted((h.score for h in out.hits), reverse=True)
    assert out.total == raw.total and out.doc_counts == raw.doc_counts


@pytest.mark.parametrize("query", ['"товарищество собственников"', "!ТСЖ", "ТСЖ И дом", "тип:другое ТСЖ",
                                   "ТСЖ -трактор", "тсж*"])
def test_explicit_syntax_is_left_as_asked(vectors, query):
    raw = _raw(_hit(1, 10.0, BODIES[0]), _hit(2, 9.5, BODIES[1]))
    assert R.with_vectors(parse(query).node, ["ТСЖ"], raw) is raw


def test_without_vectors_nothing_changes(monkeypatch):
    monkeypatch.setenv("KB_VECTORS", "off")
    raw = _raw(_hit(1, 10.0, BODIES[0]), _hit(2, 9.5, BODIES[1]))
    assert R.with_vectors(parse("как создать ТСЖ").node, ["ТСЖ"], raw) is raw


def test_only_content_words_are_compared():
    assert R.content_words(["как", "создать", "ТСЖ", "в", "2019", "доме?"]) == ["создать", "тсж", "доме"]


def test_lexicon_expansions_still_count_as_plain_words():
    node = parse("взносы на капремонт").node        # the lexicon adds "капитальный ремонт"
    added = [n for n in node.nodes if isinstance(n, qm.Any) and n.expansion]
    assert added and any(isinstance(n, qm.Phrase) for n in added[0].nodes)
    assert R._plain(node)


def test_threads_comparing_at_once_get_the_same_answers(vectors, monkeypatch):
    import threading

    monkeypatch.setattr(V, "MAX_ROWS", 300)        # resets of the decoded-vector cache happen too
    texts = [" ".join(f"{w}{i}" for w in ("дом", "кот", "суд")) + f" жилье аренда номер{i} {BODIES[i % 2]}"
             for i in range(40)]
    queries = [["квартира"], ["трактор", "поле"], ["суд", "решение"], ["товарищество"]]
    expected = {tuple(q): vectors.best_match(q, texts) for q in queries}
    errors = []

    def work(q):
        for _ in range(5):
            if vectors.best_match(q, texts) != expected[tuple(q)]:
                errors.append(q)

    threads = [threading.Thread(target=work, args=(queries[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_warm_up_loads_what_the_first_query_needs(vectors, tmp_path):
    from kb.search import warm_up

    warm_up(tmp_path / "no-index-yet")               # nothing to open yet: no error
    assert V._loaded.get(V.configured_path()) is vectors


def test_own_reader_decodes_as_navec(vectors):
    # kb reads navec's file itself to skip navec's precomputations (0.4 s of a cold search):
    # the vocabulary and every decoded unit vector must be navec's own.
    import numpy as np
    from navec import Navec

    nv = Navec.load(str(V.configured_path()))
    # Every word of navec's vocabulary, looked up through kb's unpacked cache (kb.analysis.vectors).
    assert all(vectors._ids.get(w) == i for w, i in nv.vocab.word_ids.items())
    ids = [nv.vocab[w] for w in ("суд", "выселение", "квартира", "аренда", "<unk>")]
    mine = vectors._matrix(ids)
    theirs = np.stack([nv.pq[i] for i in ids]) / np.maximum(nv.pq.norm[ids], 1e-9)[:, None]
    assert np.array_equal(mine, theirs)


def test_a_damaged_vectors_file_turns_the_rerank_off(monkeypatch, tmp_path):
    bad = tmp_path / "navec.tar"
    bad.write_bytes(b"not a tar")
    monkeypatch.setenv("KB_VECTORS", str(bad))
    try:
        assert V.word_vectors() is None
    finally:
        V._loaded.pop(bad, None)


@pytest.fixture
def navec_copy(vectors, tmp_path):
    """A copy of the installed navec file in a folder of its own, without its cache."""
    import shutil

    path = tmp_path / V.FILE_NAME
    shutil.copyfile(V.configured_path(), path)
    return path


def test_unpacked_cache_knows_every_word_the_tar_knows(navec_copy):
    import random

    vocab, _, _ = V._read_navec(navec_copy)
    fast = V.WordVectors(navec_copy)                  # writes the cache beside the file
    assert (navec_copy.parent / (V.FILE_NAME + V.CACHE_SUFFIX) / "stamp").is_file()
    sample = random.Random(7).sample(range(len(vocab)), 5000)
    assert [fast._ids.get(vocab[i]) for i in sample] == sample
    for unknown in ("ыыыщщщ", "", "квартираквартира", "Квартира"):
        assert unknown not in fast._ids
    # The same closeness as read straight from the tar.
    texts = ["жилое помещение в многоквартирном доме", "трактор пашет поле весной", ""]
    slow = V.WordVectors.__new__(V.WordVectors)
    real_prepare = V.prepare_cache
    try:
        V.prepare_cache = lambda p: (_ for _ in ()).throw(PermissionError(p))   # the tar's own path
        slow.__init__(navec_copy)
    finally:
        V.prepare_cache = real_prepare
    assert isinstance(slow._ids, dict)
    assert fast.best_match(["квартира", "дом"], texts) == pytest.approx(slow.best_match(["квартира", "дом"], texts))


def test_damaged_or_stale_cache_is_rebuilt(navec_copy):
    import os

    cache = V.prepare_cache(navec_copy)
    (cache / "table.npy").write_bytes(b"\x93NUMPY garbage")
    wv = V.WordVectors(navec_copy)                     # falls back to the tar, drops the cache
    assert "квартира" in wv._ids and not cache.exists()
    V.prepare_cache(navec_copy)
    before = (cache / "stamp").read_text()
    st = navec_copy.stat()
    os.utime(navec_copy, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))   # the file was replaced
    V.prepare_cache(navec_copy)
    assert (cache / "stamp").read_text() != before
    assert "квартира" in V.WordVectors(navec_copy)._ids


def test_cache_that_cannot_be_written_falls_back_to_the_tar(navec_copy, monkeypatch):
    def refuse(path):
        raise PermissionError(f"{path}: read-only")

    monkeypatch.setattr(V, "prepare_cache", refuse)
    wv = V.WordVectors(navec_copy)
    assert isinstance(wv._ids, dict) and "квартира" in wv._ids


def test_processes_starting_together_share_one_cache_and_litter_is_swept(navec_copy):
    # kb serve's workers, or two `kb search`, may find the cache missing at the same moment:
    # each writes its own copy, one is renamed into place, all of them read the same words.
    import os
    import subprocess
    import sys
    import time

    stale = navec_copy.parent / (navec_copy.name + V.CACHE_SUFFIX + ".killed")
    stale.mkdir()
    (stale / "words.bin").write_bytes(b"half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    code = ("import sys; from pathlib import Path; from kb.analysis import vectors as V; "
            "w = V.WordVectors(Path(sys.argv[1])); print(type(w._ids).__name__, w._ids.get('квартира'))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(navec_copy)], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({o[1] for o in outs}) == 1 and outs[0][1] != "None"
    assert (navec_copy.parent / (navec_copy.name + V.CACHE_SUFFIX) / "stamp").is_file()
    assert not stale.exists()
    leftovers = [p for p in navec_copy.parent.iterdir() if p.name.startswith(navec_copy.name + V.CACHE_SUFFIX + ".")]
    assert leftovers == []
