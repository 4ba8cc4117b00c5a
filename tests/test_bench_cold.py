"""bench/cold.py, the cold command-line search bench: it runs real `kb search` processes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from kb.index import update_index

ROOT = Path(__file__).resolve().parents[1]


def test_cold_bench_times_every_query_in_fresh_processes(tmp_path):
    update_index(ROOT / "corpus", tmp_path / "index", show_progress=False)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "cold.py"), "--index", str(tmp_path / "index"),
                          "--runs", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    summary = re.search(r"cold kb search: p50 (\d+) ms, p95 (\d+) ms, max (\d+) ms; within 0.5 s: (\d+)/(\d+)",
                        out.stdout)
    assert summary, out.stdout
    p50, p95, top, within, runs = map(int, summary.groups())
    assert runs == 12 and 0 <= within <= runs and 0 < p50 <= p95 <= top
    # A failing search is reported, not timed as if it answered.
    bad = subprocess.run([sys.executable, str(ROOT / "bench" / "cold.py"), "--index", str(tmp_path / "nothing"),
                          "--runs", "1"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "failed" in bad.stderr
