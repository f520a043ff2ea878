"""Extraction in worker processes, so parsing a document never holds up the crawl.

``ExtractorPool(workers=N)`` runs ``extract_document`` (or any top-level
function with its signature) in ``N`` worker processes; ``await
pool.extract(body, url, headers, portal=...)`` returns the item.  While a
document is parsed, the reactor goes on downloading.

* **Bounded.** At most ``max_pending`` documents (default 2 × workers) are
  handed to the workers at once; further callers wait (back-pressure on the
  item pipeline, hence on Scrapy's scraper).
* **One bad document costs one document.** A document that takes longer than
  ``timeout`` seconds, or whose worker dies (a segfault in a native reader,
  memory exhaustion), gets an item of its own with a warning saying so; the
  workers are replaced and the other documents in flight are sent again.
* **No creep.** A worker is replaced after ``max_tasks_per_child`` documents.
* **Priority.** Workers run ``nice`` steps below the crawler (default 5): on
  a machine with fewer free cores than workers + 1, the crawler's downloads
  and discovery are not slowed by parsing, which takes what CPU is left.
* **Signals.** Workers ignore SIGINT: Ctrl-C is the crawl's to handle (it
  lets the documents in flight finish); ``close()`` waits for them.
* **No orphans.** A worker exits when the process that started the pool is
  gone, however it went (SIGKILL, the OOM killer): each worker watches it
  (``_exit_with``), since a worker of a dead pool would otherwise wait for
  work forever, and keep the fork server alive with it.

``workers=0`` runs the function in the calling thread (debugging, tests).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

logger = logging.getLogger(__name__)

DEFAULT_FUNCTION = "govcrawl.extract.report:extract_document"
DEFAULT_NICE = 5  # nice steps below the crawler (GOVCRAWL_EXTRACT_NICE)


def _worker_init(owner: int, nice: int = 0) -> None:
    """In each worker: leave Ctrl-C to the crawl, yield the CPU to it (``nice``), and exit when ``owner`` is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice > 0:
        try:
            os.nice(nice)
        except OSError:  # not allowed here: run at the crawler's priority
            pass
    threading.Thread(target=_exit_with, args=(owner,), name="govcrawl-owner-watch", daemon=True).start()


def _exit_with(owner: int, poll: float = 1.0) -> None:
    """Block until process ``owner`` ends, then end this one.

    A pool's workers are children of the fork server, not of the crawler, so the kernel tells
    them nothing when the crawler dies; and each holds both ends of its task queue, so it
    would wait for a task forever.  A pidfd (Linux 5.3+) wakes this thread the moment the
    owner ends; elsewhere it looks once every ``poll`` seconds.
    """
    try:
        fd = os.pidfd_open(owner)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:
        while True:
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                break
            except PermissionError:  # alive, and someone else's
                pass
            time.sleep(poll)
    os._exit(0)


