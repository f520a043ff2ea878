"""Extensions: a stop that does not wait for hung downloads; Scrapy's remote control only when asked for.

``RemoteControlIfEnabled`` — Scrapy's remote-control server (2.19+), loaded
only when ``REMOTE_CONTROL_ENABLED`` is on: Scrapy imports an extension's
module before it asks whether it is enabled, and that module imports aiohttp
(~0.15 s of every crawl's start-up).

``FastStop`` — on the first SIGTERM/SIGINT Scrapy stops gracefully: no new
requests, and it waits for every download in flight — up to its whole
timeout, so one government server that never answers holds a stop for a
minute.  This extension lets the in-flight downloads finish for
``GOVCRAWL_STOP_GRACE`` seconds (3), then aborts the connections still
open.  Their requests fail (counted, not logged as errors); the items
already in the pipelines are still written whole, and the crawl state
records only what reached the feed, so the next run fetches those pages
again.  A second signal still kills at once, as in Scrapy.
"""

from __future__ import annotations

import logging
import signal

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


class FastStop:
    def __init__(self, crawler, grace: float):
        self.crawler = crawler
        self.grace = grace
        self.stopping = False

    @classmethod
    def from_crawler(cls, crawler):
        grace = crawler.settings.getfloat("GOVCRAWL_STOP_GRACE", 3.0)
        if grace < 0:
            raise NotConfigured("GOVCRAWL_STOP_GRACE < 0: wait for every download, as Scrapy does")
        extension = cls(crawler, grace)
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        return extension

    def engine_started(self) -> None:
        # Scrapy's own handlers are installed by now (the process starts the reactor after them).
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if callable(previous):
                signal.signal(signum, self._wrap(previous))

    def _wrap(self, previous):
        def handler(signum, frame):
            previous(signum, frame)  # Scrapy: graceful stop, and a second signal kills
            if not self.stopping:
                self.stopping = True
                from twisted.internet import reactor

                reactor.callFromThread(reactor.callLater, self.grace, self.abort_downloads)

        return handler

    def abort_downloads(self) -> int:
        """Abort the HTTP connections still open; returns how many."""
        from twisted.internet import reactor, tcp

        aborted = 0
        for selectable in set(reactor.getReaders()) | set(reactor.getWriters()):
            if isinstance(selectable, tcp.Client):
                selectable.abortConnection()
                aborted += 1
        if aborted:
            self.crawler.stats.set_value("govcrawl/stop/aborted_connections", aborted)
            logger.info("Stopping: aborted %d download(s) still running after %.0f s", aborted, self.grace)
        return aborted


class RemoteControlIfEnabled:
    """Stands in ``EXTENSIONS`` for ``scrapy.extensions.remote_control.RemoteControl``."""

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("REMOTE_CONTROL_ENABLED"):
            raise NotConfigured  # no message: Scrapy logs a message as a warning
        try:
            from scrapy.extensions.remote_control import RemoteControl
        except ImportError as exc:  # a Scrapy before 2.19
            raise NotConfigured(f"this Scrapy has no remote control ({exc})") from None
        return RemoteControl.from_crawler(crawler)
