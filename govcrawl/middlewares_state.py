"""State middlewares: spend no request on a report the crawl state already has.

For requests with ``meta["govcrawl_kind"]`` in {"report", "attachment"} whose
URL is in the crawl state (see ``govcrawl.state``):

* fetched less than ``GOVCRAWL_RECHECK_AFTER`` seconds ago (default 7 days)
  → not requested at all (``IgnoreRequest``, stat ``govcrawl/state/skipped_fresh``);
* older → sent with ``If-None-Match`` / ``If-Modified-Since``; a 304 drops the
  request quietly (stat ``govcrawl/state/not_modified``) and refreshes the
  fetch time. ``GOVCRAWL_RECHECK_AFTER = 0`` means always conditional.

An attachment linked from a report page that was just downloaded again (it
changed) is fetched unconditionally: its report must be rebuilt, and a 304
would lose it.

``CrawlStateSpiderMiddleware`` takes the skip decision earlier, as the spider
yields the request, so a known report costs a state lookup and nothing else.

Entry and list pages pass untouched (they change); their fetch is noted in
the state for the record. ``-a full=1`` turns all of this off for one run.

The validators of every report/attachment response are kept in memory until
the state pipeline records them with the item that used them — a URL is only
"done" in the state once its report is in the feed. Nothing but plain
strings and booleans goes into request meta, so JOBDIR can pickle requests.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

from govcrawl.state import CrawlState, UrlRecord, full_recrawl, now, state_for

STATE_KINDS = frozenset({"report", "attachment"})
PAGE_KINDS = frozenset({"entry", "list"})
DEFAULT_RECHECK_AFTER = 7 * 24 * 3600


class CrawlStateMiddleware:
    def __init__(self, crawler: Any, state: CrawlState, recheck_after: float):
        self.crawler = crawler
        self.state = state
        self.recheck_after = recheck_after
        self.stats = crawler.stats
        # url -> UrlRecord of report/attachment responses not yet tied to an item.
        self.fetched: dict[str, UrlRecord] = {}
        # report pages downloaded in full this run: their attachments are needed again.
        self.refreshed_pages: set[str] = set()
        self._full: bool | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlStateMiddleware:
        state = state_for(crawler)
        if state is None:
            raise NotConfigured("GOVCRAWL_STATE_ENABLED is off")
        recheck_after = crawler.settings.getfloat("GOVCRAWL_RECHECK_AFTER", DEFAULT_RECHECK_AFTER)
        mw = cls(crawler, state, recheck_after)
        _per_crawler[crawler] = mw
        # mw holds the crawler: drop the entry explicitly or the weak key never dies
        crawler.signals.connect(
            lambda: _per_crawler.pop(crawler, None), signal=signals.engine_stopped, weak=False
        )
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: Any) -> None:
        self._full = full_recrawl(self.crawler, spider)

    @property
    def full(self) -> bool:
        if self._full is None:
            self._full = full_recrawl(self.crawler, self.crawler.spider)
        return self._full

    def process_request(self, request: Request) -> None:
        record = self.known_report_url(request)
        if record is None:
            return None
        if self.is_fresh(record):
            self.stats.inc_value("govcrawl/state/skipped_fresh")
            raise IgnoreRequest(f"fresh in crawl state: {request.url}")
        if record.etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = record.etag
        if record.last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = record.last_modified
        if record.etag or record.last_modified:
            request.meta["govcrawl_conditional"] = True
            self.stats.inc_value("govcrawl/state/conditional")
        return None

    def known_report_url(self, request: Request) -> UrlRecord | None:
        """The state record of a report/attachment request this run may spare, if any."""
        kind = request.meta.get("govcrawl_kind")
        if kind not in STATE_KINDS or self.full:
            return None
        if kind == "attachment" and self._linked_from_refreshed_page(request):
            return None
        record = self.state.get_url(request.url)
        if record is None or record.fetched_at is None or not record.report_key:
            # Never tied to an emitted report: fetch it like a new one.
            return None
        return record

    def is_fresh(self, record: UrlRecord) -> bool:
        return self.recheck_after > 0 and now() - record.fetched_at < self.recheck_after

    def process_response(self, request: Request, response: Response) -> Response:
        kind = request.meta.get("govcrawl_kind")
        if response.status == 304 and request.meta.get("govcrawl_conditional"):
            self.stats.inc_value("govcrawl/state/not_modified")
            self.state.touch_url(
                request.url,
                now(),
                etag=_header(response, b"ETag"),
                last_modified=_header(response, b"Last-Modified"),
            )
            raise IgnoreRequest(f"not modified: {request.url}")
        if response.status != 200 or kind is None:
            return response
        record = UrlRecord(
            url=response.url,
            kind=kind,
            fetched_at=now(),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            content_sha256=hashlib.sha256(response.body).hexdigest(),
        )
        if kind in PAGE_KINDS:
            self.state.put_url(record)
            return response
        self.fetched[response.url] = record
        for url in request.meta.get("redirect_urls", ()):
            self.fetched.setdefault(url, UrlRecord(**{**record.__dict__, "url": url}))
        if kind == "report":
            self.refreshed_pages.add(response.url)
        return response

    def _linked_from_refreshed_page(self, request: Request) -> bool:
        referer = request.headers.get(b"Referer")
        if referer and referer.decode("latin-1") in self.refreshed_pages:
            return True
        return request.meta.get("report_page") in self.refreshed_pages

    def pop_fetched(self, *urls: str | None) -> list[UrlRecord]:
        """Validators of the responses behind one item, handed to the state pipeline."""
        out = []
        for url in urls:
            if url and url in self.fetched:
                out.append(self.fetched.pop(url))
        return out


class CrawlStateSpiderMiddleware:
    """Drops fresh report/attachment requests as the spider yields them.

    Same decision as ``CrawlStateMiddleware.process_request``, taken before the
    request is scheduled: no IgnoreRequest failure and errback per known report,
    which is most of the cost of a no-change recrawl. Requests that do not pass
    here (start requests, redirects) are still caught by the downloader middleware.
    """

    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlStateSpiderMiddleware:
        if state_for(crawler) is None:
            raise NotConfigured("GOVCRAWL_STATE_ENABLED is off")
        return cls(crawler)

    def _keep(self, response: Response, obj: Any) -> bool:
        if not isinstance(obj, Request):
            return True
        mw = find_state_middleware(self.crawler)
        if mw is None:
            return True
        if obj.meta.get("govcrawl_kind") == "attachment" and obj.meta.get("report_page") == response.url:
            return True  # its page was just downloaded in full: it changed
        record = mw.known_report_url(obj)
        if record is not None and mw.is_fresh(record):
            self.crawler.stats.inc_value("govcrawl/state/skipped_fresh")
            return False
        return True

    def process_spider_output(self, response: Response, result: Any) -> Any:
        for obj in result:
            if self._keep(response, obj):
                yield obj

    async def process_spider_output_async(self, response: Response, result: Any) -> Any:
        async for obj in result:
            if self._keep(response, obj):
                yield obj


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


_per_crawler: weakref.WeakKeyDictionary[Any, CrawlStateMiddleware] = weakref.WeakKeyDictionary()


def find_state_middleware(crawler: Any) -> CrawlStateMiddleware | None:
    """The CrawlStateMiddleware of a crawler, if it is enabled."""
    return _per_crawler.get(crawler)
