"""The portals spider's decisions on saved pages: which requests, with which meta, which items."""

import logging
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from govcrawl.items import DocumentItem
from govcrawl.spiders.portals import PortalsSpider

DATA = Path(__file__).parent / "data" / "cms"
TRS_LIST = "https://www.changzhou.gov.cn/zfxxgk/ndbg/index.html"
TABLE_PAGE = (
    "<html><head><title>常州市2023年政府信息公开工作年度报告</title></head><body>"
    "<table><tr><td>本年制发件数</td></tr><tr><td>自然人</td><td>（一）予以公开</td></tr></table></body></html>"
).encode()
NO_TABLE_PAGE = (
    "<html><head><title>常州市2023年政府信息公开工作年度报告</title></head><body><p>见附件</p>"
    "<a href='/u/P020240115.pdf'>常州市2023年政府信息公开工作年度报告.pdf</a>"
    "<a href='/u/tujie.pdf'>图解</a><a href='https://other.example.com/x.pdf'>附件</a></body></html>"
).encode()


def spider(**settings):
    crawler = get_crawler(PortalsSpider, {"GOVCRAWL_MAX_DEPTH": 4, "GOVCRAWL_MAX_LIST_PAGES": 200, **settings})
    return crawler._create_spider(urls="https://www.changzhou.gov.cn/")


def response_for(spider_, url, body, kind="list", encoding="utf-8", cls=HtmlResponse, **meta):
    meta = {"govcrawl_kind": kind, "portal": "www.changzhou.gov.cn", "govcrawl_depth": 1, **meta}
    request = Request(url, meta=meta)
    return cls(url=url, body=body, encoding=encoding, request=request)


def trs_outputs(spider_):
    body = (DATA / "trs_list_gbk.html").read_bytes()
    return list(spider_.parse_page(response_for(spider_, TRS_LIST, body, encoding="gbk")))


def test_list_page_requests_reports_attachments_and_pages():
    s = spider()
    out = trs_outputs(s)
    by_kind = {}
    for request in out:
        assert isinstance(request, Request)
        assert request.meta["portal"] == "www.changzhou.gov.cn"
        by_kind.setdefault(request.meta["govcrawl_kind"], []).append(request)
    reports = sorted(r.url.rsplit("/", 1)[-1] for r in by_kind["report"])
    assert reports == ["t20240115_1001.html", "t20240116_1002.html"]  # the 解读 is not requested
    assert [r.url.rsplit("/", 1)[-1] for r in by_kind["attachment"]] == ["P020240121_1004.pdf"]
    for request in by_kind["report"] + by_kind["attachment"]:
        assert request.meta["referer_list"] == TRS_LIST
        assert "playwright" not in request.meta  # report bytes never come from the browser
    pages = sorted(r.url for r in by_kind["list"] if "index_" in r.url)
    assert pages == [f"https://www.changzhou.gov.cn/zfxxgk/ndbg/index_{n}.html" for n in range(1, 5)]
    assert all(r.meta["govcrawl_depth"] == 1 for r in by_kind["list"] if "index_" in r.url)
    assert not any("jiangsu.gov.cn" in r.url for r in out)  # off-portal report link not followed


def test_depth_cap_stops_list_links_but_not_reports():
    s = spider(GOVCRAWL_MAX_DEPTH=1)
    out = trs_outputs(s)
    kinds = {r.meta["govcrawl_kind"] for r in out}
    assert "report" in kinds
    assert not [r for r in out if r.meta["govcrawl_kind"] == "list" and "index_" not in r.url]


def test_pagination_cap():
    s = spider(GOVCRAWL_MAX_LIST_PAGES=3)
    pages = [r for r in trs_outputs(s) if "index_" in r.url]
    assert len(pages) == 2


def test_hanweb_dataproxy_pages_keep_the_column_page_as_referer():
    s = spider()
    body = (DATA / "hanweb_list.html").read_bytes()
    column = "https://www.changzhou.gov.cn/col/col56406/index.html"
    out = list(s.parse_page(response_for(s, column, body)))
    proxy = [r for r in out if "dataproxy" in r.url]
    assert proxy and all(r.method == "POST" and r.meta["govcrawl_list_url"] == column for r in proxy)
    answer = response_for(s, proxy[0].url, (DATA / "hanweb_dataproxy.xml").read_bytes(), cls=XmlResponse,
                          govcrawl_list_url=column)
    reports = [r for r in s.parse_page(answer) if r.meta["govcrawl_kind"] == "report"]
    assert [r.meta["referer_list"] for r in reports] == [column]


