"""Downloader middlewares: retry backoff, challenge pages, meta-refresh stubs, robots.txt noise."""

import asyncio
import logging

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError

from govcrawl.middlewares import (
    BackoffRetryMiddleware,
    ChallengePageMiddleware,
    MetaRefreshStubMiddleware,
    backoff_delay,
    retry_after_seconds,
    robots_error_without_traceback,
)


def crawler(**settings):
    crawler = get_crawler(Spider, {"RETRY_TIMES": 3, "GOVCRAWL_RETRY_BACKOFF_BASE": 1.0,
                                   "GOVCRAWL_RETRY_BACKOFF_MAX": 60.0, **settings})
    crawler.spider = crawler._create_spider("test")
    return crawler


def sleeping_middleware(cls, **settings):
    """A middleware that waits through ``sleep``, with a sleep that only notes how long it would wait."""
    c = crawler(**settings)
    middleware = cls.from_crawler(c)
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    middleware.sleep = fake_sleep
    return middleware, slept, c


def retry_middleware(**settings):
    return sleeping_middleware(BackoffRetryMiddleware, **settings)


def test_backoff_delay_doubles_and_caps():
    assert [backoff_delay(n, 1.0, 60.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(10, 1.0, 60.0) == 60.0
    assert backoff_delay(1, 1.0, 60.0, retry_after=30) == 30.0
    assert backoff_delay(1, 1.0, 60.0, retry_after=3600) == 60.0
    assert backoff_delay(3, 0, 60.0) == 0.0


def test_retry_after_header():
    request = Request("http://a.gov.cn/")
    assert retry_after_seconds(Response("http://a.gov.cn/", headers={"Retry-After": "7"}, request=request)) == 7.0
    assert retry_after_seconds(Response("http://a.gov.cn/", request=request)) is None
    past = Response("http://a.gov.cn/", headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, request=request)
    assert retry_after_seconds(past) == 0.0


def test_retries_wait_longer_each_time_then_give_up():
    middleware, slept, c = retry_middleware()
    request = Request("http://a.gov.cn/xxgk/")
    for _ in range(3):
        response = Response(request.url, status=503, request=request)
        request = asyncio.run(middleware.process_response(request, response))
        assert isinstance(request, Request)
    final = Response(request.url, status=503, request=request)
    assert asyncio.run(middleware.process_response(request, final)) is final  # gave up: no 4th retry
    assert slept == [1.0, 2.0, 4.0]
    assert c.stats.get_value("govcrawl/retry/backoff_waits") == 3


@pytest.mark.parametrize("status", [412, 429, 500, 502, 504, 522, 524, 408])
def test_retry_codes_from_project_settings(status):
    from govcrawl import settings

    middleware, slept, _ = retry_middleware(RETRY_HTTP_CODES=settings.RETRY_HTTP_CODES)
    request = Request("http://a.gov.cn/")
    result = asyncio.run(middleware.process_response(request, Response(request.url, status=status, request=request)))
    assert isinstance(result, Request) and slept == [1.0]


def test_ok_response_not_delayed():
    middleware, slept, _ = retry_middleware()
    request = Request("http://a.gov.cn/")
    response = Response(request.url, status=200, request=request)
    assert asyncio.run(middleware.process_response(request, response)) is response
    assert slept == []


def test_connection_errors_retried_with_backoff():
    middleware, slept, _ = retry_middleware()
    request = Request("http://127.0.0.1:9/")
    result = asyncio.run(middleware.process_exception(request, ConnectionRefusedError()))
    assert isinstance(result, Request) and result.meta["retry_times"] == 1
    assert slept == [1.0]


CHALLENGE = b"<html><script>document.cookie='__jsl_clearance=1';location.href=location.pathname</script></html>"


def challenge_middleware(**settings):
    return sleeping_middleware(ChallengePageMiddleware, **settings)


def test_challenge_is_asked_again_with_backoff_then_ignored_and_counted():
    middleware, slept, c = challenge_middleware(GOVCRAWL_CHALLENGE_RETRIES=2)
    request = Request("http://www.hongze.gov.cn/", meta={"portal": "淮安市洪泽区"})
    for attempt in (1, 2):
        again = asyncio.run(middleware.process_response(
            request, HtmlResponse(request.url, status=521, body=CHALLENGE, request=request)))
        assert isinstance(again, Request) and again.dont_filter
        assert again.meta["govcrawl_challenge_tries"] == attempt
        request = again
    assert slept == [1.0, 2.0]
    with pytest.raises(IgnoreRequest):  # no browser on this spider: give up
        asyncio.run(middleware.process_response(
            request, HtmlResponse(request.url, status=521, body=CHALLENGE, request=request)))
    assert request.meta["govcrawl_challenge"] is True
    assert c.stats.get_value("govcrawl/challenge_pages") == 3
    assert c.stats.get_value("govcrawl/portal/淮安市洪泽区/challenges") == 3
    assert c.stats.get_value("govcrawl/portal/淮安市洪泽区/challenge_failed") == 1


def test_challenge_goes_to_the_browser_after_plain_retries():
    from govcrawl.spiders.portals import PortalsSpider

    c = get_crawler(PortalsSpider, {"GOVCRAWL_CHALLENGE_RETRIES": 0, "GOVCRAWL_CHALLENGE_TIMEOUT": 30})
    c.spider = c._create_spider(urls="http://www.hongze.gov.cn/")
    c.spider.browser = "/usr/bin/chromium"
    middleware = ChallengePageMiddleware.from_crawler(c)
    request = Request("http://www.hongze.gov.cn/art/1.html", callback=c.spider.parse_report,
                      meta={"portal": "www.hongze.gov.cn", "govcrawl_kind": "report"})
    browser = asyncio.run(middleware.process_response(
        request, HtmlResponse(request.url, status=412, body=CHALLENGE, request=request)))
    assert browser.meta["playwright"] and browser.meta["govcrawl_challenge_browser"]
    assert browser.callback == c.spider.challenge_passed
    assert browser.meta["govcrawl_original"]["url"] == request.url
    # the browser came back with the real page: passed on to the spider
    real = HtmlResponse(request.url, status=412, body=b"<html><body>" + b"x" * 3000 + b"</body></html>",
                        request=browser)
    assert asyncio.run(middleware.process_response(browser, real)) is real
    # … or still with the stub: a failure, counted
    with pytest.raises(IgnoreRequest):
        asyncio.run(middleware.process_response(browser, HtmlResponse(request.url, body=CHALLENGE, request=browser)))
    assert c.stats.get_value("govcrawl/portal/www.hongze.gov.cn/challenge_failed") == 1


def test_ordinary_page_passes_challenge_check():
    middleware = ChallengePageMiddleware.from_crawler(crawler())
    request = Request("http://a.gov.cn/")
    response = HtmlResponse(request.url, body=b"<html><body>" + b"x" * 3000 + b"</body></html>", request=request)
    assert asyncio.run(middleware.process_response(request, response)) is response


def test_meta_refresh_stub_followed_once_and_counted():
    c = crawler()
    middleware = MetaRefreshStubMiddleware.from_crawler(c)
    request = Request("http://www.mhk.gov.cn/", meta={"portal": "梅河口市", "govcrawl_kind": "entry"})
    stub = b'<html><head><meta http-equiv="refresh" content="0;url=/index.html"></head></html>'
    followed = middleware.process_response(request, HtmlResponse(request.url, body=stub, request=request))
    assert isinstance(followed, Request) and followed.url == "http://www.mhk.gov.cn/index.html"
    assert followed.meta["portal"] == "梅河口市" and followed.meta["govcrawl_kind"] == "entry"
    second_stub = HtmlResponse(followed.url, body=stub.replace(b"/index.html", b"/again.html"), request=followed)
    assert middleware.process_response(followed, second_stub) is second_stub  # no loops
    assert c.stats.get_value("govcrawl/meta_refresh_followed") == 1


def test_robots_error_logged_as_one_warning_line():
    try:
        raise ConnectionRefusedError()
    except ConnectionRefusedError:
        import sys

        record = logging.LogRecord("scrapy.downloadermiddlewares.robotstxt", logging.ERROR, __file__, 1,
                                   "Error downloading %(request)s: %(f_exception)s", None, sys.exc_info())
    assert robots_error_without_traceback(record)
    assert record.levelno == logging.WARNING and record.exc_info is None


def test_script_redirect_stub_followed_and_counted():
    c = crawler()
    middleware = MetaRefreshStubMiddleware.from_crawler(c)
    request = Request("http://www.yixing.gov.cn/", meta={"portal": "宜兴市"})
    stub = b'<html><script>window.location.href="/col/col1/index.html"</script></html>'
    followed = middleware.process_response(request, HtmlResponse(request.url, body=stub, request=request))
    assert followed.url == "http://www.yixing.gov.cn/col/col1/index.html"
    assert c.stats.get_value("govcrawl/script_redirect_followed") == 1
