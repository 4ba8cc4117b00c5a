"""The vectors shared by every index of a user (kb.index.vcache, issue 27 item 3): a second
index of the same passages embeds nothing, the cache stays within its bound, and a damaged
file, a kill -9 mid-write or several writers at once cost time, never a build."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from kb.index import vcache, vectors, write_passages

from test_vectors import FakeEmbedder, _records


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KB_VECTOR_CACHE", "on")
    return tmp_path / "cache" / "vectors"


def test_a_second_index_of_the_same_passages_embeds_nothing(tmp_path, cache, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    write_passages(first, _records(30))
    write_passages(second, _records(34))
    assert vectors.build(first, FakeEmbedder())["embedded"] == 30
    fake = FakeEmbedder()
    res = vectors.build(second, fake)
    assert res["ready"] and res["embedded"] == 4 and res["reused"] == 30 and len(fake.seen) == 4
    # The taken vectors are the ones the model gives: the second index searches like the first.
    q = fake.query("номер 7 предмете 0")
    from kb.index import reader
    a = [h.doc_id for h in reader(first).semantic(q, fake.key, limit=5).hits]
    b = [h.doc_id for h in reader(second).semantic(q, fake.key, limit=5).hits]
    assert a == b
    # Off: everything embedded again.
    monkeypatch.setenv("KB_VECTOR_CACHE", "off")
    third = tmp_path / "c"
    write_passages(third, _records(30))
    assert vectors.build(third, FakeEmbedder())["embedded"] == 30


def test_the_cache_keeps_to_its_bound_dropping_the_least_used(cache, monkeypatch):
    monkeypatch.setenv("KB_VECTOR_CACHE_ROWS", "10")
    sv = vcache.SharedVectors("fake-v1", 4)
    keys = [bytes([i]) * 16 for i in range(30)]
    for i in range(0, 30, 5):
        sv.put(keys[i:i + 5], np.ones((5, 4)) * i)
    assert len(sv.get(keys)) == 10
    assert set(sv.get(keys[-10:])) == set(keys[-10:])         # the newest stay


def test_a_damaged_cache_file_turns_the_cache_off_not_the_build(tmp_path, cache, caplog):
    cache.mkdir(parents=True)
    (cache / "fake-v1.sqlite3").write_bytes(b"not a database at all" * 100)
    idx = tmp_path / "index"
    write_passages(idx, _records(12))
    res = vectors.build(idx, FakeEmbedder())
    assert res["ready"] and res["embedded"] == 12
    assert any("кэш векторов" in r.getMessage() for r in caplog.records)


WRITER = """
import sys, numpy as np
from kb.index import vcache
sv = vcache.SharedVectors("fake-v1", 4)
start = int(sys.argv[1])
for i in range(start, start + 100000, 50):
    sv.put([i2.to_bytes(16, "big") for i2 in range(i, i + 50)], np.ones((50, 4)))
    if i == start:
        print("writing", flush=True)
"""


def test_kill_9_mid_write_and_two_writers_at_once_leave_a_sound_cache(cache):
    env = {**os.environ}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(n * 10**6)], env=env, stdout=subprocess.PIPE,
                              text=True) for n in range(2)]
    for p in procs:
        assert p.stdout.readline().strip() == "writing"
    time.sleep(1.0)
    for p in procs:
        p.send_signal(signal.SIGKILL)
        p.wait()
    db = sqlite3.connect(cache / "fake-v1.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    firsts = [n * 10**6 for n in range(2)]
    sv = vcache.SharedVectors("fake-v1", 4)
    got = sv.get([k.to_bytes(16, "big") for k in firsts])
    assert len(got) == 2          # both writers' first batches were committed and read back
