"""``python -m govcrawl.export FEED.jsonl… --out DIR [--html report.html] [--excel] [--progress]``.

Reads the feeds (files, directories, globs), merges the runs, flattens, runs
the cross-report checks and writes the tables and/or the HTML report.
Exit status 0 on success (bad lines are warnings), 2 for a usage error or
inputs that do not exist.
"""

from __future__ import annotations

import argparse
import sys
import time

from govcrawl.export.checks import checks_table, cross_report_checks
from govcrawl.export.feeds import ReadStats, expand_inputs, read_feeds
from govcrawl.export.merge import merge_lines
from govcrawl.export.tables import cells_table, reports_table, section_table
from govcrawl.extract.template import SECTION_KEYS


def export(inputs: list[str], *, out_dir: str | None = None, html_path: str | None = None,
           excel: bool = False, progress: bool = False, err=sys.stderr) -> dict:
    """Run the whole export; returns a summary (counts and the files written)."""
    started = time.monotonic()
    stats = ReadStats()
    reports = merge_lines(read_feeds(expand_inputs(inputs), stats, progress=progress, err=err))
    results = cross_report_checks(reports)
    tables = {"reports": reports_table(reports), "cells": cells_table(reports)}
    tables.update({section: section_table(reports, section) for section in SECTION_KEYS})
    tables["checks"] = checks_table(results)
    written = []
    if out_dir:
        from govcrawl.export.write import write_all

        written += write_all(tables, out_dir, excel=excel)
    if html_path:
        from govcrawl.export.html import write_report

        written.append(write_report(reports, results, html_path, bad_lines=stats.bad_lines))
    return {
        "files": stats.files, "lines": stats.lines, "items": stats.items, "bad_lines": stats.bad_lines,
        "reports": len(reports), "removed": sum(r.removed for r in reports), "cells": tables["cells"].num_rows,
        "checks_failed": sum(1 for r in results if r["ok"] is False),
        "seconds": round(time.monotonic() - started, 2), "written": written,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govcrawl.export", description=__doc__.split("\n\n")[1])
    parser.add_argument("feeds", nargs="+", help="JSON Lines feeds, directories of *.jsonl, or glob patterns")
    parser.add_argument("--out", metavar="DIR", help="write CSV, Parquet and govcrawl.duckdb here")
    parser.add_argument("--html", metavar="FILE", help="write the self-contained HTML report here")
    parser.add_argument("--excel", action="store_true", help="CSV files with a UTF-8 byte order mark, for Excel")
    parser.add_argument("--progress", action="store_true",
                        help="progress lines on stderr (default: only when stderr is a terminal)")
    args = parser.parse_args(argv)
    if not args.out and not args.html:
        parser.error("nothing to write: give --out DIR and/or --html FILE")
    try:
        summary = export(args.feeds, out_dir=args.out, html_path=args.html, excel=args.excel,
                         progress=args.progress or sys.stderr.isatty())
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{summary['reports']} reports ({summary['removed']} removed) from {summary['items']} lines "
          f"in {summary['files']} files, {summary['cells']} cells, {summary['checks_failed']} failed "
          f"cross-report checks, {summary['bad_lines']} bad lines skipped, {summary['seconds']} s")
    for path in summary["written"]:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