def _load(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _call_named(path: str, kwargs: dict):
    return _load(path)(**kwargs)


def _call(path: str, body: bytes, url: str, headers: dict | None, portal: str | None, extra: dict) -> dict:
    return _load(path)(body, url, headers, portal=portal, **extra)


def plain_headers(headers: Mapping | None) -> dict[str, str] | None:
    """Scrapy ``Headers`` (bytes, lists) as a plain picklable ``{name: first value}``."""
    if not headers:
        return None
    out = {}
    for key, value in headers.items():
        if isinstance(value, (list, tuple)):
            value = value[0] if value else b""
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        out[name] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return out


def failed_item(body: bytes, url: str, portal: str | None, warning: str) -> dict:
    """The item of a document the extractor could not finish: no tables, the reason in ``warnings``."""
    from govcrawl.extract.report import PROVENANCE_KEYS

    provenance = {key: None for key in PROVENANCE_KEYS}
    provenance.update(source_url=url, content_sha256=hashlib.sha256(body or b"").hexdigest())
    return {"url": url, "portal": portal, "title": None, "agency": None, "year": None, "format": None,
            "provenance": provenance, "tables": {}, "checks": [], "warnings": [warning]}


def crawler_pool(crawler) -> ExtractorPool:
    """The crawl's one pool (``GOVCRAWL_EXTRACT_*`` settings), shared by the pipelines that use workers."""
    pool = getattr(crawler, "_govcrawl_extractor_pool", None)
    if pool is None:
        settings = crawler.settings
        workers = settings.get("GOVCRAWL_EXTRACT_WORKERS")
        pool = ExtractorPool(None if workers in (None, "") else int(workers),
                             timeout=settings.getfloat("GOVCRAWL_EXTRACT_TIMEOUT", 300),
                             max_tasks_per_child=settings.getint("GOVCRAWL_EXTRACT_MAX_TASKS", 1000),
                             max_pending=settings.getint("GOVCRAWL_EXTRACT_IN_FLIGHT", 0) or None,
                             nice=settings.getint("GOVCRAWL_EXTRACT_NICE", DEFAULT_NICE), stats=crawler.stats)
        crawler._govcrawl_extractor_pool = pool
    return pool


class ExtractorPool:
    def __init__(self, workers: int | None = None, *, timeout: float = 120.0, max_tasks_per_child: int = 200,
                 max_pending: int | None = None, function: str = DEFAULT_FUNCTION, stats=None,
                 nice: int = DEFAULT_NICE):
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self.nice = max(0, nice)
        self.timeout = timeout
        self.max_tasks_per_child = max_tasks_per_child
        self.max_pending = max_pending or max(1, 2 * self.workers)
        self.function = function
        self.stats = stats
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._slots: asyncio.Semaphore | None = None

    # -- lifecycle -----------------------------------------------------
    def _new_executor(self, workers: int | None = None) -> ProcessPoolExecutor:
        # forkserver: workers start from a clean, small server process, not a copy of the crawler
        # (whose reactor, sockets and browser must not be forked).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["govcrawl.extract.report"])
        return ProcessPoolExecutor(max_workers=workers or self.workers, mp_context=context,
                                   initializer=_worker_init, initargs=(os.getpid(), self.nice),
                                   max_tasks_per_child=self.max_tasks_per_child)

    def _executor_now(self) -> tuple[ProcessPoolExecutor, int]:
        if self._executor is None:
            self._executor = self._new_executor()
            self._generation += 1
        return self._executor, self._generation

    def _replace(self, generation: int, why: str) -> None:
        """Kill the workers of ``generation`` (if still current) and start afresh on the next call."""
        if generation != self._generation or self._executor is None:
            return
        executor, self._executor = self._executor, None
        for process in list(getattr(executor, "_processes", {}).values()):
            if process.is_alive():
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)
        self._inc("govcrawl/extract/pool_restarts")
        logger.warning("Extraction workers replaced: %s", why)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    # -- work ------------------------------------------------------------
    async def extract(self, body: bytes, url: str, headers: Mapping | None = None, *,
                      portal: str | None = None, **extra) -> dict:
        """The item of one document; ``extra`` goes to the function as is (``images=`` of a 图片版 page)."""
        headers = plain_headers(headers)
        if self.workers == 0:
            return _call(self.function, body, url, headers, portal, extra)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_pending)
        async with self._slots:
            executor, generation = self._executor_now()
            try:
                future = executor.submit(_call, self.function, body, url, headers, portal, extra)
                return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
            except asyncio.TimeoutError:
                self._replace(generation, f"{url} took longer than {self.timeout:.0f} s")
                return self._timed_out(body, url, portal)
            except (BrokenProcessPool, RuntimeError) as exc:
                # a worker died (this document, or another one in flight), or the pool was replaced
                # under us: read this document once more, alone, so that a crash there is its own
                self._replace(generation, f"a worker died while {url} was being read ({exc!r})")
            return await self._alone(body, url, headers, portal, extra)

    async def run(self, path: str, **kwargs):
        """``module:function(**kwargs)`` in a worker, bounded like ``extract``: work the crawler need not do itself.

        For cheap, pure work (building an archive record): if the pool fails under it (a worker
        died reading another document, a timeout), the function runs here instead, so its
        result is never lost.
        """
        if self.workers == 0:
            return _call_named(path, kwargs)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_pending)
        async with self._slots:
            executor, generation = self._executor_now()
            try:
                future = executor.submit(_call_named, path, kwargs)
                return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
            except asyncio.TimeoutError:
                self._replace(generation, f"{path} took longer than {self.timeout:.0f} s")
            except (BrokenProcessPool, RuntimeError) as exc:
                self._replace(generation, f"a worker died during {path} ({exc!r})")
        return _call_named(path, kwargs)

    async def _alone(self, body: bytes, url: str, headers: dict | None, portal: str | None, extra: dict) -> dict:
        executor = self._new_executor(workers=1)
        try:
            future = executor.submit(_call, self.function, body, url, headers, portal, extra)
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
            return self._timed_out(body, url, portal)
        except BrokenProcessPool:
            self._inc("govcrawl/extract/crashes")
            logger.warning("The extractor's worker died reading %s; the document is skipped", url)
            return failed_item(body, url, portal, "the extractor's worker process died reading this document; "
                                                  "nothing was read")
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    def _timed_out(self, body: bytes, url: str, portal: str | None) -> dict:
        self._inc("govcrawl/extract/timeouts")
        logger.warning("Extraction of %s took longer than %.0f s and was stopped", url, self.timeout)
        return failed_item(body, url, portal, f"extraction took longer than {self.timeout:.0f} s and was stopped; "
                                              "nothing was read")
