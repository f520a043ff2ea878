"""Crawl state: the store (SQLite and Redis, one suite), the middleware, the pipeline."""

from __future__ import annotations

import copy
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler

from govcrawl.middlewares_state import CrawlStateMiddleware
from govcrawl.pipelines.state import CrawlStatePipeline, report_hash
from govcrawl.state import (
    CLAIMED, NEW, UNCHANGED, UPDATED, RedisCrawlState, SQLiteCrawlState, UrlRecord, state_uri,
)

sys.path.insert(0, str(Path(__file__).parent))
from redis_server import RedisServer  # noqa: E402


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path):
    """(factory, cleanup): the factory opens the *same* store again, like a new process."""
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite3"
        opened = []

        def factory():
            opened.append(SQLiteCrawlState(path))
            return opened[-1]

        yield factory
        for s in opened:
            s.close()
    else:
        server = request.getfixturevalue("redis_server")
        prefix = f"test:{request.node.name}"
        server.client.flushdb()

        def factory():
            return RedisCrawlState(server.url, prefix=prefix)

        yield factory
        server.client.flushdb()


def rec(url, **kw):
    return UrlRecord(url=url, kind=kw.pop("kind", "report"), fetched_at=kw.pop("fetched_at", 1000.0), **kw)


# --- the store ---------------------------------------------------------------

def test_url_records_roundtrip_and_survive_reopen(backend):
    state = backend()
    assert state.get_url("http://a/1.html") is None
    state.put_url(rec("http://a/1.html", etag='"e1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
                      content_sha256="ab" * 32))
    again = backend().get_url("http://a/1.html")
    assert again == UrlRecord("http://a/1.html", "report", 1000.0, '"e1"',
                              "Mon, 01 Jan 2024 00:00:00 GMT", "ab" * 32, None, None)
    assert state.count_urls() == 1


def test_touch_refreshes_time_and_validators_only_for_known_urls(backend):
    state = backend()
    state.put_url(rec("http://a/1.html", etag='"e1"'))
    state.touch_url("http://a/1.html", 2000.0, etag='"e2"', last_modified=None)
    got = state.get_url("http://a/1.html")
    assert (got.fetched_at, got.etag) == (2000.0, '"e2"')
    state.touch_url("http://a/unknown.html", 2000.0)
    assert state.get_url("http://a/unknown.html") is None


def test_claim_new_record_then_unchanged_then_updated(backend):
    state = backend()
    assert state.claim_report("http://a/r.html", "h1") == NEW
    # A second claim on the same report while the first is in flight: a duplicate.
    assert state.claim_report("http://a/r.html", "h1") == CLAIMED
    state.record_report("http://a/r.html", "h1", [rec("http://a/r.html", report_key="http://a/r.html",
                                                      report_hash="h1")], emitted_at=5.0)
    state = backend()  # a later run
    assert state.get_report("http://a/r.html").report_hash == "h1"
    assert state.get_url("http://a/r.html").report_key == "http://a/r.html"
    assert state.claim_report("http://a/r.html", "h1") == UNCHANGED
    # unchanged without full takes no claim: a full run may still claim it
    assert state.claim_report("http://a/r.html", "h1", full=True) == UNCHANGED
    state.release_report("http://a/r.html")
    assert state.claim_report("http://a/r.html", "h2") == UPDATED
    state.record_report("http://a/r.html", "h2", [], emitted_at=6.0)
    assert state.get_report("http://a/r.html").report_hash == "h2"
    assert state.count_reports() == 1


def test_release_gives_the_claim_back(backend):
    state = backend()
    assert state.claim_report("k", "h") == NEW
    state.release_report("k")
    assert state.claim_report("k", "h") == NEW


def test_reset_forgets_everything(backend):
    state = backend()
    state.put_url(rec("http://a/1.html"))
    state.record_report("k", "h", [], 1.0)
    state.reset()
    assert state.get_url("http://a/1.html") is None
    assert state.get_report("k") is None
    assert state.count_urls() == 0


def test_sqlite_uses_wal_and_commits_each_write(tmp_path):
    path = tmp_path / "s.sqlite3"
    state = SQLiteCrawlState(path)
    state.record_report("k", "h", [rec("http://a/1.html")], 1.0)
    # Another connection sees it at once: nothing waits in an open transaction.
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT report_hash FROM reports").fetchall() == [("h",)]
    assert other.execute("SELECT url FROM urls").fetchall() == [("http://a/1.html",)]
    other.close()
    state.close()


