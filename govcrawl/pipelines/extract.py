"""ExtractPipeline: a downloaded DocumentItem in, a ReportItem (or a drop) out.

A thin adapter around ``govcrawl.extract.extract_document``: the extraction
itself knows nothing about Scrapy.  Pages that turn out not to be annual
reports are dropped quietly (DEBUG log + stats), because the spider follows
anything that looks like a report and expects most look-alikes to end here.
"""

from __future__ import annotations

import logging
from typing import Callable

from scrapy.exceptions import DropItem

from govcrawl.items import DocumentItem, ReportItem

logger = logging.getLogger(__name__)


class ExtractPipeline:
    def __init__(self, stats=None, extract_document: Callable | None = None, is_report: Callable | None = None):
        if extract_document is None or is_report is None:
            from govcrawl import extract  # the extractor package; imported here so tests can inject fakes

            extract_document = extract_document or extract.extract_document
            is_report = is_report or extract.is_report
        self.stats = stats
        self.extract_document = extract_document
        self.is_report = is_report

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def process_item(self, item):
        if not isinstance(item, DocumentItem):
            return item
        source_url = item.get("source_url") or item["url"]
        extra = {"images": item["images"]} if item.get("images") else {}  # a 图片版 page: its pictures, for OCR
        report = self.extract_document(item.get("body") or b"", source_url, item.get("headers"), portal=item.get("portal"),
                                       **extra)
        if not self.is_report(report):
            self._inc("govcrawl/extract/not_report")
            logger.debug("Not an annual report: %s (from %s)", source_url, item.get("referer"))
            raise DropItem(f"not an annual report: {source_url}", log_level="DEBUG")
        self._inc("govcrawl/extract/reports")
        # The item names the report page; the attachment, if any, stays in provenance.source_url.
        report["url"] = item["url"]
        report["portal"] = item.get("portal")
        report.setdefault("provenance", {})["source_url"] = source_url
        if not report.get("title") and item.get("title_hint"):
            report["title"] = item["title_hint"]
        document = DocumentItem({k: v for k, v in item.items() if k not in ("body", "images")})
        return ReportItem(report, document=document)
