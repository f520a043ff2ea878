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
* ``PortalScopeMiddleware`` — every request stays on its portal's hosts, not
  only the links the spider extracts: a redirect hop, a meta-refresh or
  script-redirect target, a retry, all pass here again before anything is
  sent (robots.txt of a foreign host included).  Refusals are counted as
  ``govcrawl/offsite/<how>`` and logged once per host.  The browser's own
  navigations and sub-requests are held to the same hosts by
  ``govcrawl.browser.abort_offsite_request`` (``PLAYWRIGHT_ABORT_REQUEST``).
* ``ListBudgetMiddleware`` — pages of a list the spider has given up on
  (page cap, too many pages without a new report, a URL-space trap) are not
  fetched even when already queued.

Cookies: Scrapy's cookie middleware asks ``tldextract`` whether a cookie's
domain is a public suffix, and tldextract's default downloads the
public-suffix list.  Only the portals may be contacted, so the module swaps in
an extractor that reads the list bundled with tldextract and never fetches.
"""

from __future__ import annotations

import logging
import re
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.downloadermiddlewares.robotstxt import logger as robotstxt_logger
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

import scrapy.downloadermiddlewares.cookies as scrapy_cookies
import tldextract

from govcrawl.discovery import PortalScope, looks_like_challenge, meta_refresh_target, script_redirect_target

logger = logging.getLogger(__name__)

# Offline public-suffix data for the cookie jar (see the module docstring).
scrapy_cookies._split_domain = tldextract.TLDExtract(include_psl_private_domains=True, suffix_list_urls=(),
                                                     cache_dir=None)


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


# A page in the browser has passed its challenge when it is big enough to be a real page and
# carries none of the challenge markers (a positive check on the body, not just a 200).
_PASSED_JS = """() => {
  const html = document.documentElement ? document.documentElement.outerHTML : "";
  return html.length > %d && !/%s/.test(html);
}"""


class ChallengePageMiddleware(_CountingMiddleware):
    """WAF / anti-bot interstitials: retried with patience, then once in a real browser, else skipped.

    1. A challenge (412/521 + script, ``__jsl_clearance``, 安全验证 …) is asked
       again ``GOVCRAWL_CHALLENGE_RETRIES`` times with back-off; the cookie jar
       keeps what the stub set, and many stubs clear on a second request.
    2. Then, when Chromium is there, one browser attempt that waits up to
       ``GOVCRAWL_CHALLENGE_TIMEOUT`` seconds for the real page while the
       stub's script sets its cookie and reloads.  The spider's
       ``challenge_passed`` copies the cookies the browser earned into the
       plain requests of that host and asks for the page again, plain.
    3. Otherwise the request is dropped (``IgnoreRequest``), never parsed.

    Per portal: ``challenges``, ``challenge_passed``, ``challenge_failed``.
    """

    def __init__(self, crawler, sleep=reactor_sleep):
        super().__init__(crawler.stats)
        self.crawler = crawler
        self.sleep = sleep
        settings = crawler.settings
        self.retries = settings.getint("GOVCRAWL_CHALLENGE_RETRIES", 2)
        self.timeout = settings.getfloat("GOVCRAWL_CHALLENGE_TIMEOUT", 45.0)
        self.backoff_base = settings.getfloat("GOVCRAWL_RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("GOVCRAWL_RETRY_BACKOFF_MAX", 60.0)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _inc(self, request: Request, counter: str) -> None:
        if self.stats is None:
            return
        portal = request.meta.get("portal")
        if portal:
            self.stats.inc_value(f"govcrawl/portal/{portal}/{counter}")

    async def process_response(self, request: Request, response: Response, spider=None):
        if request.meta.get("govcrawl_challenge_browser"):
            if looks_like_challenge(response.body, 200):
                self._inc(request, "challenge_failed")
                request.meta["govcrawl_challenge"] = True
                logger.warning("[%s] the browser did not get past the challenge at %s within %.0f s",
                               request.meta.get("portal"), request.url, self.timeout)
                raise IgnoreRequest(f"anti-bot challenge not passed at {request.url}")
            return response
        if request.meta.get("playwright"):
            return response  # a rendered page ran its scripts already; the DOM is what we want
        if not looks_like_challenge(response.body, response.status):
            return response
        if self.stats is not None:
            self.stats.inc_value("govcrawl/challenge_pages")
        self._inc(request, "challenges")
        tries = request.meta.get("govcrawl_challenge_tries", 0)
        if tries < self.retries:
            delay = backoff_delay(tries + 1, self.backoff_base, self.backoff_max, retry_after_seconds(response))
            logger.info("Anti-bot challenge at %s (HTTP %d); asking again in %.1f s", request.url, response.status,
                        delay)
            if delay > 0:
                await self.sleep(delay)
            return request.replace(meta={**request.meta, "govcrawl_challenge_tries": tries + 1}, dont_filter=True)
        browser = self._browser_attempt(request)
        if browser is not None:
            logger.info("[%s] trying the challenge at %s in the browser (up to %.0f s)",
                        request.meta.get("portal"), request.url, self.timeout)
            return browser
        self._inc(request, "challenge_failed")
        logger.warning("Anti-bot challenge page instead of %s (HTTP %d); skipped", request.url, response.status)
        request.meta["govcrawl_challenge"] = True
        raise IgnoreRequest(f"anti-bot challenge page at {request.url}")

    def _browser_attempt(self, request: Request) -> Request | None:
        spider = getattr(self.crawler, "spider", None)
        if (request.meta.get("govcrawl_challenge_browser_tried") or not getattr(spider, "browser", None)
                or not hasattr(spider, "challenge_passed")):
            return None
        from scrapy_playwright.page import PageMethod

        from govcrawl.discovery import CHALLENGE_MARKERS

        markers = "|".join(re.escape(m) for m in CHALLENGE_MARKERS)
        meta = {
            "portal": request.meta.get("portal"),
            "govcrawl_kind": request.meta.get("govcrawl_kind"),
            "govcrawl_challenge_browser": True,
            "govcrawl_original": request.to_dict(spider=spider),
            "playwright": True,
            "playwright_include_page": True,
            "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded", "timeout": self.timeout * 1000},
            "playwright_page_methods": [PageMethod("wait_for_function", _PASSED_JS % (2048, markers),
                                                   timeout=self.timeout * 1000, polling=500)],
            "download_timeout": self.timeout + 15,
            "handle_httpstatus_all": True,  # the first answer was the 412/521; what counts is the page at the end
            "dont_retry": True,
        }
        return Request(request.url, callback=spider.challenge_passed, errback=spider.challenge_failed, meta=meta,
                       dont_filter=True, priority=request.priority)


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


# ------------------------------------------------------------------ scope

def _how_it_got_here(request: Request) -> str:
    if request.meta.get("govcrawl_meta_refreshed"):
        return "refresh"
    if request.meta.get("redirect_urls"):
        return "redirect"
    if request.meta.get("playwright"):
        return "browser"
    return "link"


class PortalScopeMiddleware(_CountingMiddleware):
    """Refuse any request outside the hosts of the portal it belongs to (``meta["portal"]``)."""

    def __init__(self, stats=None, crawler=None):
        super().__init__(stats)
        self.crawler = crawler
        self.refused_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats, crawler)

    def _scope(self, request: Request) -> PortalScope | None:
        spider = getattr(self.crawler, "spider", None)
        return (getattr(spider, "scopes", None) or {}).get(request.meta.get("portal"))

    def process_request(self, request: Request):
        scope = self._scope(request)
        if scope is None or scope.allows(request.url):
            return None
        how = _how_it_got_here(request)
        if self.stats is not None:
            self.stats.inc_value("govcrawl/offsite/refused")
            self.stats.inc_value(f"govcrawl/offsite/{how}")
        host = urlsplit(request.url).hostname or request.url
        if host not in self.refused_hosts:
            self.refused_hosts.add(host)
            came_from = (request.meta.get("redirect_urls") or [None])[0]
            logger.info("[%s] not leaving the portal for %s (%s%s)", request.meta.get("portal"), host, how,
                        f" from {came_from}" if came_from else "")
        raise IgnoreRequest(f"outside portal {request.meta.get('portal')}: {request.url}")


# ------------------------------------------------------------------ list budget

class ListBudgetMiddleware(_CountingMiddleware):
    """Drop queued pages of lists the spider stopped (``spider.stopped_lists``), before they are fetched."""

    def __init__(self, stats=None, crawler=None):
        super().__init__(stats)
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats, crawler)

    def process_request(self, request: Request):
        root = request.meta.get("govcrawl_list_root")
        spider = getattr(self.crawler, "spider", None)
        if root and root in (getattr(spider, "stopped_lists", None) or ()):
            if self.stats is not None:
                self.stats.inc_value("govcrawl/lists/pages_dropped")
            raise IgnoreRequest(f"list {root} was stopped")
        return None
