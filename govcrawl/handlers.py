"""Download handlers: scrapy-playwright's, started only when a page needs the browser.

scrapy-playwright starts Playwright's driver (a Node process, ~120 MB) for
each scheme it handles as soon as the crawl starts, whether or not any page
will be rendered.  govcrawl renders only on evidence (a report list a script
fills), and most crawls never do: ``LazyPlaywrightDownloadHandler`` starts
the driver at the first request that has ``meta["playwright"]``, and plain
requests go through Scrapy's HTTP/1.1 handler as before.
"""

from __future__ import annotations

import asyncio

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler


class LazyPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    _launching: asyncio.Future | None = None

    async def _maybe_launch_in_thread(self) -> None:
        return None  # not at engine start: at the first page that needs the browser

    def _engine_started(self):
        return None

    async def _download_request(self, request, spider=None):
        # Every render waits for the one launch: pages rendered at once must not find a driver half started.
        if self._launching is None:
            self._launching = asyncio.ensure_future(self._launch())
        await asyncio.shield(self._launching)
        return await super()._download_request(request, spider)