def test_redis_claim_is_atomic_across_workers(redis_server):
    redis_server.client.flushdb()
    a = RedisCrawlState(redis_server.url, prefix="w")
    b = RedisCrawlState(redis_server.url, prefix="w")
    results = [a.claim_report("k", "h"), b.claim_report("k", "h")]
    assert sorted(results) == [CLAIMED, NEW]
    a.record_report("k", "h", [], 1.0)
    assert b.claim_report("k", "h") == UNCHANGED


def test_state_uri_precedence(monkeypatch):
    from scrapy.settings import Settings

    monkeypatch.delenv("GOVCRAWL_REDIS_URL", raising=False)
    assert state_uri(Settings()) == "output/crawl-state.sqlite3"
    assert state_uri(Settings({"GOVCRAWL_STATE_PATH": "x.db"})) == "x.db"
    assert state_uri(Settings({"GOVCRAWL_STATE_PATH": "x.db", "GOVCRAWL_REDIS_URL": "redis://h/0"})) == "redis://h/0"
    monkeypatch.setenv("GOVCRAWL_REDIS_URL", "redis://env/0")
    assert state_uri(Settings({"GOVCRAWL_STATE_PATH": "x.db"})) == "redis://env/0"
    assert state_uri(Settings({"GOVCRAWL_STATE_URI": "sqlite:///y.db"})) == "sqlite:///y.db"
    assert state_uri(Settings({"GOVCRAWL_STATE_ENABLED": False})) is None


# --- the middleware ----------------------------------------------------------

class _Spider(Spider):
    name = "t"


def make_crawler(tmp_path, **settings):
    crawler = get_crawler(_Spider, {"GOVCRAWL_STATE_PATH": str(tmp_path / "s.sqlite3"), **settings})
    return crawler


def make_mw(tmp_path, full=False, **settings):
    crawler = make_crawler(tmp_path, **settings)
    mw = CrawlStateMiddleware.from_crawler(crawler)
    spider = _Spider(full="1") if full else _Spider()
    mw.spider_opened(spider)
    return mw, crawler


def req(url, kind="report", **meta):
    return Request(url, meta={"govcrawl_kind": kind, "portal": "p", **meta})


def done(mw, url, age, etag='"e1"', lm="Mon, 01 Jan 2024 00:00:00 GMT", kind="report"):
    mw.state.put_url(UrlRecord(url, kind, time.time() - age, etag, lm, "x", url, "h"))


def test_mw_new_url_is_fetched_plainly(tmp_path):
    mw, _ = make_mw(tmp_path)
    r = req("http://a/new.html")
    assert mw.process_request(r) is None
    assert b"If-None-Match" not in r.headers and "govcrawl_conditional" not in r.meta


def test_mw_skips_fresh_report_and_attachment(tmp_path):
    mw, crawler = make_mw(tmp_path, GOVCRAWL_RECHECK_AFTER=3600)
    done(mw, "http://a/r.html", age=60)
    done(mw, "http://a/r.pdf", age=60, kind="attachment")
    with pytest.raises(IgnoreRequest):
        mw.process_request(req("http://a/r.html"))
    with pytest.raises(IgnoreRequest):
        mw.process_request(req("http://a/r.pdf", kind="attachment"))
    assert crawler.stats.get_value("govcrawl/state/skipped_fresh") == 2


def test_mw_sends_conditional_request_when_stale_or_recheck_zero(tmp_path):
    for settings, age in (({"GOVCRAWL_RECHECK_AFTER": 3600}, 7200), ({"GOVCRAWL_RECHECK_AFTER": 0}, 1)):
        mw, _ = make_mw(tmp_path, **settings)
        done(mw, "http://a/r.html", age=age)
        r = req("http://a/r.html")
        assert mw.process_request(r) is None
        assert r.headers[b"If-None-Match"] == b'"e1"'
        assert r.headers[b"If-Modified-Since"] == b"Mon, 01 Jan 2024 00:00:00 GMT"
        assert r.meta["govcrawl_conditional"] is True


