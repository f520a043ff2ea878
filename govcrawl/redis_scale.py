"""Scale-out: N crawler processes share one Redis frontier and one seen-set.

Switched on by ONE knob, ``GOVCRAWL_REDIS_URL`` (setting or environment
variable, e.g. ``redis://10.0.0.5:6379/0``): the ``RedisScaleAddon`` (listed in
``ADDONS`` in settings.py) then swaps in scrapy-redis' scheduler and
dupefilter through the thin subclasses below. The crawl state
(``govcrawl.state``) follows the same variable to its Redis backend.

Why subclasses and not scrapy-redis as is (checked against scrapy-redis 0.9.1
with Scrapy 2.19):

* its dupefilter hashes requests with its own recipe; ``RedisDupeFilter`` uses
  the crawler's ``request_fingerprinter`` (REQUEST_FINGERPRINTER_* settings apply);
* every worker runs the spider's ``start()``; entry requests are often
  ``dont_filter`` and would be fetched once per worker. ``RedisScheduler``
  puts first-time entry requests through the shared seen-set as well;
* with ``SCHEDULER_PERSIST = False`` the first worker to finish deletes the
  shared queue and seen-set under the feet of the others, and with ``True``
  the next run finds every URL "seen". ``RedisScheduler`` lets the *last*
  live worker clear them when the crawl finished, and keeps them (marked
  resumable) when it was interrupted gracefully (SIGTERM / Ctrl-C);
* ``SCHEDULER_IDLE_BEFORE_CLOSE`` only works as a blocking pop of the FIFO/LIFO
  queues (it would freeze the reactor) and does nothing for the default
  priority queue: a worker would close as soon as the shared queue is empty,
  while another worker is still about to push links. ``RedisScheduler``
  keeps an idle worker open while any other worker is busy, and lets it close
  after the queue stayed empty and every worker idle for
  ``GOVCRAWL_REDIS_IDLE_SECONDS`` (default 10; checked on Scrapy's 5 s heartbeat).

An idle worker also polls the shared queue every second (its own heartbeat)
instead of Scrapy's 5 s, so it joins in as soon as another worker pushes links.

Needs Redis >= 6.2 (GETDEL). Reset the frontier by hand:
``python -m govcrawl.redis_scale reset``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import time
import uuid
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from govcrawl.scale_addon import KEY_PREFIX

logger = logging.getLogger(__name__)

DEFAULT_IDLE_SECONDS = 10.0
HEARTBEAT_SECONDS = 1.0
# A worker whose heartbeat is older than this is taken for dead.
WORKER_TTL_SECONDS = 15.0

# Registers a worker and counts the other live ones in one atomic step, so two
# workers starting together never both believe they are alone.
_REGISTER_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
return redis.call('ZCARD', KEYS[1]) - 1
"""


