"""Re-extraction without the network: today's extractor over the raw archive.

    python -m govcrawl.reextract output/archive/*.warc.gz -O new.jsonl

Reads every response record of the given WARC files (``govcrawl.archive``),
rebuilds the ``DocumentItem`` the crawl had built from those bytes (URL,
portal, referer, kind, link text, headers, download time — all from the
record), and sends it through the crawl's own item pipelines, minus the
network-facing ones: extract → validate → dedupe → provenance.  So the feed
has the crawl's shape, with the original provenance (``url``, ``portal``,
``referer``, ``fetched_at``, ``etag``/``http_last_modified``,
``content_sha256``) and ``provenance.archive`` pointing at the record read.
There is no ``change`` key: that belongs to incremental recrawls.

This module owns the command line and the loop; the pipelines own what a
report item is.  Files are read in the order given, records in file order
(the crawl's order), so the dedupe keeps the same first copy as the crawl.
A WARC cut short by a crash is read up to its last whole record, with one
line on stderr. ``-j N`` extracts in N processes (PDFs are slow); the feed's
order and content do not change.  A progress line goes to stderr when it is a terminal
(``--progress``/``--no-progress`` to choose).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from scrapy.exceptions import DropItem

from govcrawl.archive import ReadReport, iter_documents
from govcrawl.items import DocumentItem
from govcrawl.pipelines.dedupe import DedupePipeline
from govcrawl.pipelines.extract import ExtractPipeline
from govcrawl.pipelines.provenance import ProvenancePipeline
from govcrawl.pipelines.validate import ValidatePipeline


class Counts(dict):
    """Plain stats collector with Scrapy's ``inc_value`` interface, for the pipelines."""

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self[key] = self.get(key, start) + count


class Progress:
    """One self-overwriting stderr line: files, bytes read of the total, documents, reports, docs/s."""

    def __init__(self, total_bytes: int, stream: IO[str] | None = None, enabled: bool = True):
        self.total = max(total_bytes, 1)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done_before = 0  # bytes of the files already finished
        self.offset = 0
        self.documents = self.reports = 0
        self.started = time.monotonic()
        self._last_draw = 0.0

    def at(self, offset: int) -> None:
        self.offset = offset
        self.draw()

    def file_done(self, size: int) -> None:
        self.done_before += size
        self.offset = 0

    def draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.2:  # redraw at most 5 times a second
            return
        self._last_draw = now
        read = self.done_before + self.offset
        fraction = min(read / self.total, 1.0)
        bar = "#" * int(fraction * 30)
        rate = self.documents / max(now - self.started, 1e-9)
        self.stream.write(f"\r[{bar:<30}] {fraction:6.1%}  {self.documents} documents, "
                          f"{self.reports} reports, {rate:.1f} docs/s ")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()


_worker_chain: list | None = None


def _read_document(fields: dict) -> Any:
    """Extract and validate one document (the CPU-heavy part; runs in worker processes with ``jobs`` > 1).

    Returns the report item, or None when it is not a report.
    """
    global _worker_chain
    if _worker_chain is None:
        _worker_chain = [ExtractPipeline(), ValidatePipeline()]
    item: Any = DocumentItem(fields)
    extract, validate = _worker_chain
    try:
        item = validate.process_item(extract.process_document(item))
    except DropItem:
        return None
    return item


def _documents(paths: Iterable[str | os.PathLike[str]], stats: Counts, progress: Progress | None,
               warn: Callable[[str], None] | None) -> Iterator[dict]:
    """The DocumentItem fields of every archived document, file after file."""
    for path in paths:
        report = ReadReport()
        for archived in iter_documents(path, report, progress=progress.at if progress else None):
            stats.inc_value("reextract/documents")
            if progress:
                progress.documents += 1
            yield archived.document_fields()
        if report.truncated_at is not None and warn is not None:
            warn(f"{path}: cut short at byte {report.truncated_at} ({report.error}); "
                 f"read the {report.records} whole records before it")
        if progress:
            progress.file_done(os.path.getsize(path))


def reextract(paths: Iterable[str | os.PathLike[str]], stats: Counts | None = None,
              progress: Progress | None = None, warn: Callable[[str], None] | None = None,
              jobs: int = 1) -> Iterator[dict]:
    """Report items rebuilt from the archived documents of ``paths``, in archive order."""
    stats = stats if stats is not None else Counts()
    documents = _documents(paths, stats, progress, warn)
    pool = None
    if jobs > 1:
        # Extraction in worker processes, in order (imap); dedupe and provenance stay here, in archive order.
        pool = multiprocessing.get_context("fork").Pool(jobs)
        items = pool.imap(_read_document, documents, chunksize=4)
    else:
        items = map(_read_document, documents)
    after = [DedupePipeline(stats), ProvenancePipeline()]
    try:
        for item in items:
            if item is None:
                stats.inc_value("govcrawl/extract/not_report")
                continue
            try:
                for pipeline in after:
                    item = pipeline.process_item(item)
            except DropItem:
                continue
            stats.inc_value("reextract/reports")
            if progress:
                progress.reports += 1
            yield dict(item)
    finally:
        if pool is not None:
            pool.terminate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govcrawl.reextract",
                                     description=__doc__.strip().split("\n")[0])
    parser.add_argument("warcs", nargs="+", help="WARC files written by the crawl (output/archive/*.warc.gz)")
    parser.add_argument("-O", "--output", help="write the JSON Lines feed here (overwritten); default stdout")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="extract in this many processes (default 1; the order of the feed does not change)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress line on stderr (default: when stderr is a terminal)")
    args = parser.parse_args(argv)
    missing = [p for p in args.warcs if not Path(p).is_file()]
    if missing:
        parser.error(f"no such file: {missing[0]}")
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = Progress(sum(os.path.getsize(p) for p in args.warcs), enabled=show)
    stats = Counts()
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    started = time.monotonic()
    try:
        for item in reextract(args.warcs, stats, progress,
                              warn=lambda message: print(f"\nwarning: {message}", file=sys.stderr),
                              jobs=max(args.jobs, 1)):
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    finally:
        progress.finish()
        if out is not sys.stdout:
            out.close()
    seconds = time.monotonic() - started
    documents = stats.get("reextract/documents", 0)
    print(f"{documents} documents, {stats.get('reextract/reports', 0)} reports "
          f"({stats.get('govcrawl/dedupe/duplicates', 0)} duplicates, "
          f"{stats.get('govcrawl/extract/not_report', 0)} not reports) in {seconds:.1f} s "
          f"({documents / max(seconds, 1e-9):.1f} docs/s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