def test_gkmlpt_catalogue_to_api_to_reports():
    crawler = get_crawler(PortalsSpider, {"GOVCRAWL_MAX_DEPTH": 4, "GOVCRAWL_MAX_LIST_PAGES": 200})
    s = crawler._create_spider(urls="http://www.gd.gov.cn/")
    meta = {"govcrawl_kind": "list", "portal": "www.gd.gov.cn", "govcrawl_depth": 1}
    index = "http://www.gd.gov.cn/gkmlpt/index"
    page = HtmlResponse(url=index, body=(DATA / "gkmlpt_index.html").read_bytes(), encoding="utf-8",
                        request=Request(index, meta=meta))
    out = list(s.parse_page(page))
    assert [r.url for r in out] == ["http://www.gd.gov.cn/gkmlpt/api/all/5?page=1&sid=2",
                                    "http://www.gd.gov.cn/zwgk/bmndbg/"]
    assert not any(r.meta.get("playwright") for r in out)  # links found: no browser retry
    api = out[0].url
    answer = TextResponse(url=api, body=(DATA / "gkmlpt_api.json").read_bytes(), encoding="utf-8",
                          request=Request(api, meta={**meta, "govcrawl_depth": 2}))
    requests = list(s.parse_page(answer))
    reports = [r for r in requests if r.meta["govcrawl_kind"] == "report"]
    assert len(reports) == 14 and all(r.meta["referer_list"] == api for r in reports)
    assert not any("4356002" in r.url for r in requests)  # the 解读 article
    assert sorted(r.url for r in requests if r.meta["govcrawl_kind"] == "list") == [
        api.replace("page=1", "page=2"), api.replace("page=1", "page=3")]


def test_report_page_with_tables_is_the_document():
    s = spider()
    url = "https://www.changzhou.gov.cn/zfxxgk/ndbg/202401/t1.html"
    out = list(s.parse_report(response_for(s, url, TABLE_PAGE, kind="report", referer_list=TRS_LIST)))
    assert len(out) == 1 and isinstance(out[0], DocumentItem)
    assert (out[0]["url"], out[0]["source_url"], out[0]["kind"], out[0]["referer"]) == (url, url, "report", TRS_LIST)
    assert out[0]["fetched_at"].endswith("Z")


def test_report_page_without_tables_fetches_its_attachment():
    s = spider()
    page = "https://www.changzhou.gov.cn/zfxxgk/ndbg/202401/t2.html"
    out = list(s.parse_report(response_for(s, page, NO_TABLE_PAGE, kind="report", referer_list=TRS_LIST)))
    assert [r.url for r in out] == ["https://www.changzhou.gov.cn/u/P020240115.pdf"]  # not 图解, not off-site
    request = out[0]
    assert request.meta["govcrawl_kind"] == "attachment"
    assert request.meta["report_page"] == page and request.meta["referer_list"] == TRS_LIST
    pdf = Response(url=request.url, body=b"%PDF-1.7 fake", request=request)
    items = list(s.parse_attachment(pdf))
    assert (items[0]["url"], items[0]["source_url"], items[0]["kind"]) == (page, request.url, "attachment")


def test_attachment_straight_from_list_names_itself():
    s = spider()
    url = "https://www.changzhou.gov.cn/u/P0201.pdf"
    request = Request(url, meta={"govcrawl_kind": "attachment", "portal": "www.changzhou.gov.cn",
                                 "referer_list": TRS_LIST})
    item = next(s.parse_attachment(Response(url=url, body=b"%PDF-1.7", request=request)))
    assert (item["url"], item["source_url"], item["referer"]) == (url, url, TRS_LIST)


def test_empty_scripted_list_is_retried_in_the_browser_when_available():
    s = spider()
    s.browser = "/usr/bin/chromium"
    body = "<html><head><title>政府信息公开年报</title><script>load()</script></head><body></body></html>".encode()
    out = list(s.parse_page(response_for(s, "https://www.changzhou.gov.cn/xxgk/nb/", body)))
    assert len(out) == 1 and out[0].meta["playwright"] is True and out[0].dont_filter
    s.browser = None
    assert list(s.parse_page(response_for(s, "https://www.changzhou.gov.cn/xxgk/nb/", body))) == []
    assert s.crawler.stats.get_value("govcrawl/render/skipped_no_browser") == 1


