"""Downloader middlewares that keep the crawl polite and its pages honest.

* ``BackoffRetryMiddleware`` — Scrapy's retry, plus an exponential wait
  before each retry (honouring ``Retry-After``).  Government servers answer
  overload with 503/412/429 bursts; retrying at once only prolongs them.  The
  wait is a reactor timer, so other downloads go on meanwhile.
* ``ChallengePageMiddleware`` — WAF / anti-bot interstitials (``__jsl_clearance``,
  安全验证, tiny cookie-setting scripts, 412 + JS) are counted and turned into
  ``IgnoreRequest`` so they are never parsed as list or report pages.
* ``RobotsTxtMiddleware`` — Scrapy's, with an unreachable robots.txt logged as
  one WARNING line: the page request behind it fails the same way and is
  reported per portal by the spider, so a traceback there is only noise.
* ``MetaRefreshStubMiddleware`` — ``<meta http-equiv="refresh" content="0;url=…">``
  stubs, and tiny ``<script>location.href="…"</script>`` stubs, are followed
  once (not in loops) and counted.
"""

from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.downloadermiddlewares.robotstxt import logger as robotstxt_logger
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

from govcrawl.discovery import looks_like_challenge, meta_refresh_target, script_redirect_target

logger = logging.getLogger(__name__)


def backoff_delay(retry_times: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``retry_times`` (1, 2, …): base·2^(n-1), capped."""
    if base <= 0:
        return 0.0
    delay = base * 2 ** max(retry_times - 1, 0)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def retry_after_seconds(response: Response | None) -> float | None:
    """``Retry-After`` as seconds (either delta-seconds or an HTTP date)."""
    if response is None:
        return None
    raw = response.headers.get(b"Retry-After")
    if not raw:
        return None
    text = raw.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


async def reactor_sleep(seconds: float) -> None:
    await deferred_to_future(deferLater(reactor, seconds, lambda: None))


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware whose retries wait ``GOVCRAWL_RETRY_BACKOFF_BASE``·2^(n-1) s
    (at most ``GOVCRAWL_RETRY_BACKOFF_MAX``) before going back to the scheduler."""

    def __init__(self, settings, sleep=reactor_sleep):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("GOVCRAWL_RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("GOVCRAWL_RETRY_BACKOFF_MAX", 60.0)
        self.sleep = sleep

    async def _wait_before(self, retry: Request, response: Response | None = None) -> None:
        delay = backoff_delay(retry.meta.get("retry_times", 1), self.backoff_base, self.backoff_max, retry_after_seconds(response))
        if delay <= 0:
            return
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None:
            stats.inc_value("govcrawl/retry/backoff_waits")
        logger.debug("Waiting %.1fs before retrying %s", delay, retry.url)
        await self.sleep(delay)

    async def process_response(self, request: Request, response: Response, spider=None):
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._wait_before(result, response)
        return result

    async def process_exception(self, request: Request, exception: Exception, spider=None):
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._wait_before(result)
        return result


class _CountingMiddleware:
    """A middleware whose only dependency is the stats collector it counts in."""

    def __init__(self, stats=None):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)


class ChallengePageMiddleware(_CountingMiddleware):
    def process_response(self, request: Request, response: Response):
        if request.meta.get("playwright"):
            return response  # a rendered page ran its scripts already; the DOM is what we want
        if not looks_like_challenge(response.body, response.status):
            return response
        if self.stats is not None:
            self.stats.inc_value("govcrawl/challenge_pages")
            portal = request.meta.get("portal")
            if portal:
                self.stats.inc_value(f"govcrawl/portal/{portal}/challenges")
        logger.warning("Anti-bot challenge page instead of %s (HTTP %d); skipped", request.url, response.status)
        request.meta["govcrawl_challenge"] = True
        raise IgnoreRequest(f"anti-bot challenge page at {request.url}")


class MetaRefreshStubMiddleware(_CountingMiddleware):
    """Follows a meta-refresh stub once; a second stub in the chain is returned as is."""

    def process_response(self, request: Request, response: Response):
        if request.meta.get("govcrawl_meta_refreshed") or request.meta.get("playwright"):
            return response
        content_type = response.headers.get(b"Content-Type", b"").lower()
        if content_type and b"html" not in content_type:
            return response
        target = meta_refresh_target(response.body, response.url)
        counter = "govcrawl/meta_refresh_followed"
        if target is None:
            target, counter = script_redirect_target(response.body, response.url), "govcrawl/script_redirect_followed"
        if not target or target == response.url:
            return response
        if self.stats is not None:
            self.stats.inc_value(counter)
        logger.debug("Meta-refresh stub %s → %s", response.url, target)
        return request.replace(url=target, meta={**request.meta, "govcrawl_meta_refreshed": True}, dont_filter=True)


def robots_error_without_traceback(record: logging.LogRecord) -> bool:
    """Log filter: turn Scrapy's "Error downloading …/robots.txt" ERROR+traceback into one WARNING line."""
    if isinstance(record.msg, str) and record.msg.startswith("Error downloading"):
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
    return True


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    def __init__(self, crawler):
        super().__init__(crawler)
        robotstxt_logger.addFilter(robots_error_without_traceback)  # addFilter ignores a second add
