"""Report lifecycle across crawls (govcrawl.lifecycle): previous_sha256 and ``change: "removed"``.

Crawl level, real ``scrapy crawl portals`` runs sharing one crawl state
(``GOVCRAWL_RECHECK_AFTER=0``, so every known report is re-checked):

* a report deleted together with its list entry is asked for again at the
  end of the crawl; missing on the second crawl after → exactly one
  ``removed`` line repeating the last copy, none on the next crawls;
* a report redirected to its list page is removed the same way; one that
  answers 404 on one crawl only and comes back is not;
* an ``updated`` report carries the ``content_sha256`` of the copy before.

Store level, on SQLite and on a real redis-server: missing counts count a run
once, a new copy resets them, removed reports leave ``known()``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from govcrawl.extract.schema import validate_item
from govcrawl.lifecycle import RedisLifecycleStore, SQLiteLifecycleStore
from govcrawl.state import SQLiteCrawlState

sys.path.insert(0, str(Path(__file__).parent))
from redis_server import RedisServer  # noqa: E402
from test_recrawl import FakePortal, crawl_cmd, path_of, read_jsonl, run, stats_from_log  # noqa: E402

pytestmark = pytest.mark.timeout(300)

RECHECK_ALWAYS = {"GOVCRAWL_RECHECK_AFTER": "0"}


class Recrawls:
    """Numbered crawls of one portal with one crawl state."""

    def __init__(self, srv, tmp_path: Path):
        self.start = srv.url("/index.html")
        self.tmp = tmp_path
        self.state = str(tmp_path / "state.sqlite3")
        self.n = 0

    def __call__(self) -> tuple[list[dict], str]:
        self.n += 1
        out = self.tmp / f"{self.n}.jsonl"
        code, log = run(crawl_cmd(self.start, out, self.state, RECHECK_ALWAYS), self.tmp / f"{self.n}.log")
        assert code == 0, log[-3000:]
        items = read_jsonl(out)
        for item in items:
            assert validate_item(item) == [], (item, validate_item(item))
        return items, log


def delete(portal: FakePortal, i: int):
    """The report's page goes, and its entry leaves the list."""
    report = portal.reports.pop(i)
    portal.site.remove(report.path)
    portal._publish_lists()
    return report


def removals(items: list[dict]) -> list[dict]:
    return [i for i in items if i.get("change") == "removed"]


def test_a_report_deleted_with_its_list_entry_is_removed_once_after_two_missing_crawls(serve_site, tmp_path):
    portal = FakePortal(6)
    srv = serve_site(portal.site)
    crawl = Recrawls(srv, tmp_path)
    first, _ = crawl()
    by_path = {path_of(i["url"]): i for i in first}
    assert set(by_path) == portal.paths

    gone = delete(portal, 3)
    changed = portal.change(1)
    srv.clear_log()
    second, log = crawl()
    assert {path_of(i["url"]): i["change"] for i in second} == {changed.path: "updated"}
    updated = second[0]
    assert updated["previous_sha256"] == by_path[changed.path]["provenance"]["content_sha256"]
    assert updated["previous_sha256"] != updated["provenance"]["content_sha256"]
    # No list links it any more, yet it was asked for (once) at the end of the crawl: that is how it is missed.
    assert [r.status for r in srv.requests(path=gone.path)] == [404]
    assert stats_from_log(log)["govcrawl/lifecycle/missing"] == 1

    third, _ = crawl()
    [removed] = third
    last = by_path[gone.path]
    assert removed["change"] == "removed"
    for key in ("url", "portal", "title", "agency", "year"):
        assert removed[key] == last[key], key
    assert removed["tables"] == {} and removed["checks"] == []
    assert removed["warnings"] == ["removed: HTTP 404"]
    assert removed["provenance"]["content_sha256"] == last["provenance"]["content_sha256"]
    assert removed["provenance"]["archive"] == last["provenance"]["archive"], "the last copy stays in the archive"
    assert removed["provenance"]["fetched_at"] >= last["provenance"]["fetched_at"]

    fourth, _ = crawl()
    assert fourth == [], "a removal is emitted once"


def test_a_redirect_to_the_list_removes_a_report_and_a_404_on_one_crawl_only_does_not(serve_site, tmp_path):
    portal = FakePortal(6)
    srv = serve_site(portal.site)
    crawl = Recrawls(srv, tmp_path)
    first, _ = crawl()
    assert len(first) == 6
    moved, flaky = portal.reports[0], portal.reports[4]
    # Still linked from the list, but the CMS now sends the report page to the column's index.
    srv.site.redirect(moved.path, "/zfxxgk/ndbg/index.html", status=302)
    srv.site.remove(flaky.path)
    srv.clear_log()
    second, _ = crawl()
    assert removals(second) == []
    assert [r.status for r in srv.requests(path=flaky.path)] == [404]

    from govcrawl.demo.site import publish

    publish(portal.site, flaky)  # back, same bytes
    srv.clear_log()
    third, _ = crawl()
    assert [r.status for r in srv.requests(path=flaky.path)] == [304]
    [removed] = removals(third)
    assert path_of(removed["url"]) == moved.path
    assert removed["warnings"][0].startswith("removed: redirected to a list page (")
    assert len(third) == 1

    srv.site.remove(flaky.path)
    fourth, _ = crawl()
    assert removals(fourth) == [], "404 once after coming back: one missing crawl, not two"


