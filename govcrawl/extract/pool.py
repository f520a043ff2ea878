"""Extraction in worker processes, so parsing a document never holds up the crawl.

``ExtractorPool(workers=N)`` runs ``extract_document`` (or any top-level
function with its signature) in ``N`` worker processes; ``await
pool.extract(body, url, headers, portal=...)`` returns the item.  While a
document is parsed, the reactor goes on downloading.

* **Driven by the reactor.** Each worker has a socket to the crawler; tasks
  are written to it and results read from it by the event loop itself
  (``add_reader``/``add_writer``), with no threads in between.  Up to
  ``max_pending`` tasks (default 6 per worker, and no more than 16 MiB of
  them at one worker unless it has nothing) wait at the workers, so a worker
  that finishes one starts the next at once, whatever the crawler is doing;
  further callers wait (back-pressure on the item pipeline, hence on
  Scrapy's scraper).  The crawler answers a worker between its own
  callbacks, which under load take longer than a page takes to read: with 2
  tasks per worker, each worker of the benchmark crawl sat idle 1.4–1.8 of
  its 7 s while 150 documents waited; with 6, ~0.3 s (start and end).
* **One bad document costs one document.** A worker reads its tasks in
  order, so the pool knows which one it is on.  A document that takes longer
  than ``timeout`` seconds gets an item of its own with a warning, and its
  worker is replaced; a document whose worker dies (a segfault in a native
  reader, memory exhaustion) is read once more, and if that worker dies too,
  it gets an item saying so.  Tasks queued behind it go to the next worker;
  the other workers are not touched.
* **No creep.** A worker is replaced after ``max_tasks_per_child`` tasks.
* **Priority.** Workers run ``nice`` steps below the crawler (default 5): on
  a machine with fewer free cores than workers + 1, the crawler's downloads
  and discovery are not slowed by parsing, which takes what CPU is left.
* **Signals.** Workers ignore SIGINT: Ctrl-C is the crawl's to handle (it
  lets the documents in flight finish); ``close()`` waits for them.
* **No orphans.** A worker exits when the process that started the pool is
  gone, however it went (SIGKILL, the OOM killer): its socket reaches end of
  file, and it also watches that process (``_exit_with``) in case a copy of
  the socket lives on elsewhere.
* **Ready early.** ``start()`` starts the fork server and the workers in a
  thread: in a crawl as the crawler is built (``EarlyExtractionWorkers``;
  else the extraction pipeline calls it when the spider opens), so they are
  ready before the first document.

``workers=0`` runs the function in the calling thread (debugging, tests).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import importlib
import itertools
import logging
import multiprocessing
import os
import pickle
import select
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

DEFAULT_FUNCTION = "govcrawl.extract.report:extract_document"
DEFAULT_NICE = 5  # nice steps below the crawler (GOVCRAWL_EXTRACT_NICE)
DEFAULT_DEPTH = 6  # tasks waiting at one worker, when GOVCRAWL_EXTRACT_IN_FLIGHT does not say
QUEUED_BYTES = 16 << 20  # a worker with this much sent and unanswered gets no more until it answers
# Loaded once in the fork server, so no worker (nor its replacements) imports them again: the
# reader with its one-time tables built (``warm``), the archive's record builder (warcio) and the
# Chinese codecs that decoding tries.
_PRELOAD = ["govcrawl.extract.report", "govcrawl.extract.warm", "govcrawl.archive",
            "encodings.gb18030", "encodings.gbk", "encodings.big5"]
_HEADER = struct.Struct("!Q")  # every message: its length, then a pickle
_CHUNK = 1 << 20


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
    them nothing when the crawler dies.  Their sockets reach end of file then, unless a copy of
    the crawler's end lives on in some other process; so each worker also watches the crawler.
    A pidfd (Linux 5.3+) wakes this thread the moment the owner ends; elsewhere it looks once
    every ``poll`` seconds.
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


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(buffer)


def _worker_main(sock: socket.socket, owner: int, nice: int) -> None:
    """A worker's life: read a task, run it, write its result, until the crawler's end of the socket closes."""
    _worker_init(owner, nice)
    while True:
        header = _recv_exactly(sock, _HEADER.size)
        if header is None:
            return
        payload = _recv_exactly(sock, _HEADER.unpack(header)[0])
        if payload is None:
            return
        task_id, path, args = pickle.loads(payload)
        try:
            outcome = (task_id, True, _load(path)(*args))
        except Exception as exc:  # the caller raises it
            outcome = (task_id, False, exc)
        try:
            data = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable result or exception
            data = pickle.dumps((task_id, False, RuntimeError(f"{path} returned what cannot be sent back: {exc!r}")))
        sock.sendall(_HEADER.pack(len(data)) + data)


def _load(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _call_named(path: str, kwargs: dict):
    return _load(path)(**kwargs)


def _call(path: str, body: bytes, url: str, headers: dict | None, portal: str | None, extra: dict) -> dict:
    return _load(path)(body, url, headers, portal=portal, **extra)


def _call_also(path: str, body: bytes, url: str, headers: dict | None, portal: str | None, extra: dict,
               also_path: str, also_kwargs: dict) -> tuple[dict | Exception, object]:
    also = _load(also_path)(body=body, **also_kwargs)
    try:
        return _call(path, body, url, headers, portal, extra), also
    except Exception as exc:  # noqa: BLE001 - raised by the caller, after it has kept ``also``
        return exc, also


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
    """The crawl's one pool (``GOVCRAWL_EXTRACT_*`` settings), shared by the pipelines that use workers.

    Its owner is the crawler: it is closed when the engine stops, after every pipeline is done
    with it.  Who starts it does not matter (``start`` is idempotent); no user of it closes it.
    """
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
        from scrapy import signals

        crawler.signals.connect(pool.close, signal=signals.engine_stopped)
    return pool


class _Crashed(Exception):
    """The task's worker died while on it."""