def test_link_rich_start_page_without_disclosure_links_is_not_rendered():
    s = spider()
    s.browser = "/usr/bin/chromium"
    links = "".join(f"<a href='/news/{n}.html'>新闻{n}</a>" for n in range(30))
    body = f"<html><head><title>某市人民政府</title><script>x()</script></head><body>{links}</body></html>".encode()
    assert list(s.parse_page(response_for(s, "https://www.changzhou.gov.cn/", body, kind="entry"))) == []
    bare = "<html><head><title>某市人民政府</title><script src='app.js'></script></head><body></body></html>".encode()
    out = list(s.parse_page(response_for(s, "https://www.changzhou.gov.cn/", bare, kind="entry")))
    assert [r.meta.get("playwright") for r in out] == [True]


NAV = "".join(f"<li><a href='/col/c{n}/index.html'>栏目{n}</a></li>" for n in range(40))


def scripted_list(title="政府信息公开工作年度报告_常州市人民政府", crumb="", script="render()", items="", head=""):
    return (f"<html><head><title>{title}</title>{head}</head><body><ul class='nav'>{NAV}</ul>{crumb}"
            f"<ul id='list'>{items}</ul><script>{script}</script></body></html>").encode()


@pytest.mark.parametrize("url, body, why", [
    ("https://www.changzhou.gov.cn/col/c77/index.html", scripted_list(), "its title"),
    ("https://www.changzhou.gov.cn/zfxxgk/ndbg/index.html", scripted_list(title="常州市人民政府"), "its URL"),
    ("https://www.changzhou.gov.cn/col/c77/index.html",
     scripted_list(title="常州市人民政府", crumb="<div class='position'>首页 &gt; 政府信息公開 &gt; 年<ruby>報"
                   "<rp>(</rp><rt>bào</rt><rp>)</rp></ruby></div>"), "a heading or breadcrumb"),
    ("https://www.changzhou.gov.cn/col/c77/index.html",
     scripted_list(title="常州市人民政府", head="<meta name='ColumnName' content='政府信息公开工作年度报告'>"),
     "a heading or breadcrumb (政府信息公开工作年度报告)"),
])
def test_report_list_with_nav_links_and_an_empty_list_is_rendered(url, body, why, caplog):
    caplog.set_level(logging.INFO)
    s = spider()
    s.browser = "/usr/bin/chromium"
    out = list(s.parse_page(response_for(s, url, body)))
    rendered = [r for r in out if r.meta.get("playwright")]
    assert len(rendered) == 1 and rendered[0].url == url and rendered[0].dont_filter
    assert rendered[0].meta["download_timeout"] >= 60  # not a plain list page's GOVCRAWL_PAGE_TIMEOUT
    assert any(why in record.getMessage() and "rendering" in record.getMessage() for record in caplog.records)
    assert s.crawler.stats.get_value("govcrawl/portal/www.changzhou.gov.cn/renders") == 1


def test_list_reached_by_a_report_column_link_is_rendered():
    s = spider()
    s.browser = "/usr/bin/chromium"
    body = scripted_list(title="常州市人民政府")
    out = list(s.parse_page(response_for(s, "https://www.changzhou.gov.cn/col/c77/index.html", body,
                                         link_text="政府信息公开年报")))
    assert [r.meta.get("playwright") for r in out if r.meta.get("playwright")] == [True]


def test_article_page_and_filled_list_are_not_rendered():
    s = spider()
    s.browser = "/usr/bin/chromium"
    article = ("<html><head><title>常州市召开全市安全生产会议</title></head><body><ul>" + NAV
               + "</ul><div class='article'><p>会议要求……</p></div><script>share()</script></body></html>").encode()
    assert [r for r in s.parse_page(response_for(s, "https://www.changzhou.gov.cn/art/1.html", article))
            if r.meta.get("playwright")] == []
    filled = scripted_list(items="<li><a href='/art/2.html'>常州市2023年政府信息公开工作年度报告</a></li>")
    out = list(s.parse_page(response_for(s, "https://www.changzhou.gov.cn/col/c77/index.html", filled)))
    assert [r.meta.get("playwright") for r in out if r.meta.get("playwright")] == []
    assert [r.meta["govcrawl_kind"] for r in out if r.url.endswith("/art/2.html")] == ["report"]


