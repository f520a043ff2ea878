"""Extensions: a stop that does not wait for hung downloads; Scrapy's remote control only when asked for;
extraction workers started early; a garbage collector tuned for a crawl.

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

``EarlyExtractionWorkers`` — when the crawl's item pipelines extract,
the extraction workers (``govcrawl.extract.pool``) start as the crawler is
built, not when the spider opens: the fork server's imports (~0.4 CPU s)
then run on the core the crawler's own start-up (engine, middlewares,
~0.2 s on one core) leaves idle, and the workers are ready before the
first document.  The pipelines use that same pool (``crawler_pool``), which
closes when the engine stops.

``LeanGarbageCollection`` — Python's cyclic collector runs after every 700
net allocations, and each full pass walks every object alive, the start-up's
modules and settings included.  A crawl allocates requests, responses and
items by the hundred thousand, almost none of them in cycles: on the
benchmark crawl the collector took 0.42 of the crawler's 6.6 CPU seconds.
When the spider opens, the objects of the start-up are frozen
(``gc.freeze``: never walked again) and the thresholds raised to
``GOVCRAWL_GC_THRESHOLD`` (10000, then 20 and 20): 0.06 s.  Cycles are still
collected, a few thousand allocations later.  The spider's close restores
Python's settings.  And once a crawl has closed, the process freezes its
objects when it exits (after the handlers registered before, so after the
feed, the archive, the state and the logs are closed): Python's last
collections at exit walk every object alive only to free memory the
operating system takes back anyway, 0.15–0.25 s of every ``scrapy crawl``
on the benchmark crawl, ~0.03 s now.  ``GOVCRAWL_GC_THRESHOLD=0`` leaves
all of this to Python.
"""

from __future__ import annotations

import atexit
import gc
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


class EarlyExtractionWorkers:
    @classmethod
    def from_crawler(cls, crawler):
        from govcrawl.extract.pool import crawler_pool
        from govcrawl.pipelines import EXTRACT_PIPELINE, pipeline_order

        if EXTRACT_PIPELINE not in pipeline_order(crawler.settings):
            raise NotConfigured("no extraction pipeline")
        pool = crawler_pool(crawler)
        if not pool.workers:
            raise NotConfigured("GOVCRAWL_EXTRACT_WORKERS=0: documents are read in the crawler")
        pool.start()  # closed with the engine, by crawler_pool's own signal
        return cls()


class LeanGarbageCollection:
    def __init__(self, threshold: int):
        self.threshold = threshold
        self.saved: tuple[int, ...] | None = None

    @classmethod
    def from_crawler(cls, crawler):
        threshold = crawler.settings.getint("GOVCRAWL_GC_THRESHOLD", 10000)
        if threshold <= 0:
            raise NotConfigured("GOVCRAWL_GC_THRESHOLD <= 0: Python's own collector settings")
        extension = cls(threshold)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        if self.saved is None:
            self.saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(self.threshold, 20, 20)

    def spider_closed(self) -> None:
        if self.saved is not None:
            gc.set_threshold(*self.saved)
            gc.unfreeze()  # a process that runs more crawls (tests, scripts) does not keep them
            self.saved = None
        global _FREEZE_AT_EXIT
        if not _FREEZE_AT_EXIT:
            _FREEZE_AT_EXIT = True
            atexit.register(gc.freeze)


# Whether the process freezes its objects at exit (once, whatever the number of crawls it ran).
_FREEZE_AT_EXIT = False