class _TimedOut(Exception):
    """The task ran longer than the pool's timeout; its worker was killed."""


class _Task:
    __slots__ = ("id", "path", "args", "label", "future", "retries", "data", "size")

    def __init__(self, task_id: int, path: str, args: tuple, label: str, future: asyncio.Future, retries: int):
        self.id, self.path, self.args, self.label = task_id, path, args, label
        self.future, self.retries = future, retries
        self.data: bytes | None = None  # the message, from when the pool weighs it until it is sent
        self.size = 0

    def message(self) -> bytes:
        if self.data is None:
            payload = pickle.dumps((self.id, self.path, self.args), pickle.HIGHEST_PROTOCOL)
            self.data = _HEADER.pack(len(payload)) + payload
            self.size = len(self.data)
        return self.data


class _Worker:
    """One worker process and the crawler's end of its socket: what was sent, in order, and what is unsent."""

    def __init__(self, process, sock: socket.socket):
        self.process = process
        self.sock = sock
        self.fd = sock.fileno()
        self.tasks: deque[_Task] = deque()  # sent (or being sent), oldest first: the first is being read
        self.queued = 0                     # bytes of ``tasks``' messages
        self.head_since = 0.0                # when the first of ``tasks`` reached the front
        self.outbox = bytearray()           # written to the socket as it drains
        self.inbox = bytearray()
        self.sent = 0                       # tasks ever given to it
        self.retiring = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.writing = False

    def kill(self) -> None:
        try:
            if self.process.is_alive():
                self.process.kill()
        except (OSError, ValueError, AssertionError):
            pass


