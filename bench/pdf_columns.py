"""How PDF pages made here are read: columns a few points apart, and pages that only look
like columns (tests/pdf_fixtures.py draws them all).

    .venv/bin/python bench/pdf_columns.py [--data ../shared/data] [--pages 200]

Rows: pages read exactly as drawn, of all made, for
  report, 2 columns      narrow_report: justified (3-24 pt apart) and ragged (one line 1.5-24
                         pt short of the next column), 9-11 pt text, a title and footer across
  columns, 2 and 3       columns(): justified, 3-25 pt apart, with and without a heading
  list in a column       narrow_report_with_list: bullets at the right column's edge, 3-20 pt
  one column             one_column_text: real text (--data's Kyrgyz Family Code), any setting
  table on a page        table_page: 2-4 left-aligned columns of words and numbers (seeded)
It prints figures; it asserts nothing (tests/test_extract_pdf.py holds the cases that must pass).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import pdf_fixtures as F  # noqa: E402

from kb.extract.pdf import read_pdf  # noqa: E402


def score(name: str, cases) -> None:
    t = time.perf_counter()
    good = total = 0
    for make in cases:
        data, expected = make()
        total += 1
        good += read_pdf(Path("page.pdf"), data).pages == expected
    print(f"{name:<22} {good:>4} of {total:<4} read as drawn   ({time.perf_counter() - t:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--pages", type=int, default=200, help="pages of one column, and of tables")
    args = ap.parse_args()
    if not F.fonts_available():
        sys.exit("нужны шрифты DejaVu (fonts-dejavu-core)")
    code = args.data / "kg-codes-txt" / "Семейный кодекс Кыргызской Республики.txt"
    if not code.exists():
        sys.exit(f"нет файла {code}: укажите --data")
    words = [w for w in code.read_text(encoding="utf-8").split() if not w.endswith("-")]
    cells = [w for w in words if w.isalpha()]

    score("report, 2 columns", [
        (lambda g=g, r=r, s=s: F.narrow_report(g, ragged=r, size=s))
        for s in (9.0, 10.0, 11.0) for g in (1.5, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24) for r in (False, True)
        if r or g >= 3])
    score("columns, 2 and 3", [
        (lambda n=n, g=g, h=h: F.columns(n, g, [0, 4, 6] if n == 2 else [0, 3, 5, 6], heading=h))
        for n in (2, 3) for g in (3, 4, 6, 8, 12, 18, 25) for h in (None, "ЖИЛИЩНЫЕ ПРАВА: ИТОГИ ГОДА")])
    score("list in a column", [(lambda g=g: F.narrow_report_with_list(g)) for g in (3, 4, 6, 10, 20)])
    score("one column", [(lambda s=s: F.one_column_text(words, s)) for s in range(args.pages)])
    score("table on a page", [(lambda s=s: F.table_page(cells, s)) for s in range(args.pages)])


if __name__ == "__main__":
    main()