def test_visible_data_endpoint_is_read_instead_of_rendering():
    s = spider()
    s.browser = "/usr/bin/chromium"
    body = scripted_list(script="fetch('/api/nb/list.json?pageNo=1').then(r => r.json()).then(show)")
    url = "https://www.changzhou.gov.cn/col/c77/index.html"
    out = list(s.parse_page(response_for(s, url, body)))
    assert [(r.url, r.meta.get("playwright")) for r in out if "api" in r.url] == [
        ("https://www.changzhou.gov.cn/api/nb/list.json?pageNo=1", None)]
    assert not any(r.meta.get("playwright") for r in out)
    endpoint = out[-1]
    empty = TextResponse(endpoint.url, body=b'{"data": {"list": []}}', encoding="utf-8", request=endpoint,
                         headers={"Content-Type": "application/json"})
    # the endpoint named no report: now the page goes to the browser
    again = list(s.parse_page(empty))
    assert [(r.url, r.meta.get("playwright")) for r in again] == [(url, True)]
    answer = TextResponse(endpoint.url, body='{"data": {"list": [{"docTitle": "常州市2023年政府信息公開工作年度報告", '
                          '"docUrl": "/art/9.html"}]}}'.encode(), encoding="utf-8", request=endpoint,
                          headers={"Content-Type": "application/json"})
    reports = [r for r in s.parse_page(answer) if r.meta["govcrawl_kind"] == "report"]
    assert [r.url for r in reports] == ["https://www.changzhou.gov.cn/art/9.html"]


def test_render_cap_per_portal(caplog):
    s = spider(GOVCRAWL_MAX_RENDERS_PER_PORTAL=2)
    s.browser = "/usr/bin/chromium"
    rendered = []
    for n in range(4):
        url = f"https://www.changzhou.gov.cn/zfxxgk/ndbg/{n}/index.html"
        rendered += [r for r in s.parse_page(response_for(s, url, scripted_list())) if r.meta.get("playwright")]
    assert len(rendered) == 2
    assert s.crawler.stats.get_value("govcrawl/portal/www.changzhou.gov.cn/renders_capped") == 2
    assert sum("render cap reached" in record.getMessage() for record in caplog.records) == 1


def test_report_page_with_a_generic_download_link_fetches_it():
    s = spider()
    body = ("<html><head><title>常州市2023年政府信息公开工作年度报告_常州市人民政府</title></head><body>"
            "<h1>常州市2023年政府信息公开工作年度报告</h1><p>详见附件。</p>"
            "<a href='/module/download/downfile.jsp?classid=0&filename=77'>点击下载</a>"
            "<a href='/col/c1/index.html'>政务公开</a></body></html>").encode()
    out = list(s.parse_report(response_for(s, "https://www.changzhou.gov.cn/art/3.html", body, kind="report")))
    assert [(r.url.rsplit("/", 1)[1], r.meta["govcrawl_kind"], r.meta["report_page"]) for r in out] == [
        ("downfile.jsp?classid=0&filename=77", "attachment", "https://www.changzhou.gov.cn/art/3.html")]
    # it answers with a file labelled octet-stream: the item names the page, the file is the source
    file = Response(out[0].url, body=b"%PDF-1.4 ...", request=out[0],
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Disposition": "attachment; filename=report.pdf"})
    item = next(s.parse_attachment(file))
    assert (item["url"], item["source_url"]) == ("https://www.changzhou.gov.cn/art/3.html", out[0].url)


def test_truncated_report_entries_in_a_report_list_are_followed():
    s = spider()
    body = ("<html><head><title>政府信息公开年报</title></head><body><ul>"
            "<li><a href='/art/5.html'>常州市教育局2023年政府信息…</a></li>"
            "<li><a href='/art/6.html'>常州市召开2023年度政府信息公开工作年度报告编制培训会</a></li>"
            "</ul></body></html>").encode()
    out = list(s.parse_page(response_for(s, "https://www.changzhou.gov.cn/col/c9/index.html", body)))
    reports = [r.url.rsplit("/", 1)[1] for r in out if r.meta["govcrawl_kind"] == "report"]
    assert reports == ["5.html"]


def test_errors_are_counted_per_portal_and_logged_once():
    s = spider()
    request = Request("https://www.changzhou.gov.cn/missing", meta={"portal": "www.changzhou.gov.cn",
                                                                    "govcrawl_kind": "list"})
    failure = Failure(HttpError(Response(request.url, status=404, request=request)))
    failure.request = request
    s.on_error(failure)
    assert s.crawler.stats.get_value("govcrawl/portal/www.changzhou.gov.cn/errors") == 1
    assert s.crawler.stats.get_value("govcrawl/errors/HTTP_404") == 1


@pytest.mark.parametrize(
    "given, expect_default",
    [({}, True), ({"FEEDS": {"/tmp/x.jsonl": {"format": "jsonlines"}}}, False)],
)
def test_default_feed_only_without_feeds(given, expect_default):
    settings = Settings({"GOVCRAWL_OUTPUT_DIR": "out", "GOVCRAWL_CONTACT_URL": "https://example.org/c", **given})
    if given:
        settings.set("FEEDS", given["FEEDS"], priority="cmdline")
    PortalsSpider.update_settings(settings)
    feeds = settings.getdict("FEEDS")
    assert (list(feeds) == ["out/%(name)s-%(time)s.jsonl"]) is expect_default
    assert len(feeds) == 1
    assert settings["USER_AGENT"] == "govcrawl/0.1 (+https://example.org/c)"


# ---------------------------------------------------------------- real command line

REPO = Path(__file__).resolve().parent.parent


def scrapy_crawl(tmp_path, *args):
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-O", str(tmp_path / "out.jsonl"),
           "-s", "RETRY_TIMES=0", "-s", "TELNETCONSOLE_ENABLED=False", "-s", "AUTOTHROTTLE_ENABLED=False",
           "-s", "DOWNLOAD_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=10",
           "-s", f"GOVCRAWL_STATE_PATH={tmp_path / 'state.sqlite3'}",
           "-s", f"GOVCRAWL_LEDGER_PATH={tmp_path / 'ledger.csv'}",
           "-s", f"GOVCRAWL_ARCHIVE_DIR={tmp_path / 'archive'}", *args]
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)