class RedisDupeFilter(RFPDupeFilter):
    """scrapy-redis' shared seen-set, fingerprinting with the crawler's fingerprinter."""

    fingerprinter: Any = None

    @classmethod
    def from_spider(cls, spider: Any) -> RedisDupeFilter:
        df = super().from_spider(spider)
        df.fingerprinter = getattr(spider.crawler, "request_fingerprinter", None)
        return df

    def request_fingerprint(self, request: Any) -> str:
        if self.fingerprinter is not None:
            return self.fingerprinter.fingerprint(request).hex()
        return super().request_fingerprint(request)

    def close(self, reason: str = "") -> None:
        # The seen-set is shared: only RedisScheduler.close decides when it goes.
        pass


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler, safe for several workers and for recrawls."""

    crawler: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.idle_seconds = crawler.settings.getfloat(
            "GOVCRAWL_REDIS_IDLE_SECONDS", DEFAULT_IDLE_SECONDS
        )
        scheduler.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    # --- keys -------------------------------------------------------------
    def _key(self, name: str) -> str:
        return (KEY_PREFIX % {"spider": self.spider.name}) + ":" + name

    # --- lifecycle -------------------------------------------------------------
    def open(self, spider: Any) -> None:
        # scrapy-redis' open() minus its deprecated spider.log() call.
        self.spider = spider
        self.queue = load_object(self.queue_cls)(
            server=self.server, spider=spider,
            key=self.queue_key % {"spider": spider.name}, serializer=self.serializer,
        )
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if self.flush_on_start:
            self.flush()
        self.workers_key, self.busy_key = self._key("workers"), self._key("busy")
        self.resumable_key = self._key("resumable")
        self._idle_since: float | None = None
        now = time.time()
        others = self.server.eval(
            _REGISTER_LUA, 1, self.workers_key, now, now - WORKER_TTL_SECONDS, self.worker_id
        )
        if int(others) == 0:
            resumable = self.server.getdel(self.resumable_key)
            leftover = len(self.queue) or self.server.exists(self.df.key)
            if leftover and not resumable:
                # Left by a crash: in-flight requests were lost from the queue but
                # are in the seen-set. Start afresh; the crawl state keeps every
                # report that reached the feed, so nothing is emitted twice.
                logger.warning("Redis frontier left by an unclean stop: starting afresh")
                self.flush()
            elif leftover:
                logger.info("Resuming interrupted distributed crawl (%d queued)", len(self.queue))
        logger.info("Redis worker %s joined (%d other live workers)", self.worker_id, int(others))
        self._heartbeat = task.LoopingCall(self._beat)
        self._heartbeat.start(HEARTBEAT_SECONDS, now=True)

    def close(self, reason: str) -> None:
        if getattr(self, "_heartbeat", None) is not None and self._heartbeat.running:
            self._heartbeat.stop()
        self.server.zrem(self.workers_key, self.worker_id)
        self.server.zrem(self.busy_key, self.worker_id)
        others = self.server.zcount(self.workers_key, time.time() - WORKER_TTL_SECONDS, "+inf")
        if others:
            return
        if reason == "finished" and not len(self.queue):
            self.flush()  # the run is over: the next one starts with an empty seen-set
            self.server.delete(self.resumable_key, self.workers_key, self.busy_key)
        else:
            self.server.set(self.resumable_key, reason)
            logger.info("Distributed crawl interrupted (%s): frontier kept for resume", reason)

    # --- scheduling -----------------------------------------------------------
    def enqueue_request(self, request: Any) -> bool:
        # Same as scrapy-redis, plus entry dedupe, minus the deprecated stats(spider=) calls.
        if not request.dont_filter or self._is_first_entry(request):
            if self.df.request_seen(request):
                self.df.log(request, self.spider)
                if request.dont_filter and self.stats:
                    # Another worker's start() already queued this entry page.
                    self.stats.inc_value("govcrawl/redis/entry_deduped")
                return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    @staticmethod
    def _is_first_entry(request: Any) -> bool:
        meta = request.meta
        return (
            meta.get("govcrawl_kind") == "entry"
            and not meta.get("retry_times")
            and not meta.get("redirect_times")
            and not meta.get("playwright")
        )

    def next_request(self) -> Any:
        request = self.queue.pop(0)  # never block: a blocking pop freezes the reactor
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    # --- liveness and idling ----------------------------------------------------
    def _engine_busy(self) -> bool:
        engine = getattr(self.crawler, "engine", None)
        try:
            return bool(engine) and not engine.spider_is_idle()
        except Exception:
            return False

    def _beat(self) -> None:
        now = time.time()
        try:
            pipe = self.server.pipeline()
            pipe.zadd(self.workers_key, {self.worker_id: now})
            busy = self._engine_busy()
            if busy:
                pipe.zadd(self.busy_key, {self.worker_id: now})
            pipe.zcard(self.queue.key)
            queued = pipe.execute()[-1]
            if not busy and queued:
                self._wake_engine()
        except Exception:
            logger.warning("Redis heartbeat failed", exc_info=True)

    def _wake_engine(self) -> None:
        """An idle engine looks at the scheduler only every 5 s; other workers push work
        into the shared queue meanwhile: ask for the next request now."""
        try:
            self.crawler.engine._slot.nextcall.schedule()  # private, hence guarded
        except Exception:
            pass

    def spider_idle(self, spider: Any) -> None:
        now = time.time()
        if len(self.queue):
            self._idle_since = None
            raise DontCloseSpider
        # A worker counts as busy while its last busy heartbeat is recent; no snapshot of
        # "idle right now" (a worker between two responses is briefly idle).
        window = max(self.idle_seconds, 2 * HEARTBEAT_SECONDS)
        busy = [
            w for w in self.server.zrangebyscore(self.busy_key, now - window, "+inf")
            if (w.decode() if isinstance(w, bytes) else w) != self.worker_id
        ]
        if busy:
            logger.debug("Idle, waiting: %d other worker(s) busy", len(busy))
            self._idle_since = None
            raise DontCloseSpider
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.idle_seconds:
            raise DontCloseSpider
        logger.info(
            "Shared queue empty and no worker busy for %.0fs: worker %s closes",
            now - self._idle_since, self.worker_id,
        )

def main(argv: list[str] | None = None) -> int:
    import redis

    parser = argparse.ArgumentParser(prog="python -m govcrawl.redis_scale")
    parser.add_argument("command", choices=["info", "reset"])
    parser.add_argument("--url", default=os.environ.get("GOVCRAWL_REDIS_URL"), help="default: $GOVCRAWL_REDIS_URL")
    parser.add_argument("--spider", default="portals")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url or GOVCRAWL_REDIS_URL is required")
    server = redis.Redis.from_url(args.url)
    prefix = KEY_PREFIX % {"spider": args.spider}
    keys = [prefix + ":" + name for name in ("requests", "dupefilter", "workers", "busy", "resumable")]
    if args.command == "reset":
        server.delete(*keys)
        print(f"frontier reset: {prefix}:*")
    else:
        print(
            f"{prefix}: {server.zcard(keys[0])} queued, {server.scard(keys[1])} seen, "
            f"{server.zcard(keys[2])} workers, resumable={server.get(keys[4])!r}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
