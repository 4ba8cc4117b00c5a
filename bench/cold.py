"""A cold `kb search` on the command line: how long from typing it to the answer (issue 15, item 6).

Each run is a fresh `kb search` process, as a lawyer at a terminal starts it: the interpreter,
kb's imports, the Russian dictionary, the lexicon, the word vectors (memory-mapped since
2026-12-02), the index, one query. Prints each query's wall time over `--runs` runs and peak
RSS, then p50 / p95 / max over all of them and how many answered within the 0.5 s target;
for context, the interpreter alone and `import kb.search` alone in fresh processes.

    .venv/bin/python bench/cold.py [--index DIR] [--runs 3]

Without `--index` it builds one of all of ../shared/data (without passage vectors, ~50 s) in
a temporary folder. Machines here are shared: compare figures of one run, and look at the
load average it prints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web import pct                     # noqa: E402  bench/web.py: percentiles

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
KB = Path(sys.executable).with_name("kb")

# Typed as a lawyer or a researcher would: plain words, a paraphrase, an article, a phrase.
QUERIES = [
    "выселение арендатора",
    "как выгнать жильца из квартиры",
    "права нанимателя жилого помещения",
    "ст. 83 ЖК РФ",
    "приватизация",
    "снос аварийного дома компенсация",
    "\"договор социального найма\"",
    "трудовые мигранты жилье",
    "регистрация прав на земельный участок",
    "коммунальные платежи задолженность",
    "товарищество собственников жилья",
    "отказ в регистрации по месту жительства",
]


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, help="an index to search (default: build one of ../shared/data)")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per query")
    ap.add_argument("--target", type=float, default=0.5, help="seconds (the issue's bound)")
    args = ap.parse_args()
    env = dict(os.environ)
    tmp = None
    index = args.index
    if index is None:
        if not DATA.is_dir():
            raise SystemExit(f"{DATA} not found: give --index")
        tmp = tempfile.TemporaryDirectory(prefix="kb-cold-")
        index = Path(tmp.name) / "index"
        t0 = time.perf_counter()
        subprocess.run([str(KB), "index", "--corpus", str(DATA), "--index", str(index), "--no-vectors"],
                       check=True, stdout=subprocess.DEVNULL, env=env)
        print(f"index of {DATA}: {time.perf_counter() - t0:.1f} s")
    print(f"load average {os.getloadavg()[0]:.2f} at start; {args.runs} fresh processes per query")
    base = [timed([sys.executable, "-c", "pass"], env)[0] for _ in range(3)]
    imp = [timed([sys.executable, "-c", "import kb.search"], env)[0] for _ in range(3)]
    print(f"interpreter alone: {statistics.median(base) * 1000:.0f} ms; "
          f"`import kb.search`: {statistics.median(imp) * 1000:.0f} ms (median of 3)")
    walls, rss = [], []
    for q in QUERIES:
        runs = [timed([str(KB), "search", "--index", str(index), q], env) for _ in range(args.runs)]
        walls += [w for w, _ in runs]
        rss += [r for _, r in runs]
        print(f"  {' '.join(f'{w * 1000:5.0f}' for w, _ in runs)} ms  {max(r for _, r in runs):5.0f} MB  {q}")
    within = sum(w <= args.target for w in walls)
    print(f"cold kb search: p50 {pct(walls, 50) * 1000:.0f} ms, p95 {pct(walls, 95) * 1000:.0f} ms, "
          f"max {max(walls) * 1000:.0f} ms; within {args.target} s: {within}/{len(walls)}; "
          f"peak RSS {max(rss):.0f} MB; load average {os.getloadavg()[0]:.2f} at end")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