def test_unreachable_portals_end_cleanly_with_a_summary(tmp_path):
    result = scrapy_crawl(tmp_path, "-a", "urls=http://127.0.0.1:9/,http://no-such-portal.invalid/")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "Portal 127.0.0.1:9: 0 pages fetched, 0 reports, 0 with failed checks, 1 errors" in result.stderr
    assert "Portal no-such-portal.invalid: 0 pages fetched, 0 reports, 0 with failed checks, 1 errors" in result.stderr
    assert "'govcrawl/portal/127.0.0.1:9/errors': 1" in result.stderr
    assert "playwright/browser_count" not in result.stderr  # nothing needed a browser: Chromium never started
    assert (tmp_path / "out.jsonl").read_text() == ""


def test_broken_portal_file_stops_with_file_and_line(tmp_path):
    portals = tmp_path / "portals.csv"
    portals.write_text("name,url\n甲,http://a.gov.cn/\n乙,a.gov.cn/no-scheme\n", encoding="utf-8")
    result = scrapy_crawl(tmp_path, "-a", f"portals={portals}")
    assert result.returncode == 1
    assert f"{portals}:3: URL must start with http:// or https://" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("counters, entry_error, list_pages, status", [
    ({"reports": 3, "challenges": 2}, None, 1, "ok"),
    ({}, "DNS", 0, "DNS"),
    ({"challenges": 4, "challenge_failed": 1}, None, 0, "blocked: anti-bot challenge"),
    ({"render_skipped": 1}, None, 1, "JS list, no browser"),
    ({"pages": 12}, None, 2, "report column found, no reports"),
    ({"pages": 30}, None, 0, "no report column found"),
])
def test_portal_status_in_the_ledger(counters, entry_error, list_pages, status):
    s = spider()
    name = "www.changzhou.gov.cn"
    for counter, value in counters.items():
        s.crawler.stats.set_value(f"govcrawl/portal/{name}/{counter}", value)
    if entry_error:
        s.entry_errors[name] = entry_error
    s.list_evidence_seen[name] = list_pages
    assert s.portal_status(name) == status


def test_ledger_csv_has_a_row_per_portal(tmp_path):
    s = spider(GOVCRAWL_LEDGER_PATH=str(tmp_path / "ledger.csv"))
    s.crawler.stats.set_value("govcrawl/portal/www.changzhou.gov.cn/reports", 2)
    s.last_errors["www.changzhou.gov.cn"] = "https://www.changzhou.gov.cn/x: HTTP 404"
    s.closed("finished")
    import csv

    rows = list(csv.DictReader((tmp_path / "ledger.csv").open(encoding="utf-8")))
    assert [(r["portal"], r["status"], r["reports"], r["last_error"]) for r in rows] == [
        ("www.changzhou.gov.cn", "ok", "2", "https://www.changzhou.gov.cn/x: HTTP 404")]


def test_no_callback_is_a_generator_that_returns_a_value():
    """Scrapy's own check, which the settings turn off in crawls (WARN_ON_GENERATOR_RETURN_VALUE)."""
    import inspect

    from scrapy.utils.misc import is_generator_with_return_value

    from govcrawl import settings

    assert settings.WARN_ON_GENERATOR_RETURN_VALUE is False
    callbacks = [f for name, f in inspect.getmembers(PortalsSpider, inspect.isfunction)
                 if (name.startswith(("parse", "challenge_")) or name == "on_error")]
    assert len(callbacks) >= 6
    assert [f.__name__ for f in callbacks if is_generator_with_return_value(f)] == []
