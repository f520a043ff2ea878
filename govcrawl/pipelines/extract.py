"""ExtractPipeline: a downloaded DocumentItem in, a ReportItem (or a drop) out.

A thin adapter around ``govcrawl.extract.extract_document``: the extraction
itself knows nothing about Scrapy.  It runs in worker processes
(``govcrawl.extract.pool``, ``GOVCRAWL_EXTRACT_WORKERS``, default one per
core; ``0`` = in the crawler's own thread), so downloads go on while
documents are parsed; a document that hangs or kills its worker becomes an
item with a warning and the crawl goes on.  Pages that turn out not to be annual
reports are dropped quietly (DEBUG log + stats), because the spider follows
anything that looks like a report and expects most look-alikes to end here.
"""

from __future__ import annotations

import logging
from typing import Callable

from scrapy.exceptions import DropItem

from govcrawl.items import DocumentItem, ReportItem

logger = logging.getLogger(__name__)


def _pictures(item: DocumentItem) -> dict:
    """A 图片版 page's pictures, for OCR (only when there are any: the extractor's keyword)."""
    return {"images": list(item["images"])} if item.get("images") else {}


def extraction_args(item: DocumentItem) -> tuple[tuple, dict]:
    """The extractor's arguments for ``item``: ``(body, source URL, headers)`` and its keywords."""
    return ((item.get("body") or b"", item.get("source_url") or item["url"], item.get("headers")),
            {"portal": item.get("portal"), **_pictures(item)})


def stash_report(item: DocumentItem, report) -> None:
    """Leave ``report`` (an item, or the exception the extractor raised) for ``ExtractPipeline`` on ``item``:
    a pipeline before it (the archive's) had the document read in the same worker task as its own work."""
    item._stashed_report = report


def _take_stashed_report(item: DocumentItem):
    report = getattr(item, "_stashed_report", None)
    if report is not None:
        del item._stashed_report
    return report


class ExtractPipeline:
    def __init__(self, stats=None, extract_document: Callable | None = None, is_report: Callable | None = None,
                 pool=None):
        if is_report is None:
            from govcrawl.extract import is_report  # light: the reader itself is not loaded for it
        self.stats = stats
        self._extract_document = extract_document
        self.is_report = is_report
        self.pool = pool

    @property
    def extract_document(self) -> Callable:
        """The reader, loaded on first use in this process: with worker processes, the crawler never loads it."""
        if self._extract_document is None:
            from govcrawl import extract  # the extractor package; imported here so tests can inject fakes

            self._extract_document = extract.extract_document
        return self._extract_document

    @classmethod
    def from_crawler(cls, crawler):
        from govcrawl.extract.pool import crawler_pool

        return cls(crawler.stats, pool=crawler_pool(crawler))

    def open_spider(self) -> None:
        if self.pool is not None:
            self.pool.start()  # the workers get ready while the first pages are fetched

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    async def process_item(self, item):
        if not isinstance(item, DocumentItem):
            return item
        args, kwargs = extraction_args(item)
        report = _take_stashed_report(item)
        if isinstance(report, Exception):
            raise report
        if report is None:
            if self.pool is None:
                report = self.extract_document(*args, **kwargs)
            else:
                report = await self.pool.extract(*args, **kwargs)
        return self._report_item(item, report, args[1])

    def process_document(self, item):
        """``process_item`` in the calling thread, for code outside a crawl (re-extraction)."""
        if not isinstance(item, DocumentItem):
            return item
        args, kwargs = extraction_args(item)
        return self._report_item(item, self.extract_document(*args, **kwargs), args[1])

    def _report_item(self, item: DocumentItem, report: dict, source_url: str) -> ReportItem:
        if not report.get("title") and item.get("title_hint"):
            # also what keeps a document the extractor could not read: its link said it is a report
            report["title"] = item["title_hint"]
        if not self.is_report(report):
            self._inc("govcrawl/extract/not_report")
            logger.debug("Not an annual report: %s (from %s)", source_url, item.get("referer"))
            raise DropItem(f"not an annual report: {source_url}", log_level="DEBUG")
        self._inc("govcrawl/extract/reports")
        # The item names the report page; the attachment, if any, stays in provenance.source_url.
        report["url"] = item["url"]
        report["portal"] = item.get("portal")
        report.setdefault("provenance", {})["source_url"] = source_url
        document = DocumentItem({k: v for k, v in item.items() if k not in ("body", "images")})
        return ReportItem(report, document=document)
