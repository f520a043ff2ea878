"""OCR cost: seconds per A4 page at 150 and 300 dpi, and table cells read per second.

    .venv/bin/python bench/ocr_bench.py [--seed N] [--dpi 150 300] [--font sans serif … | all]

Pages are drawn from random 2021 and 2019 reports without blank cells (the
densest tables: the 三 table fills a page with ~200 text boxes), then read
as the extractor reads them: a PNG through ``layout_from_images``, the same
pages as an image-only PDF through ``layout_from_scanned_pdf`` (rendering
included), and turned by 0.8° and saved as a JPEG of quality 55.  CPU seconds are this process's own (the target is
one core; the OCR engine runs one thread); wall seconds include waiting for
a busy machine.  ``wrong`` counts every cell that differs from the drawn
tables, ``null`` those of them read as nothing or in a row not found (warnings name both),
``unsure`` the numbers the warnings list.  ``--font`` draws the pages in one
or more of ``images.FONTS`` (``all``: each one installed), default ``sans``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from govcrawl.demo import images, render  # noqa: E402
from govcrawl.extract import ocr  # noqa: E402
from govcrawl.extract.layout import ROW_END  # noqa: E402
from govcrawl.extract.tables import read_tables  # noqa: E402


def _cells(layout) -> int:
    """Table cells with text: tokens of rows (ROW_END-terminated runs) that are not empty."""
    count, row = 0, 0
    for token in layout.tokens:
        if token == ROW_END:
            count, row = count + row, 0
        elif token:
            row += 1
    return count


def _wrong(expected: dict, actual: dict) -> tuple[int, int]:
    """Cells that differ from the drawn tables, and how many of them were read as nothing."""
    read = [((actual.get(s) or {}).get(r, {}).get(c, "missing"), v) for s, rows in expected.items()
            for r, cells in rows.items() for c, v in cells.items()]
    wrong = [got for got, want in read if got != want]
    return len(wrong), sum(1 for got in wrong if got is None or got == "missing")


def _timed(func, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = func(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--font", nargs="+", default=["sans"], choices=[*images.FONTS, "all"])
    args = parser.parse_args()
    fonts = images.installed_fonts() if "all" in args.font else args.font

    _, load_wall, _ = _timed(ocr._engine)
    print(f"engine load: {load_wall:.2f} s (once per process)")
    print(f"{'font':<9} {'input':<25} {'pages':>5} {'cells':>6} {'CPU s/page':>10} {'wall s/page':>11} "
          f"{'cells/s CPU':>11} {'wrong':>5} {'null':>4} {'unsure':>6}")
    for font, dpi, fmt in [(f, d, m) for f in fonts for d in args.dpi for m in ("2021", "2019")]:
        tables = render.random_tables(random.Random(args.seed), fmt)
        pages = images.report_pages(tables, fmt=fmt, title=f"示例市人民政府{fmt}年政府信息公开工作年度报告", dpi=dpi,
                                    font=font)
        runs = (
            (f"{fmt} PNG {dpi} dpi", ocr.layout_from_images, [images.png(p) for p in pages]),
            (f"{fmt} scanned PDF {dpi} dpi", ocr.layout_from_scanned_pdf, images.image_pdf(pages, dpi=dpi)),
            (f"{fmt} turned JPEG {dpi} dpi", ocr.layout_from_images,
             [images.jpeg(images.degrade(p, angle=0.8, jpeg_quality=55), quality=90) for p in pages]),
        )
        for name, func, data in runs:
            layout, wall, cpu = _timed(func, data)
            cells = _cells(layout)
            wrong, null = _wrong(tables, read_tables(layout.tokens).tables)
            unsure = next((w.split(" number")[0].rsplit(" ", 1)[-1] for w in layout.warnings
                           if w.startswith("OCR unsure of")), "0")
            print(f"{font:<9} {name:<25} {len(pages):>5} {cells:>6} {cpu / len(pages):>10.2f} "
                  f"{wall / len(pages):>11.2f} {cells / cpu:>11.1f} {wrong:>5} {null:>4} {unsure:>6}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
