"""How true is the time left that a vector build shows, early on (kb.progress.Pace)?

    KB_CACHE=/tmp/somewhere .venv/bin/python bench/eta.py INDEX [--threads N] [--at 0.1,0.25,0.5]

INDEX: an index of words without vectors (`kb index --no-vectors`); it is copied, so nothing
is written to it. The copy's vectors are built with the configured engine and the shared
vector cache off (every passage embedded), as `kb index` builds them. Printed, at the first
progress report after each share of the passages: the time actually left, the estimate the
build reported (by characters) and the one by passages (the rate of passages a second, as kb
did before), with their errors; then the same from the log of the embedder's calls for other
measures of work (tokens, characters with a quadratic term) to see whether characters are
enough. Minutes on 2 cores for ~1,600 passages.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("index", type=Path)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--at", default="0.05,0.1,0.25,0.5")
    ap.add_argument("--log", type=Path, help="write the calls' log here (JSON)")
    args = ap.parse_args()
    os.environ["KB_VECTOR_CACHE"] = "off"
    from kb.analysis import embed
    from kb.index import vectors

    shares = [float(x) for x in args.at.split(",")]
    model = embed.make_embedder(threads=args.threads or os.cpu_count() or 1)
    engine = getattr(model, "_engine", None)
    calls: list[tuple[float, float, float, float, list[int], list[int]]] = []
    inner = model.passages

    def timed(texts):
        t, c = time.monotonic(), time.process_time()
        out = inner(texts)
        end, cend = time.monotonic(), time.process_time()
        toks = ([len(p) + 2 for p in engine.tokenizer.pieces(["passage: " + x for x in texts])]
                if engine is not None else [0] * len(texts))
        calls.append((t, end, c, cend, [len(x) for x in texts], toks))
        return out

    model.passages = timed
    reports: list[tuple[float, int, int, float | None]] = []

    def progress(done, total, seconds_left=None):
        reports.append((time.monotonic(), done, total, seconds_left))

    with tempfile.TemporaryDirectory() as tmp:
        idx = Path(tmp) / "index"
        shutil.copytree(args.index, idx, ignore=shutil.ignore_patterns("vectors", "vectors.lock"))
        res = vectors.build(idx, model, progress=progress)
    if args.log:
        args.log.write_text(json.dumps(calls), encoding="utf-8")
    end = calls[-1][1]
    t0, done0 = reports[0][0], reports[0][1]
    total = reports[0][2]
    print(f"{model.key}: {res['embedded']} passages embedded in {end - t0:.0f} s "
          f"({calls[-1][3] - calls[0][2]:.0f} s of CPU, {sum(sum(c[4]) for c in calls)} characters)")
    print("as the build reported it (wall clock):")
    print("share  actual_left_s  reported_s (err)  by_passages_s (err)")
    for f in shares:
        r = next((r for r in reports[1:] if r[1] - done0 >= f * (total - done0)), None)
        if r is None:
            continue
        t, done, _, left = r
        actual = end - t
        old = (t - t0) / (done - done0) * (total - done)
        print(f"{done / total:5.0%}  {actual:13.0f}  {left:10.0f} ({left / actual - 1:+.0%})"
              f"  {old:13.0f} ({old / actual - 1:+.0%})")
    # The same points from the log of calls, with other units of work, on the wall clock (what
    # a user sees: other work on the machine comes and goes) and in the process's CPU seconds
    # (what a unit of work costs, whatever else runs).
    units = {
        "passages": lambda c, k: 1.0,
        "characters": lambda c, k: float(c),
        "tokens": lambda c, k: float(k),
        "tokens*(1+tokens/714)": lambda c, k: k * (1 + k / 714),
        "chars*(1+chars/5000)": lambda c, k: c * (1 + c / 5000),
    }
    for clock, (a, b) in (("wall clock", (0, 1)), ("CPU seconds", (2, 3))):
        start, stop = calls[0][a], calls[-1][b]
        print(f"from the calls' log, {clock} (error of the estimate after a share of the passages):")
        print("unit".ljust(24) + "".join(f"{f:>8.0%}" for f in shares))
        for name, cost in units.items():
            work = [sum(cost(c, k) for c, k in zip(cl[4], cl[5])) for cl in calls]
            n = [len(cl[4]) for cl in calls]
            row = name.ljust(24)
            for f in shares:
                i = next((i for i in range(len(calls)) if sum(n[:i + 1]) >= f * sum(n)), None)
                if i is None or i == len(calls) - 1:
                    row += "       -"
                    continue
                est = (calls[i][b] - start) / sum(work[:i + 1]) * sum(work[i + 1:])
                row += f"{est / (stop - calls[i][b]) - 1:>+8.0%}"
            print(row)


if __name__ == "__main__":
    main()
