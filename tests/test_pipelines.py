"""Item pipelines: extract (drop non-reports), validate (flag, keep), dedupe, provenance."""

import json

import pytest
from scrapy.exceptions import DropItem
from scrapy.exporters import JsonLinesItemExporter
from scrapy.http import Headers
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from govcrawl.items import DocumentItem, ReportItem
from govcrawl.pipelines.dedupe import DedupePipeline
from govcrawl.pipelines.extract import ExtractPipeline
from govcrawl.pipelines.provenance import ProvenancePipeline, header_value
from govcrawl.pipelines.validate import ValidatePipeline

REPORT_PAGE = (
    "<html><head><meta charset='utf-8'><title>常州市机关事务管理局2023年政府信息公开工作年度报告</title></head>"
    "<body><h1>常州市机关事务管理局2023年政府信息公开工作年度报告</h1><p>一、总体情况</p></body></html>"
).encode("utf-8")
NEWS_PAGE = "<html><head><title>新闻动态</title></head><body><p>今日要闻</p></body></html>".encode("utf-8")


def stats():
    return MemoryStatsCollector(get_crawler())


def document(body=REPORT_PAGE, **fields) -> DocumentItem:
    values = dict(
        url="http://jgswj.changzhou.gov.cn/art/2024/1/1/art_1.html",
        portal="常州市机关事务管理局",
        kind="report",
        referer="http://jgswj.changzhou.gov.cn/col/nb/index.html",
        title_hint="常州市机关事务管理局2023年政府信息公开工作年度报告",
        body=body,
        headers=Headers({"Content-Type": "text/html; charset=utf-8", "ETag": '"abc123"',
                         "Last-Modified": "Tue, 16 Jan 2024 08:00:00 GMT"}),
        status=200,
        fetched_at="2026-11-21T10:00:00Z",
    )
    values.update(fields)
    values.setdefault("source_url", values["url"])
    return DocumentItem(values)


def fake_report(**fields) -> dict:
    report = {"url": "u", "portal": None, "title": "甲2023年政府信息公开工作年度报告", "agency": "甲", "year": 2023,
              "format": None, "provenance": {"source_url": "u", "content_sha256": "aa", "referer": None,
                                             "fetched_at": None, "etag": None, "http_last_modified": None},
              "tables": {}, "checks": [], "warnings": []}
    report.update(fields)
    return report


# ---------------------------------------------------------------- extract


def extract(pipeline, item):
    """ExtractPipeline.process_item is a coroutine (extraction runs in worker processes)."""
    import asyncio

    return asyncio.run(pipeline.process_item(item))


def test_extract_real_report_page_becomes_report_item_without_body():
    collector = stats()
    item = extract(ExtractPipeline(collector), document())
    assert isinstance(item, ReportItem)
    assert item["url"] == "http://jgswj.changzhou.gov.cn/art/2024/1/1/art_1.html"
    assert item["portal"] == "常州市机关事务管理局"
    assert item["year"] == 2023
    assert "body" not in item and "body" not in item.document
    assert item.document["referer"] == "http://jgswj.changzhou.gov.cn/col/nb/index.html"
    assert collector.get_value("govcrawl/extract/reports") == 1


def test_extract_drops_pages_that_are_not_reports_and_counts_them():
    collector = stats()
    with pytest.raises(DropItem) as dropped:
        extract(ExtractPipeline(collector), document(body=NEWS_PAGE, title_hint="新闻"))
    assert dropped.value.log_level == "DEBUG"
    assert collector.get_value("govcrawl/extract/not_report") == 1


