"""ArchivePipeline: every downloaded document goes into the raw archive before it is read.

The Scrapy side of ``govcrawl.archive``.  Runs first (priority 50, before
extraction), so the bytes are kept even for documents today's extractor
rejects — a better extractor can find them later (``python -m
govcrawl.reextract``).  The pointer to the response record goes on the
``DocumentItem`` (``archive``) and from there into ``provenance.archive``
(``ProvenancePipeline``).

Settings: ``GOVCRAWL_ARCHIVE`` (on; ``0`` or the same environment variable
turns it off), ``GOVCRAWL_ARCHIVE_DIR`` (default ``<GOVCRAWL_OUTPUT_DIR>/archive``),
``GOVCRAWL_ARCHIVE_MAX_BYTES`` (rotation size, default 1 GiB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from govcrawl.archive import (DEFAULT_MAX_BYTES, ArchiveRef, ArchiveWriter, archive_facts, document_records,
                              header_pairs)
from govcrawl.items import DocumentItem
from govcrawl.pipelines import EXTRACT_PIPELINE, pipeline_order

_OFF = {"0", "false", "no", "off", ""}


def archive_enabled(settings: Any) -> bool:
    return str(settings.get("GOVCRAWL_ARCHIVE", "1")).strip().lower() not in _OFF


def archive_dir(settings: Any) -> Path:
    configured = settings.get("GOVCRAWL_ARCHIVE_DIR")
    if configured:
        return Path(configured)
    return Path(settings.get("GOVCRAWL_OUTPUT_DIR") or "output") / "archive"


def extraction_follows(settings: Any) -> bool:
    """Whether ``ExtractPipeline`` runs after this pipeline in the crawl's ``ITEM_PIPELINES``."""
    order = pipeline_order(settings)
    mine = f"{__name__}.{ArchivePipeline.__qualname__}"
    return EXTRACT_PIPELINE in order and mine in order and order.index(mine) < order.index(EXTRACT_PIPELINE)


class ArchivePipeline:
    def __init__(self, writer: ArchiveWriter, stats: Any = None, pool: Any = None, read_ahead: bool = False):
        self.writer = writer
        self.stats = stats
        # Records are built (WARC headers, digests, gzip) in the extraction workers when there
        # are any, and only appended here: about a second of the crawler's CPU per 1000 documents.
        self.pool = pool
        # ... and when the extraction pipeline follows, in the same task as the document's reading
        # (``ExtractorPool.extract_also``): one hand-off per document, the body sent once.
        self.read_ahead = read_ahead and pool is not None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchivePipeline:
        settings = crawler.settings
        if not archive_enabled(settings):
            raise NotConfigured("GOVCRAWL_ARCHIVE is off")
        # The request record is rebuilt from these: Scrapy's default headers and our user agent.
        request_headers = [(str(k), str(v)) for k, v in (settings.getdict("DEFAULT_REQUEST_HEADERS") or {}).items()]
        request_headers.append(("User-Agent", settings.get("USER_AGENT") or ""))
        writer = ArchiveWriter(archive_dir(settings),
                               max_bytes=settings.getint("GOVCRAWL_ARCHIVE_MAX_BYTES", DEFAULT_MAX_BYTES),
                               request_headers=request_headers)
        from govcrawl.extract.pool import crawler_pool

        pipeline = cls(writer, crawler.stats, pool=crawler_pool(crawler), read_ahead=extraction_follows(settings))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, DocumentItem):
            return item
        body = item.get("body") or b""
        record = {"url": item.get("source_url") or item["url"], "status": item.get("status") or 200,
                  "headers": header_pairs(item.get("headers")), "fetched_at": item.get("fetched_at"),
                  "referer": item.get("referer"), "facts": archive_facts(item),
                  "request_headers": self.writer.request_headers}
        if self.read_ahead:
            from govcrawl.pipelines.extract import extraction_args, stash_report

            args, kwargs = extraction_args(item)
            report, (data, record_id) = await self.pool.extract_also(
                *args, also=("govcrawl.archive:document_records", record), **kwargs)
            stash_report(item, report)
        elif self.pool is not None:
            data, record_id = await self.pool.run("govcrawl.archive:document_records", body=body, **record)
        else:
            data, record_id = document_records(body=body, **record)
        # appended here, in the crawler's thread, in the order the records are done
        item["archive"] = ArchiveRef(self.writer.append(data), record_id).as_dict()
        if self.stats is not None:
            self.stats.inc_value("govcrawl/archive/records")
            self.stats.inc_value("govcrawl/archive/body_bytes", len(body))
        return item

    def spider_closed(self, spider: Any = None) -> None:
        self.writer.close()
        if self.stats is not None:
            self.stats.set_value("govcrawl/archive/bytes", self.writer.bytes_written)
            self.stats.set_value("govcrawl/archive/files", len(self.writer.files))
