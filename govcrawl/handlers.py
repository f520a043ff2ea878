"""Download handlers: scrapy-playwright's, loaded and started only when a page needs the browser.

scrapy-playwright starts Playwright's driver (a Node process, ~120 MB) for
each scheme it handles as soon as the crawl starts, whether or not any page
will be rendered, and importing it costs every crawl ~0.15 s of start-up.
govcrawl renders only on evidence (a report list a script fills), and most
crawls never do: ``LazyPlaywrightDownloadHandler`` is Scrapy's HTTP/1.1
handler for plain requests; the first request that has ``meta["playwright"]``
imports scrapy-playwright, builds its handler and starts the driver, and
every rendered page after it goes there.
"""

from __future__ import annotations

import asyncio

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler


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