# ------------------------------------------------------------------ the stores

@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        state = SQLiteCrawlState(tmp_path / "state.sqlite3")
        yield SQLiteLifecycleStore(state.conn)
        state.close()
    else:
        server = RedisServer()
        yield RedisLifecycleStore(server.client, "govcrawl:state")
        server.stop()


def test_store_counts_each_run_once_and_a_new_copy_resets(store):
    summary = {"url": "http://a.gov.cn/r.html", "title": "甲2024年政府信息公开工作年度报告",
               "provenance": {"content_sha256": "a" * 64}}
    store.remember("http://a.gov.cn/r.html", "甲", summary)
    store.remember("http://a.gov.cn/s.html", "乙", {**summary, "url": "http://a.gov.cn/s.html"})
    assert store.get("http://a.gov.cn/r.html") == {"summary": summary, "portal": "甲", "misses": 0, "removed": False}

    assert store.note_missing("http://a.gov.cn/r.html", "removed: HTTP 404", "run-1") == 1
    assert store.note_missing("http://a.gov.cn/r.html", "removed: HTTP 404", "run-1") == 1  # same run
    assert store.note_missing("http://a.gov.cn/r.html", "removed: HTTP 410", "run-2") == 2
    store.note_present("http://a.gov.cn/r.html")
    assert store.get("http://a.gov.cn/r.html")["misses"] == 0
    assert store.note_missing("http://a.gov.cn/r.html", "removed: HTTP 404", "run-3") == 1

    store.mark_removed("http://a.gov.cn/r.html", 1.0)
    assert store.get("http://a.gov.cn/r.html")["removed"] is True
    assert sorted(store.known()) == [("http://a.gov.cn/s.html", "乙")]
    store.remember("http://a.gov.cn/r.html", "甲", summary)  # published again
    assert store.get("http://a.gov.cn/r.html")["removed"] is False
    assert sorted(store.known()) == [("http://a.gov.cn/r.html", "甲"), ("http://a.gov.cn/s.html", "乙")]


def test_removal_on_the_redis_backend(serve_site, tmp_path):
    """The same rule with the crawl state (and the lifecycle) in a real redis-server."""
    from test_recrawl import crawl_env

    portal = FakePortal(4)
    srv = serve_site(portal.site)
    server = RedisServer()
    try:
        env = crawl_env(GOVCRAWL_REDIS_URL=server.url)
        settings = {**RECHECK_ALWAYS, "GOVCRAWL_REDIS_IDLE_SECONDS": "1"}
        outputs = []
        for n in range(1, 5):
            if n == 2:
                gone = delete(portal, 1)
            out = tmp_path / f"{n}.jsonl"
            code, log = run(crawl_cmd(srv.url("/index.html"), out, None, settings), tmp_path / f"{n}.log", env=env)
            assert code == 0, log[-3000:]
            outputs.append(read_jsonl(out))
        assert len(outputs[0]) == 4
        assert outputs[1] == []  # missing once
        [removed] = outputs[2]
        assert removed["change"] == "removed" and path_of(removed["url"]) == gone.path
        assert removed["warnings"] == ["removed: HTTP 404"]
        assert outputs[3] == []
        assert server.client.keys("govcrawl:state:lifecycle:*"), "the lifecycle lives in Redis"
    finally:
        server.stop()


def test_a_report_that_moved_is_not_missing_at_its_old_address(tmp_path):
    """Its old URL answers 404, but the state knows it under a new one (an alias): no miss is counted."""
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from govcrawl.lifecycle import lifecycle_for
    from govcrawl.spiders.portals import PortalsSpider
    from govcrawl.state import UrlRecord

    crawler = get_crawler(PortalsSpider, {"GOVCRAWL_STATE_PATH": str(tmp_path / "state.sqlite3")})
    crawler.spider = crawler._create_spider(urls="http://a.gov.cn/")
    lifecycle = lifecycle_for(crawler)
    old, new = "http://a.gov.cn/nb/x.html", "http://a.gov.cn/nb/y.html"
    lifecycle.state.record_report(old, "h", [UrlRecord(old, "report", 1.0, report_key=old, report_hash="h")], 1.0)
    lifecycle.store.remember(old, "a", {"url": old})
    gone = Request(old, meta={"govcrawl_kind": "report"})
    lifecycle.observe(gone, Response(old, status=404, request=gone))
    assert lifecycle.store.get(old)["misses"] == 1  # alone, a 404 is a miss
    lifecycle.store.note_present(old)
    # a later crawl emitted nothing new: the same report was found at y.html (recorded under the old key)
    lifecycle.state.put_url(UrlRecord(new, "report", 2.0, report_key=old, report_hash="h"))
    lifecycle.missing_urls.clear()
    lifecycle.run_id = "run-2"
    lifecycle.observe(gone, Response(old, status=404, request=gone))
    assert lifecycle.store.get(old)["misses"] == 0
    assert crawler.stats.get_value("govcrawl/lifecycle/moved") == 1