def test_mw_drops_304_quietly_and_restarts_the_clock(tmp_path):
    mw, crawler = make_mw(tmp_path, GOVCRAWL_RECHECK_AFTER=0)
    done(mw, "http://a/r.html", age=10_000)
    r = req("http://a/r.html")
    mw.process_request(r)
    with pytest.raises(IgnoreRequest):
        mw.process_response(r, Response("http://a/r.html", status=304, request=r))
    assert crawler.stats.get_value("govcrawl/state/not_modified") == 1
    assert time.time() - mw.state.get_url("http://a/r.html").fetched_at < 5


def test_mw_passes_200_and_keeps_validators_until_the_item_is_recorded(tmp_path):
    mw, _ = make_mw(tmp_path, GOVCRAWL_RECHECK_AFTER=0)
    done(mw, "http://a/r.html", age=10)
    r = req("http://a/r.html")
    mw.process_request(r)
    resp = HtmlResponse("http://a/r.html", status=200, body=b"<html>v2</html>", request=r,
                        headers={"ETag": '"e2"'})
    assert mw.process_response(r, resp) is resp
    # not written yet: the URL is done only when its report is in the feed
    assert mw.state.get_url("http://a/r.html").etag == '"e1"'
    [pending] = mw.pop_fetched("http://a/r.html")
    assert (pending.etag, pending.kind) == ('"e2"', "report")


def test_mw_leaves_list_pages_alone(tmp_path):
    mw, _ = make_mw(tmp_path)
    done(mw, "http://a/list.html", age=1, kind="list")
    r = req("http://a/list.html", kind="list")
    assert mw.process_request(r) is None
    assert b"If-None-Match" not in r.headers


def test_mw_full_recrawl_fetches_everything(tmp_path):
    mw, _ = make_mw(tmp_path, full=True)
    done(mw, "http://a/r.html", age=1)
    r = req("http://a/r.html")
    assert mw.process_request(r) is None
    assert b"If-None-Match" not in r.headers


def test_mw_attachment_of_a_changed_page_is_fetched_unconditionally(tmp_path):
    mw, _ = make_mw(tmp_path, GOVCRAWL_RECHECK_AFTER=3600)
    done(mw, "http://a/r.pdf", age=1, kind="attachment")
    page = req("http://a/r.html")
    mw.process_response(page, HtmlResponse("http://a/r.html", body=b"<html/>", request=page))
    att = Request("http://a/r.pdf", headers={"Referer": "http://a/r.html"},
                  meta={"govcrawl_kind": "attachment", "portal": "p"})
    assert mw.process_request(att) is None
    assert b"If-None-Match" not in att.headers


def test_request_meta_stays_picklable(tmp_path):
    import pickle

    mw, _ = make_mw(tmp_path, GOVCRAWL_RECHECK_AFTER=0)
    done(mw, "http://a/r.html", age=10)
    r = req("http://a/r.html")
    mw.process_request(r)
    assert pickle.loads(pickle.dumps(r.to_dict()))["meta"]["govcrawl_conditional"] is True


# --- the pipeline ------------------------------------------------------------

ITEM = {
    "url": "http://a/r.html",
    "portal": "p",
    "title": "2023年度报告",
    "year": 2023,
    "tables": {"applications": {"new_requests": {"total": 5}}},
    "provenance": {"source_url": "http://a/r.html", "fetched_at": "2024-01-01T00:00:00Z",
                   "etag": '"e1"', "http_last_modified": None, "content_sha256": "aa"},
}


def make_pipeline(tmp_path, full=False, **settings):
    crawler = make_crawler(tmp_path, **settings)
    crawler.spider = _Spider(full="1") if full else _Spider()
    return CrawlStatePipeline.from_crawler(crawler), crawler


def emit(pipeline, item):
    out = pipeline.process_item(item)
    pipeline.item_scraped(out)
    return out


def test_pipeline_new_unchanged_updated(tmp_path):
    p, crawler = make_pipeline(tmp_path)
    assert emit(p, copy.deepcopy(ITEM))["change"] == "new"
    assert p.state.get_report(ITEM["url"]) is not None
    # same report, fetched again later: different fetch metadata, same content
    again = copy.deepcopy(ITEM)
    again["provenance"].update(fetched_at="2024-02-01T00:00:00Z", etag='"e9"', content_sha256="bb")
    with pytest.raises(DropItem):
        p.process_item(again)
    assert crawler.stats.get_value("govcrawl/state/unchanged") == 1
    changed = copy.deepcopy(ITEM)
    changed["tables"]["applications"]["new_requests"]["total"] = 6
    assert emit(p, changed)["change"] == "updated"
    assert p.state.get_report(ITEM["url"]).report_hash == report_hash(changed)