def test_extract_attachment_keeps_page_url_and_attachment_source():
    seen = {}

    def extract_document(body, url, headers=None, *, portal=None):
        seen.update(url=url, portal=portal, body=body)
        return fake_report(url=url, title=None)

    pipeline = ExtractPipeline(stats(), extract_document=extract_document, is_report=lambda item: True)
    item = extract(pipeline, document(body=b"%PDF-1.7 ...", kind="attachment",
                                      source_url="http://jgswj.changzhou.gov.cn/u/P0201.pdf"))
    assert seen == {"url": "http://jgswj.changzhou.gov.cn/u/P0201.pdf", "portal": "常州市机关事务管理局",
                    "body": b"%PDF-1.7 ..."}
    assert item["url"] == "http://jgswj.changzhou.gov.cn/art/2024/1/1/art_1.html"
    assert item["provenance"]["source_url"] == "http://jgswj.changzhou.gov.cn/u/P0201.pdf"
    assert item["title"] == "常州市机关事务管理局2023年政府信息公开工作年度报告"  # from the anchor text


def test_extract_passes_other_items_through():
    report = fake_report()
    assert extract(ExtractPipeline(stats(), extract_document=lambda *a, **k: {}, is_report=bool), report) is report


# ---------------------------------------------------------------- validate


def test_validate_keeps_invalid_item_with_warnings_and_counts():
    collector = stats()
    pipeline = ValidatePipeline(collector, validate_item=lambda item: ["year: 'x' is not of type 'integer'"])
    item = pipeline.process_item(fake_report(year="x"))
    assert item["year"] == "x"
    assert item["warnings"] == ["schema: year: 'x' is not of type 'integer'"]
    assert collector.get_value("govcrawl/validate/invalid") == 1


def test_validate_caps_warning_flood():
    pipeline = ValidatePipeline(stats(), validate_item=lambda item: [f"e{n}" for n in range(50)])
    item = pipeline.process_item(fake_report())
    assert len(item["warnings"]) == 11 and "40 more" in item["warnings"][-1]


def test_validate_with_real_schema():
    collector = stats()
    pipeline = ValidatePipeline(collector)
    good = extract(ExtractPipeline(stats()), document())
    assert pipeline.process_item(good)["warnings"] == good["warnings"]
    assert not any(w.startswith("schema:") for w in good["warnings"])
    bad = dict(good, year="二〇二三")
    pipeline.process_item(bad)
    assert any(w.startswith("schema: year") for w in bad["warnings"])
    assert collector.get_value("govcrawl/validate/invalid") == 1


# ---------------------------------------------------------------- dedupe


@pytest.mark.parametrize(
    "second, reason",
    [
        (fake_report(url="u", provenance={"content_sha256": "bb"}, agency="乙"), "url"),
        (fake_report(url="v", provenance={"content_sha256": "aa"}, agency="乙"), "sha256"),
        (fake_report(url="v", provenance={"content_sha256": "bb"}, title="甲 2023年政府信息公开工作年度报告"),
         "agency_year_title"),
    ],
)
def test_dedupe_drops_second_copy(second, reason):
    collector = stats()
    pipeline = DedupePipeline(collector)
    first = fake_report()
    assert pipeline.process_item(first) is first
    with pytest.raises(DropItem, match=f"same {reason}"):
        pipeline.process_item(second)
    assert collector.get_value("govcrawl/dedupe/duplicates") == 1
    assert collector.get_value(f"govcrawl/dedupe/duplicates/{reason}") == 1


def test_dedupe_keeps_different_reports_and_ignores_missing_keys():
    pipeline = DedupePipeline(stats())
    pipeline.process_item(fake_report())
    other_year = fake_report(url="v", provenance={"content_sha256": "bb"}, year=2022,
                             title="甲2022年政府信息公开工作年度报告")
    assert pipeline.process_item(other_year) is other_year
    no_agency = fake_report(url="w", provenance={"content_sha256": "cc"}, agency=None)
    assert pipeline.process_item(no_agency) is no_agency


# ---------------------------------------------------------------- provenance


