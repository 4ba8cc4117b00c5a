"""OCR accuracy and speed on scans made here (tests/ocr_fixtures.py): Russian and Kyrgyz
pages drawn with reportlab, rendered at 300 dpi, turned ~1 degree, blurred, speckled and
JPEG-compressed, put into image-only PDFs, then read by kb's extraction pool.

Prints, per language: character error rate (edit distance / characters drawn, whitespace
collapsed), word recall (share of words drawn that were read), pages and seconds a page
(wall time of the pool, all workers) and CPU seconds a page (the workers and their
Tesseract processes): on a shared machine the wall time says more about the neighbours.

Targets (issue 12): CER <= 3 % Russian, <= 5 % Kyrgyz, >= 0.5 pages/s on 2 cores.

    .venv/bin/python bench/ocr.py [--pages 6] [--workers 2] [--langs kir+rus+eng] [--dpi 200]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import ocr_fixtures as F  # noqa: E402


def distance(a: str, b: str) -> int:
    """Levenshtein distance, two rows."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _norm(text: str) -> str:
    return " ".join(text.split())


def cer(truth: str, got: str) -> float:
    t = _norm(truth)
    return distance(t, _norm(got)) / max(1, len(t))


def word_recall(truth: str, got: str) -> float:
    want = re.findall(r"\w+", truth.lower())
    have = set(re.findall(r"\w+", got.lower()))
    return sum(w in have for w in want) / max(1, len(want))


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def pages(lang: str, n: int):
    """n damaged pages of `lang`, each a different cut of the texts and different noise."""
    texts = F.RUSSIAN if lang == "ru" else F.KYRGYZ
    out = []
    for i in range(n):
        paras = texts[i % len(texts):] + texts[: i % len(texts)]
        img, truth = F.scanned_page(paras * 2, seed=100 + i, angle=1.0 if i % 2 else -1.0)
        out.append((img, truth))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=6, help="pages per language (default 6)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--langs", help="Tesseract languages (default: kb's)")
    ap.add_argument("--dpi", type=int, help="render resolution of PDF pages (default: kb's)")
    args = ap.parse_args()
    if args.langs:
        os.environ["KB_OCR_LANGUAGES"] = args.langs
    if args.dpi:
        os.environ["KB_OCR_DPI"] = str(args.dpi)
    from kb.extract import extract_many, ocr

    why = ocr.unavailable()
    if why:
        print(f"bench/ocr.py: {why}", file=sys.stderr)
        return 1
    print(f"tesseract {ocr.languages()}, PDF pages at {ocr.dpi()} dpi, {args.workers} workers, "
          f"{os.cpu_count()} cores")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        files, truths = [], {}
        for lang in ("ru", "ky"):
            for i, (img, truth) in enumerate(pages(lang, args.pages)):
                p = Path(tmp) / f"{lang}-{i}.pdf"
                p.write_bytes(F.image_pdf([img]))
                files.append(p)
                truths[p] = (lang, truth)
        t0 = time.monotonic()
        cpu0 = _children_cpu()
        results = list(extract_many(files, workers=args.workers))
        wall = time.monotonic() - t0
        cpu = _children_cpu() - cpu0      # the workers and their Tesseracts, once reaped
    rows: dict[str, list[tuple[float, float]]] = {"ru": [], "ky": []}
    for path, doc in results:
        lang, truth = truths[path]
        text = "" if isinstance(doc, Exception) else "\n".join(doc.pages)
        rows[lang].append((cer(truth, text), word_recall(truth, text)))
    n = len(files)
    print(f"{'lang':5} {'pages':>5} {'CER %':>7} {'max CER %':>9} {'word recall %':>13}")
    for lang, r in rows.items():
        print(f"{lang:5} {len(r):5d} {100 * sum(c for c, _ in r) / len(r):7.2f} "
              f"{100 * max(c for c, _ in r):9.2f} {100 * sum(w for _, w in r) / len(r):13.2f}")
    print(f"all   {n:5d} pages in {wall:.1f} s wall: {wall / n:.2f} s/page, {n / wall:.2f} pages/s "
          f"(worker start-up included; load average before: {load:.1f})")
    print(f"CPU   {cpu:.1f} s of CPU: {cpu / n:.2f} CPU s/page, so {args.workers / (cpu / n):.2f} pages/s "
          f"on {args.workers} cores not shared with other work")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