def test_pipeline_records_only_after_item_scraped(tmp_path):
    p, _ = make_pipeline(tmp_path)
    p.process_item(copy.deepcopy(ITEM))
    assert p.state.get_report(ITEM["url"]) is None
    assert p.state.get_url(ITEM["url"]) is None


def test_pipeline_releases_claim_when_a_later_stage_drops_the_item(tmp_path):
    p, _ = make_pipeline(tmp_path)
    item = p.process_item(copy.deepcopy(ITEM))
    p.item_dropped(item, exception=DropItem("later"))
    assert p.state.get_report(ITEM["url"]) is None
    assert p.process_item(copy.deepcopy(ITEM))["change"] == "new"


def test_pipeline_full_reemits_unchanged(tmp_path):
    p, _ = make_pipeline(tmp_path)
    emit(p, copy.deepcopy(ITEM))
    full, _ = make_pipeline(tmp_path, full=True)
    assert emit(full, copy.deepcopy(ITEM))["change"] == UNCHANGED


def test_pipeline_records_the_urls_behind_the_report(tmp_path):
    p, _ = make_pipeline(tmp_path)
    item = copy.deepcopy(ITEM)
    item["provenance"]["source_url"] = "http://a/r.pdf"
    emit(p, item)
    page, pdf = p.state.get_url("http://a/r.html"), p.state.get_url("http://a/r.pdf")
    assert (page.kind, page.report_key) == ("report", "http://a/r.html")
    assert (pdf.kind, pdf.report_key, pdf.etag) == ("attachment", "http://a/r.html", '"e1"')


def test_spider_mw_drops_fresh_report_requests_before_scheduling(tmp_path):
    from govcrawl.middlewares_state import CrawlStateSpiderMiddleware

    mw, crawler = make_mw(tmp_path, GOVCRAWL_RECHECK_AFTER=3600)
    smw = CrawlStateSpiderMiddleware.from_crawler(crawler)
    done(mw, "http://a/fresh.html", age=60)
    done(mw, "http://a/fresh.pdf", age=60, kind="attachment")
    listing = HtmlResponse("http://a/list.html", body=b"<html/>")
    page = HtmlResponse("http://a/changed.html", body=b"<html/>")
    out = list(smw.process_spider_output(listing, [
        req("http://a/fresh.html"), req("http://a/new.html"), req("http://a/next.html", kind="list"), {"item": 1},
    ]))
    assert [getattr(o, "url", o) for o in out] == ["http://a/new.html", "http://a/next.html", {"item": 1}]
    # an attachment of a page that was just downloaded again (it changed) is needed
    att = req("http://a/fresh.pdf", kind="attachment", report_page="http://a/changed.html")
    assert list(smw.process_spider_output(page, [att])) == [att]
    assert list(smw.process_spider_output(listing, [req("http://a/fresh.pdf", kind="attachment")])) == []
    assert crawler.stats.get_value("govcrawl/state/skipped_fresh") == 2


def test_state_cli_on_a_missing_file_creates_nothing(tmp_path, capsys):
    from govcrawl.state import main

    path = tmp_path / "none.sqlite3"
    assert main(["info", "--uri", str(path)]) == 0
    assert main(["reset", "--uri", f"sqlite:///{path}"]) == 0
    assert not path.exists()
    assert "no crawl state" in capsys.readouterr().out


def test_aliases_name_a_report_across_runs_first_key_wins(backend):
    state = backend()
    assert state.find_alias(["sha256:aa", "identity:某局|2023|某局2023年报告"]) is None
    state.add_aliases("http://a/old.html", ["sha256:aa", "identity:某局|2023|某局2023年报告"])
    state.add_aliases("http://a/new.html", ["sha256:aa"])  # a later URL does not take the name over
    state = backend()  # a later run
    assert state.find_alias(["sha256:zz", "identity:某局|2023|某局2023年报告"]) == "http://a/old.html"
    assert state.find_alias(["sha256:aa"]) == "http://a/old.html"
    assert state.find_alias([]) is None