class ExtractorPool:
    def __init__(self, workers: int | None = None, *, timeout: float = 120.0, max_tasks_per_child: int = 200,
                 max_pending: int | None = None, function: str = DEFAULT_FUNCTION, stats=None,
                 nice: int = DEFAULT_NICE):
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self.nice = max(0, nice)
        self.timeout = timeout
        self.max_tasks_per_child = max(1, max_tasks_per_child)
        self.max_pending = max_pending or max(1, DEFAULT_DEPTH * self.workers)
        self.function = function
        self.stats = stats
        self._depth = max(1, -(-self.max_pending // max(1, self.workers)))  # tasks waiting at one worker
        self._live: list[_Worker] = []
        self._waiting: deque[_Task] = deque()
        self._ids = itertools.count()
        self._starting: concurrent.futures.Future | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle -----------------------------------------------------
    @property
    def running(self) -> bool:
        """True while worker processes exist (or are being started)."""
        return bool(self._live) or self._starting is not None

    def start(self) -> None:
        """Start the workers in a thread, now, so they are ready when the first document comes."""
        if self.workers and self._starting is None and not self._live:
            self._starting = concurrent.futures.Future()
            threading.Thread(target=self._start_all, args=(self._starting,), name="govcrawl-pool-start",
                             daemon=True).start()

    def _start_all(self, done: concurrent.futures.Future) -> None:
        try:
            workers = [self._spawn() for _ in range(self.workers)]
        except BaseException as exc:
            done.set_exception(exc)
        else:
            done.set_result(workers)

    def _spawn(self) -> _Worker:
        # forkserver: workers start from a clean, small server process, not a copy of the crawler
        # (whose reactor, sockets and browser must not be forked).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        mine, theirs = socket.socketpair()
        with theirs:
            process = context.Process(target=_worker_main, args=(theirs, os.getpid(), self.nice),
                                      name="govcrawl-extract", daemon=True)
            process.start()
        mine.setblocking(False)
        return _Worker(process, mine)

    async def _ready(self) -> None:
        if self._starting is None and not self._live:
            self.start()
        if self._starting is not None:
            starting = self._starting
            try:
                workers = await asyncio.wrap_future(starting)
            except Exception as exc:  # noqa: BLE001 - e.g. no fork server here: read in this process instead
                if self._starting is starting:
                    self._starting = None
                    logger.error("Extraction workers could not start (%r); documents are read in the crawler's "
                                 "own process", exc)
                    self.workers = 0
                return
            if self._starting is starting:  # not closed meanwhile
                self._starting = None
                loop = asyncio.get_running_loop()
                self._live.extend(self._attach(worker, loop) for worker in workers)

    def close(self) -> None:
        """Stop the workers: each finishes what it holds (nothing, at the end of a crawl) and exits."""
        starting, self._starting = self._starting, None
        workers = list(self._live)
        if starting is not None:
            try:
                workers += starting.result(timeout=60)
            except Exception:  # noqa: BLE001 - they never started
                pass
        self._live = []
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for worker in workers:
            self._detach(worker)
            try:
                worker.sock.shutdown(socket.SHUT_WR)  # end of file: the worker exits after its tasks
            except OSError:
                pass
        deadline = time.monotonic() + max(5.0, min(self.timeout, 60.0))
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.kill()
                worker.process.join(5)
            worker.sock.close()
        for task in list(self._waiting) + [task for worker in workers for task in worker.tasks]:
            if not task.future.done():
                task.future.cancel()
        self._waiting.clear()

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
        try:
            return await self._submit(_call, (self.function, body, url, headers, portal, extra), url, retries=1)
        except (_TimedOut, _Crashed) as failure:
            return self._failed(failure, body, url, portal)

    async def extract_also(self, body: bytes, url: str, headers: Mapping | None = None, *, portal: str | None = None,
                           also: tuple[str, dict], **extra) -> tuple[dict | Exception, object]:
        """``extract`` and, in the same task, ``module:function(body=body, **kwargs)`` (``also``).

        One hand-off per document instead of two, and the body crosses to the worker once: the
        crawl builds a document's archive record this way.  Returns ``(item, also's result)``;
        the item is the exception the extractor raised, if it raised one, so that ``also`` is
        never lost.  If the worker dies or times out, ``also`` runs here.
        """
        headers = plain_headers(headers)
        args = (self.function, body, url, headers, portal, extra, *also)
        if self.workers == 0:
            return _call_also(*args)
        try:
            return await self._submit(_call_also, args, url, retries=1)
        except (_TimedOut, _Crashed) as failure:
            return self._failed(failure, body, url, portal), _call_named(also[0], dict(also[1], body=body))

    def _failed(self, failure: Exception, body: bytes, url: str, portal: str | None) -> dict:
        if isinstance(failure, _TimedOut):
            self._inc("govcrawl/extract/timeouts")
            logger.warning("Extraction of %s took longer than %.0f s and was stopped", url, self.timeout)
            return failed_item(body, url, portal, f"extraction took longer than {self.timeout:.0f} s and was stopped; "
                                                  "nothing was read")
        self._inc("govcrawl/extract/crashes")
        logger.warning("The extractor's worker died reading %s; the document is skipped", url)
        return failed_item(body, url, portal, "the extractor's worker process died reading this document; "
                                              "nothing was read")

    async def run(self, path: str, **kwargs):
        """``module:function(**kwargs)`` in a worker, bounded like ``extract``: work the crawler need not do itself.

        For cheap, pure work (building an archive record): if its worker dies or it times out,
        the function runs here instead, so its result is never lost.
        """
        if self.workers == 0:
            return _call_named(path, kwargs)
        try:
            return await self._submit(_call_named, (path, kwargs), path, retries=0)
        except (_TimedOut, _Crashed):
            return _call_named(path, kwargs)

    async def _submit(self, function: Callable, args: tuple, label: str, retries: int):
        await self._ready()
        if self.workers == 0:  # they could not start
            return function(*args)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (asyncio.run twice): the workers move to it
            self._loop, self._watchdog = loop, None
            for worker in self._live:
                self._detach(worker)
                self._attach(worker, loop)
        task = _Task(next(self._ids), f"{function.__module__}:{function.__name__}", args, label,
                     loop.create_future(), retries)
        self._waiting.append(task)
        self._pump(loop)
        return await task.future

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand waiting tasks to the workers with room, the least busy first; replace workers that went."""
        while self._waiting:
            active = [w for w in self._live if not w.retiring]
            if len(active) < self.workers:
                try:
                    self._live.append(self._attach(self._spawn(), loop))
                except Exception as exc:  # noqa: BLE001 - no new worker: the waiting tasks fail as if it had died
                    logger.error("Could not start an extraction worker: %r", exc)
                    if not active:
                        while self._waiting:
                            task = self._waiting.popleft()
                            if not task.future.done():
                                task.future.set_exception(_Crashed())
                        return
                    self.workers = len(active)
                continue
            task = self._waiting[0]
            if task.future.done():  # its caller went away
                self._waiting.popleft()
                continue
            size = len(task.message())
            candidates = [w for w in active if len(w.tasks) < self._depth
                          and (not w.tasks or w.queued + size <= QUEUED_BYTES)]
            if not candidates:
                return
            self._waiting.popleft()
            self._send(min(candidates, key=lambda w: len(w.tasks)), task)

    def _attach(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> _Worker:
        if worker.loop is None:
            worker.loop = loop
            loop.add_reader(worker.fd, self._on_readable, worker)
        return worker

    def _detach(self, worker: _Worker) -> None:
        if worker.loop is not None:
            worker.loop.remove_reader(worker.fd)
            if worker.writing:
                worker.loop.remove_writer(worker.fd)
            worker.loop, worker.writing = None, False

    def _send(self, worker: _Worker, task: _Task) -> None:
        data = task.message()
        task.data = None  # the outbox holds it now (a task re-sent after a crash is pickled again)
        if not worker.tasks:
            worker.head_since = time.monotonic()
        worker.tasks.append(task)
        worker.queued += task.size
        worker.sent += 1
        if worker.sent >= self.max_tasks_per_child:
            worker.retiring = True  # a fresh one takes its place once it has done these
        worker.outbox += data
        self._flush(worker)
        self._arm_watchdog(worker.loop)

    def _flush(self, worker: _Worker) -> None:
        try:
            n = worker.sock.send(worker.outbox) if worker.outbox else 0
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:  # the worker is gone: its reader sees the end of file and deals with it
            worker.outbox.clear()
            return
        del worker.outbox[:n]
        if worker.outbox and not worker.writing:
            worker.loop.add_writer(worker.fd, self._flush, worker)
            worker.writing = True
        elif not worker.outbox and worker.writing:
            worker.loop.remove_writer(worker.fd)
            worker.writing = False

    def _on_readable(self, worker: _Worker) -> None:
        try:
            data = worker.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._lost(worker)
            return
        worker.inbox += data
        inbox, offset, done = worker.inbox, 0, False
        while len(inbox) - offset >= _HEADER.size:
            size = _HEADER.unpack_from(inbox, offset)[0]
            if len(inbox) - offset - _HEADER.size < size:
                break
            start = offset + _HEADER.size
            offset = start + size
            task = worker.tasks.popleft()  # a worker answers in order
            worker.queued -= task.size
            worker.head_since = time.monotonic()
            try:
                task_id, ok, value = pickle.loads(inbox[start:offset])
            except Exception as exc:  # noqa: BLE001 - e.g. an exception class this process cannot import
                task_id, ok, value = task.id, False, RuntimeError(f"{task.label}: unreadable result ({exc!r})")
            assert task.id == task_id, (task.id, task_id)
            if not task.future.done():
                if ok:
                    task.future.set_result(value)
                else:
                    task.future.set_exception(value)
            done = True
        if offset:
            del inbox[:offset]
        if done:
            loop = worker.loop
            if worker.retiring and not worker.tasks:
                self._retire(worker)
            self._pump(loop)

    def _drop(self, worker: _Worker, wait: float) -> None:
        """Out of the pool: no longer read or written, its socket closed; its process given ``wait`` s to end."""
        if worker in self._live:
            self._live.remove(worker)
        self._detach(worker)
        worker.sock.close()
        worker.process.join(wait)

    def _retire(self, worker: _Worker) -> None:
        """A worker that did its share: its socket is closed (it exits), a new one is started on demand."""
        self._drop(worker, 0)

    def _lost(self, worker: _Worker, why: _Crashed | _TimedOut | None = None) -> None:
        """A worker died (or was killed): its first task is to blame, the others go to other workers."""
        loop = worker.loop
        worker.kill()
        self._drop(worker, 1)
        if not worker.tasks:
            if not worker.retiring:
                logger.warning("An extraction worker exited unexpectedly (exit code %s)", worker.process.exitcode)
            return
        self._inc("govcrawl/extract/pool_restarts")
        head, *rest = worker.tasks
        if why is None:
            logger.warning("An extraction worker died while reading %s (exit code %s)", head.label,
                           worker.process.exitcode)
            if head.retries > 0:
                head.retries -= 1
                rest.insert(0, head)
            elif not head.future.done():
                head.future.set_exception(_Crashed())
        elif not head.future.done():
            head.future.set_exception(why)
        self._waiting.extendleft(reversed(rest))
        if loop is not None:
            self._pump(loop)

    def _arm_watchdog(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._watchdog is None:
            self._watchdog = loop.call_later(min(1.0, self.timeout / 4), self._watch, loop)

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Every second while there is work: kill the worker whose current task is over its time."""
        self._watchdog = None
        now = time.monotonic()
        for worker in list(self._live):
            if worker.tasks and now - worker.head_since > self.timeout:
                self._lost(worker, _TimedOut())
        if any(worker.tasks for worker in self._live):
            self._arm_watchdog(loop)
