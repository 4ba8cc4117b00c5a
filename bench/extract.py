"""Extraction speed: kb's PDF reader against plain pdfplumber, and the whole corpus with a pool.

    .venv/bin/python bench/extract.py [--data ../shared/data] [--workers N] [--pdf-only]

Rows (issue 2's targets in brackets):
  pdfplumber extract_text()  pages/s on the Kyrgyz Civil Code PDFs (476 pages)
  kb PDF extraction          pages/s on the same files, everything kb does included
                             (de-duplication, columns, headers, hyphens, cleaning, hashing, dates)
                             [>= 0.8x pdfplumber]
  kb corpus, in process      docs/s over every document of --data but bench/ (workers=0: no
                             worker process, no bound)
  kb corpus, pool            the same the way `kb index` runs it: worker processes over all
                             cores, each file under the default time and memory bounds
                             [>= 1.6x on 2 cores]
  worker start-up            one tiny file through a fresh worker (spawn, imports, the file)
It prints figures; it asserts nothing (timings belong to the machine, not to a test).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDF_DIR = "kg-civil-code-pdf"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_pdfplumber(pdfs: list[Path]) -> tuple[int, float]:
    import pdfplumber

    pages = 0
    t = time.perf_counter()
    for path in pdfs:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.close()
                pages += 1
    return pages, time.perf_counter() - t


def bench_kb_pdf(pdfs: list[Path]) -> tuple[int, float]:
    from kb.extract import extract

    pages = 0
    t = time.perf_counter()
    for path in pdfs:
        pages += extract(path).page_count
    return pages, time.perf_counter() - t


def corpus_files(data: Path) -> list[Path]:
    from kb.extract import iter_files

    return [p for p in iter_files(data) if p.relative_to(data).parts[0] != "bench"]


def bench_corpus(paths: list[Path], workers: int) -> tuple[int, int, list[str], float, float]:
    """(docs, pages, failures, seconds, longest single document's seconds: exact with 1 worker)."""
    from kb.extract import extract_many

    docs = pages = 0
    failures: list[str] = []
    t = last = time.perf_counter()
    longest = 0.0
    for path, result in extract_many(paths, workers=workers):
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
        if isinstance(result, Exception):
            failures.append(str(result))
        else:
            docs += 1
            pages += result.page_count
    return docs, pages, failures, time.perf_counter() - t, longest


def worker_startup(runs: int = 3) -> float:
    """Seconds for one tiny file through a fresh worker: what a replaced worker costs."""
    import tempfile

    from kb.extract import extract_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.txt"
        path.write_text("Статья 1. Текст.", encoding="utf-8")
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            extract_file(path)
            times.append(time.perf_counter() - t)
    return min(times)


def _spin(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def cpu_headroom(workers: int, n: int = 5_000_000) -> float:
    """How much faster `workers` processes run pure-Python work than one, right now.

    On a shared machine other jobs take cores; the pool row can beat this only by luck."""
    from concurrent.futures import ProcessPoolExecutor

    t = time.perf_counter()
    for _ in range(workers):
        _spin(n)
    serial = time.perf_counter() - t
    with ProcessPoolExecutor(max_workers=workers) as pool:
        t = time.perf_counter()
        list(pool.map(_spin, [n] * workers))
        parallel = time.perf_counter() - t
    return serial / parallel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                    help="the real documents (default: ../shared/data next to the repo)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="pool size for the corpus row (default: all cores)")
    ap.add_argument("--pdf-only", action="store_true", help="only the two PDF rows")
    args = ap.parse_args(argv)

    data = args.data.resolve()
    pdfs = sorted((data / PDF_DIR).glob("*.pdf"))
    if not pdfs:
        print(f"no PDFs in {data / PDF_DIR}", file=sys.stderr)
        return 1

    # One-time costs out of the timed rows: imports, and the Russian dictionary (~0.3 s)
    # that the hyphenation step loads on first use.
    import pdfplumber  # noqa: F401

    from kb.morphology import is_known

    is_known("дом")

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, data {data}")
    print(f"PDFs: {', '.join(p.name for p in pdfs)}")
    kb_pages, kb_s = bench_kb_pdf(pdfs)
    kb_rss = _rss_mb()
    pl_pages, pl_s = bench_pdfplumber(pdfs)
    kb_rate, pl_rate = kb_pages / kb_s, pl_pages / pl_s
    print(f"{'pdfplumber extract_text()':32} {pl_pages:5d} pages {pl_s:7.2f} s {pl_rate:7.1f} pages/s")
    print(f"{'kb PDF extraction':32} {kb_pages:5d} pages {kb_s:7.2f} s {kb_rate:7.1f} pages/s"
          f"   (max RSS after it {kb_rss:.0f} MB)")
    print(f"{'kb / pdfplumber':32} {kb_rate / pl_rate:.2f}x   [target >= 0.8x]")
    if args.pdf_only:
        return 0

    paths = corpus_files(data)
    one = bench_corpus(paths, 0)
    pool = bench_corpus(paths, args.workers)
    for label, (docs, pages, failures, secs, _) in (("kb corpus, in process", one),
                                                     (f"kb corpus, pool of {args.workers}", pool)):
        print(f"{label:32} {docs:5d} docs  {pages:5d} pages {secs:7.2f} s {docs / secs:7.2f} docs/s"
              f"   failed {len(failures)}")
    print(f"{'pool / in process':32} {one[3] / pool[3]:.2f}x   [target >= 1.6x on 2 cores]")
    # What bounds that ratio: one document cannot be split between workers, and other
    # jobs on a shared machine take cores.
    ceiling = min(args.workers, one[3] / one[4]) if one[4] else args.workers
    print(f"{'  bound by longest document':32} {ceiling:.2f}x   (longest takes {one[4]:.2f} s of {one[3]:.2f} s)")
    print(f"{'  CPU headroom now':32} {cpu_headroom(args.workers):.2f}x   "
          f"(pure-Python spin, {args.workers} processes vs 1; load {os.getloadavg()[0]:.1f})")
    print(f"{'worker start-up':32} {worker_startup():.2f} s   (one tiny file through a fresh worker)")
    for failure in sorted(set(one[2]) | set(pool[2])):
        print(f"  failed: {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
