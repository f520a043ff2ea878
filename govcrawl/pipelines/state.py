"""State pipeline: emit only new and changed reports, and tag them with ``change``.

Runs after dedupe. For each report item it hashes the report's content (the
item without fetch metadata such as ``fetched_at``/``etag``) and asks the crawl
state (``govcrawl.state``):

* never emitted          → ``change = "new"``;
* emitted, other content → ``change = "updated"``;
* emitted, same content  → dropped (stat ``govcrawl/state/unchanged``) — this
  is what catches servers without ETag/Last-Modified; with ``-a full=1`` the
  item is emitted anyway with ``change = "unchanged"``.

The decision is a claim (atomic in Redis), and the report is *recorded* only on
``item_scraped``, i.e. after Scrapy's FeedExporter (an extension, so connected
to the signal before this pipeline) has written the line; the feed files are
flushed first so even a SIGKILL right after cannot lose a recorded item. The
remaining window: a kill between the flush and the SQLite commit (microseconds)
re-emits that one item on the next run — a duplicate is preferred to a loss.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured

from govcrawl.middlewares_state import find_state_middleware
from govcrawl.state import CLAIMED, UNCHANGED, CrawlState, UrlRecord, full_recrawl, now, state_for

# Fetch metadata: differs on every download of the same report, and on every URL it is found at
# (a report moved to a new address is the same report: see report_aliases).
VOLATILE_TOP = frozenset({"change", "url", "portal"})
VOLATILE_PROVENANCE = frozenset(
    {"fetched_at", "etag", "http_last_modified", "content_sha256", "referer", "source_url", "archive"}
)


def report_key(item: Any) -> str:
    adapter = ItemAdapter(item)
    return adapter.get("url") or (adapter.get("provenance") or {}).get("source_url")


_SPACES = re.compile(r"\s+")


def report_aliases(item: Any) -> list[str]:
    """Other names of the same report: the hash of the downloaded bytes, and agency|year|title.

    A report moved to a new URL (a CMS migration, a second column linking a
    copy) keeps them, so the state knows it across crawls.
    """
    adapter = ItemAdapter(item)
    aliases = []
    sha = (adapter.get("provenance") or {}).get("content_sha256")
    if sha:
        aliases.append(f"sha256:{sha}")
    agency, year, title = adapter.get("agency"), adapter.get("year"), adapter.get("title")
    if agency and year and title:
        aliases.append(f"identity:{agency}|{year}|{_SPACES.sub('', str(title))}")
    return aliases


def report_hash(item: Any) -> str:
    """Hash of what the report says, not of how it was fetched."""
    # The item is a plain dict (ReportItem): no ItemAdapter.asdict(), whose walk over every table cell
    # cost more than the rest of the pipeline together.
    data = {k: v for k, v in ItemAdapter(item).items() if k not in VOLATILE_TOP}
    provenance = data.get("provenance")
    if isinstance(provenance, dict):
        data["provenance"] = {k: v for k, v in provenance.items() if k not in VOLATILE_PROVENANCE}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class _Pending:
    item: Any
    report_hash: str
    urls: list[UrlRecord] = field(default_factory=list)
    claim_key: str = ""  # the key the state knows the report by (an earlier URL of it, or its own)
    aliases: list[str] = field(default_factory=list)


class CrawlStatePipeline:
    def __init__(self, crawler: Any, state: CrawlState):
        self.crawler = crawler
        self.state = state
        self.stats = crawler.stats
        self.pending: dict[str, _Pending] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlStatePipeline:
        state = state_for(crawler)
        if state is None:
            raise NotConfigured("GOVCRAWL_STATE_ENABLED is off")
        pipeline = cls(crawler, state)
        crawler.signals.connect(pipeline.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(pipeline.item_error, signal=signals.item_error)
        return pipeline

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        key = report_key(item)
        if not key or adapter.get("change") == "removed":  # a removal event (govcrawl.lifecycle), not a copy
            return item
        digest = report_hash(item)
        full = full_recrawl(self.crawler, self.crawler.spider)
        aliases = report_aliases(item)
        claim_key = key
        if self.state.get_report(key) is None:
            known = self.state.find_alias(aliases)
            if known and known != key:
                # the same report (same bytes, or same agency/year/title) emitted earlier under another URL
                claim_key = known
                self.stats.inc_value("govcrawl/state/known_under_other_url")
        status = self.state.claim_report(claim_key, digest, full=full)
        urls = self._url_records(adapter, key, digest, claim_key)
        if status == CLAIMED:
            self.stats.inc_value("govcrawl/state/claimed_elsewhere")
            raise DropItem(f"report is being emitted by another worker: {key}", log_level="DEBUG")
        if status == UNCHANGED and not full:
            self.stats.inc_value("govcrawl/state/unchanged")
            for record in urls:  # fetched again: restart its recheck clock
                self.state.put_url(record)
            raise DropItem(f"report unchanged since last crawl: {key}"
                           + (f" (known as {claim_key})" if claim_key != key else ""), log_level="DEBUG")
        adapter["change"] = status
        # (a full run's unchanged reports are not counted as govcrawl/state/unchanged: that one means dropped)
        self.stats.inc_value(f"govcrawl/state/{'unchanged_reemitted' if status == UNCHANGED else status}")
        self.pending[key] = _Pending(item, digest, urls, claim_key, aliases)
        return item

    def _url_records(self, adapter: ItemAdapter, key: str, digest: str, claim_key: str) -> list[UrlRecord]:
        provenance = adapter.get("provenance") or {}
        source_url = provenance.get("source_url")
        mw = find_state_middleware(self.crawler)
        records = mw.pop_fetched(key, source_url) if mw else []
        known = {r.url for r in records}
        for url, kind in ((key, "report"), (source_url, "attachment")):
            if not url or url in known:
                continue
            # Middleware off or response not seen: fall back on the item's own provenance,
            # whose validators describe the source document.
            own = url == source_url
            records.append(
                UrlRecord(
                    url=url,
                    kind=kind,
                    fetched_at=now(),
                    etag=provenance.get("etag") if own else None,
                    last_modified=provenance.get("http_last_modified") if own else None,
                    content_sha256=provenance.get("content_sha256") if own else None,
                )
            )
            known.add(url)
        for record in records:
            record.report_key, record.report_hash = claim_key, digest
        return records

    def item_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        key = report_key(item)
        pending = self.pending.get(key) if key else None
        if pending is None or pending.item is not item:
            return
        del self.pending[key]
        self._flush_feeds()
        self.state.record_report(pending.claim_key, pending.report_hash, pending.urls, now())
        self.state.add_aliases(pending.claim_key, pending.aliases)
        self.stats.inc_value("govcrawl/state/recorded")

    def item_dropped(self, item: Any, response: Any = None, exception: Any = None, spider: Any = None) -> None:
        self._release(item)

    def item_error(self, item: Any, response: Any = None, spider: Any = None, failure: Any = None) -> None:
        self._release(item)

    def _release(self, item: Any) -> None:
        key = report_key(item)
        pending = self.pending.get(key) if key else None
        if pending is not None and pending.item is item:
            del self.pending[key]
            self.state.release_report(pending.claim_key)

    def _flush_feeds(self) -> None:
        """Push the FeedExporter's buffered lines to the OS before recording them as done."""
        try:
            extensions = self.crawler.extensions
        except (AttributeError, RuntimeError):  # not crawling (unit tests)
            return
        for ext in getattr(extensions, "middlewares", ()):
            for slot in getattr(ext, "slots", ()) or ():
                file = getattr(slot, "file", None)
                flush = getattr(file, "flush", None)
                if flush is not None:
                    try:
                        flush()
                    except (OSError, ValueError):
                        pass

    def close_spider(self) -> None:
        for pending in list(self.pending.values()):
            self.state.release_report(pending.claim_key)
        self.pending.clear()
