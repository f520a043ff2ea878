"""Extraction throughput over the seeds and real PDFs: documents/second and MB/second.

    .venv/bin/python bench/extract_bench.py [--rounds N] [--shared PATH]

Each document goes through the whole extract_document (sniff, decode, repair,
layout, tables, metadata, checks), as the crawl pipeline runs it. Prints one
line per document kind and the total.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from govcrawl.extract import extract_document  # noqa: E402


def main() -> int:
    default_shared = os.environ.get("GOVCRAWL_SHARED") or Path(__file__).resolve().parents[2] / "shared"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the documents (default 20)")
    parser.add_argument("--shared", type=Path, default=Path(default_shared), help="the shared/ folder")
    args = parser.parse_args()

    docs = [(p, p.read_bytes()) for pattern in ("seeds/*.txt", "real/*.pdf") for p in sorted(args.shared.glob(pattern))]
    if not docs:
        print(f"no documents under {args.shared}", file=sys.stderr)
        return 2
    for path, body in docs:  # warm-up: OpenCC, pypinyin and pdfminer load their tables once
        extract_document(body, path.name)

    print(f"{'kind':<6} {'docs':>5} {'MB':>8} {'seconds':>8} {'docs/s':>8} {'MB/s':>7}")
    totals = [0, 0.0, 0.0]
    for kind in ("txt", "pdf"):
        batch = [(p, b) for p, b in docs if p.suffix == f".{kind}"]
        size = sum(len(b) for _, b in batch) * args.rounds / 1e6
        start = time.perf_counter()
        for _ in range(args.rounds):
            for path, body in batch:
                extract_document(body, path.name)
        elapsed = time.perf_counter() - start
        n = len(batch) * args.rounds
        print(f"{kind:<6} {n:>5} {size:>8.2f} {elapsed:>8.2f} {n / elapsed:>8.1f} {size / elapsed:>7.2f}")
        totals = [totals[0] + n, totals[1] + size, totals[2] + elapsed]
    n, size, elapsed = totals
    print(f"{'all':<6} {n:>5} {size:>8.2f} {elapsed:>8.2f} {n / elapsed:>8.1f} {size / elapsed:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