def test_provenance_from_download_facts():
    report = ReportItem(fake_report(), document=document())
    item = ProvenancePipeline().process_item(report)
    assert item["provenance"]["referer"] == "http://jgswj.changzhou.gov.cn/col/nb/index.html"
    assert item["provenance"]["fetched_at"] == "2026-11-21T10:00:00Z"
    assert item["provenance"]["etag"] == '"abc123"'
    assert item["provenance"]["http_last_modified"] == "Tue, 16 Jan 2024 08:00:00 GMT"
    assert item["provenance"]["content_sha256"] == "aa"  # the extractor's fields stay


def test_provenance_without_headers_is_null():
    report = ReportItem(fake_report(), document=document(headers=None, fetched_at=None))
    item = ProvenancePipeline().process_item(report)
    assert item["provenance"]["etag"] is None and item["provenance"]["http_last_modified"] is None
    assert item["provenance"]["fetched_at"].endswith("Z")


def test_header_value_accepts_dicts_and_scrapy_headers():
    assert header_value({"etag": "x"}, "ETag") == "x"
    assert header_value(Headers({"ETag": [b"y"]}), "etag") == "y"
    assert header_value(None, "ETag") is None


# ---------------------------------------------------------------- the chain


def test_full_chain_exports_report_without_body(tmp_path):
    collector = stats()
    chain = [ValidatePipeline(collector), DedupePipeline(collector), ProvenancePipeline()]
    item = extract(ExtractPipeline(collector), document())
    for pipeline in chain:
        item = pipeline.process_item(item)
    out = tmp_path / "out.jsonl"
    with out.open("wb") as handle:
        exporter = JsonLinesItemExporter(handle, encoding="utf-8", ensure_ascii=False)
        exporter.start_exporting()
        exporter.export_item(item)
        exporter.finish_exporting()
    line = out.read_text(encoding="utf-8")
    exported = json.loads(line)
    assert "body" not in exported and "document" not in exported
    assert exported["provenance"]["referer"] == "http://jgswj.changzhou.gov.cn/col/nb/index.html"
    assert "常州市机关事务管理局" in line  # readable Chinese, no \\u escapes
    assert "<html" not in line


def test_document_item_never_dumps_its_body():
    item = document(body=b"%PDF" + b"x" * 10000)
    assert "xxxx" not in repr(item)
    assert "<10004 bytes>" in repr(item)


def test_same_report_under_a_new_url_is_known_across_runs(tmp_path):
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from govcrawl.pipelines.state import CrawlStatePipeline, report_hash
    from govcrawl.spiders.portals import PortalsSpider

    def run():
        crawler = get_crawler(PortalsSpider, {"GOVCRAWL_STATE_PATH": str(tmp_path / "state.sqlite3")})
        crawler.spider = crawler._create_spider(urls="https://www.example.gov.cn/")
        return CrawlStatePipeline.from_crawler(crawler)

    def report(url, sha="ab" * 32, title="某市2023年政府信息公开工作年度报告"):
        return {"url": url, "portal": "p", "title": title, "agency": "某市", "year": 2023, "format": "2021",
                "provenance": {"source_url": url, "content_sha256": sha, "fetched_at": "2026-01-01T00:00:00Z"},
                "tables": {"applications": {"new_requests": {"total": 3}}}, "checks": [], "warnings": []}

    first = run()
    item = first.process_item(report("https://www.example.gov.cn/a.html"))
    assert item["change"] == "new"
    first.item_scraped(item)
    # a second run finds the same bytes at a new address: not new, not emitted
    second = run()
    with pytest.raises(DropItem, match="known as https://www.example.gov.cn/a.html"):
        second.process_item(report("https://www.example.gov.cn/b.html"))
    # same agency, year and title, other bytes and other tables: the known report, updated
    changed = report("https://www.example.gov.cn/c.html", sha="cd" * 32)
    changed["tables"]["applications"]["new_requests"]["total"] = 4
    item = second.process_item(changed)
    assert item["change"] == "updated"
    assert report_hash(report("https://x/1.html")) == report_hash(report("https://y/2.html"))
