"""Download handlers: scrapy-playwright's, loaded and started only when a page needs the browser.

scrapy-playwright starts Playwright's driver (a Node process, ~120 MB) for
each scheme it handles as soon as the crawl starts, whether or not any page
will be rendered, and importing it costs every crawl ~0.15 s of start-up.
govcrawl renders only on evidence (a report list a script fills), and most
crawls never do: ``LazyPlaywrightDownloadHandler`` is Scrapy's HTTP/1.1
handler for plain requests; the first request that has ``meta["playwright"]``
imports scrapy-playwright, builds its handler and starts the driver, and
every rendered page after it goes there.

It also builds the TLS contexts of plain downloads with
``govcrawl.tls.LegacyTolerantContextFactory`` (a permissive retry for hosts
stuck on TLS 1.0), unless ``DOWNLOADER_CLIENTCONTEXTFACTORY`` names another
factory: that setting is deprecated since Scrapy 2.19, which warns at every
start when it is set.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

logger = logging.getLogger(__name__)


def _browser_handler_class():
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

    class BrowserHandler(ScrapyPlaywrightDownloadHandler):
        _launching: asyncio.Future | None = None

        async def _maybe_launch_in_thread(self) -> None:
            return None  # not at engine start (long past when this is built): at the first page

        def _engine_started(self):
            return None

        async def _download_request(self, request, spider=None):
            # Every render waits for the one launch: pages rendered at once must not find a driver half started.
            if self._launching is None:
                self._launching = asyncio.ensure_future(self._launch())
            await asyncio.shield(self._launching)
            return await super()._download_request(request, spider)

    return BrowserHandler


class LazyPlaywrightDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler) -> None:
        super().__init__(crawler=crawler)
        self._crawler_ref = crawler
        self._browser = None
        if crawler.settings.get("DOWNLOADER_CLIENTCONTEXTFACTORY") in (None, "SENTINEL"):  # not set by the user
            self._use_legacy_tolerant_tls(crawler)

    def _use_legacy_tolerant_tls(self, crawler) -> None:
        from scrapy.utils.misc import build_from_crawler

        from govcrawl.tls import LegacyTolerantContextFactory

        if not hasattr(self, "_contextFactory"):  # Scrapy's handler changed: plain TLS only, said once
            logger.warning("This Scrapy's HTTP/1.1 handler has no _contextFactory: hosts that speak only "
                           "TLS 1.0 will not get their permissive retry (govcrawl/tls.py)")
            return
        # Built as Scrapy builds its own (the TLS settings), with the TLS method it worked out.
        kwargs = {}
        if hasattr(self._contextFactory, "_ssl_method"):
            kwargs["method"] = self._contextFactory._ssl_method
        self._contextFactory = build_from_crawler(LegacyTolerantContextFactory, crawler, **kwargs)

    def _browser_handler(self):
        if self._browser is None:  # one handler, whatever number of pages ask for it at once
            self._browser = _browser_handler_class().from_crawler(self._crawler_ref)
        return self._browser

    async def download_request(self, request):
        if request.meta.get("playwright"):
            return await self._browser_handler().download_request(request)
        return await super().download_request(request)

    async def close(self) -> None:
        await super().close()
        if self._browser is not None:
            await self._browser.close()
