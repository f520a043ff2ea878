"""Dataset export benchmark: two overlapping generated runs through ``python -m govcrawl.export``.

    .venv/bin/python bench/export_bench.py                  # 10 000 reports
    .venv/bin/python bench/export_bench.py --reports 50000

Run 1 holds ``--reports`` reports (``govcrawl.demo.feed.two_runs``: both
templates, blank cells); run 2 updates a third of them, removes a seventh and
adds a duplicate claim.  The real command runs in a subprocess, twice: tables
only (``--out``) and tables plus the HTML report.  Printed: input lines and
MB, reports, cells, wall seconds, reports/s and the peak memory of the export.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from govcrawl.demo.feed import two_runs  # noqa: E402


def run(args: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "govcrawl.export", *args], capture_output=True, text=True,
                          cwd=REPO, check=True)
    return time.monotonic() - started, proc.stdout.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first, second = two_runs(args.reports)
        for name, items in (("run-1.jsonl", first), ("run-2.jsonl", second)):
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as out:
                for item in items:
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
        size = sum(os.path.getsize(os.path.join(tmp, n)) for n in ("run-1.jsonl", "run-2.jsonl")) / 1e6
        print(f"input: {len(first) + len(second)} lines, {size:.1f} MB")
        for label, extra in (("tables (--out)", []), ("tables + HTML", ["--html", str(Path(tmp) / "r.html")])):
            seconds, summary = run([tmp, "--out", str(Path(tmp) / "out"), *extra])
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"{label}: {seconds:.1f} s wall, {args.reports / seconds:.0f} reports/s, "
                  f"peak {peak:.0f} MiB (largest so far)\n  {summary}")
        sizes = {p.name: p.stat().st_size / 1e6 for p in sorted((Path(tmp) / "out").iterdir())}
        print("files: " + ", ".join(f"{n} {s:.1f} MB" for n, s in sizes.items()))


if __name__ == "__main__":
    main()
