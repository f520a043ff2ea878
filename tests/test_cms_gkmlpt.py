"""gkmlpt: 年报 categories from window._CONFIG.TREE, documents and pages from the JSON API."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from scrapy.http import HtmlResponse, TextResponse

from govcrawl.cms import families_for, generic, gkmlpt
from govcrawl.discovery import is_report_title, link_score

DATA = Path(__file__).parent / "data" / "cms"
INDEX = "http://www.gd.gov.cn/gkmlpt/index"
API = "http://www.gd.gov.cn/gkmlpt/api/all/5?page=1&sid=2"


def catalogue_page() -> HtmlResponse:
    return HtmlResponse(url=INDEX, body=(DATA / "gkmlpt_index.html").read_bytes(), encoding="utf-8")


def api_page(url: str = API) -> TextResponse:
    return TextResponse(url=url, body=(DATA / "gkmlpt_api.json").read_bytes(), encoding="utf-8",
                        headers={"Content-Type": "application/json"})


def test_detected_on_catalogue_and_api_only():
    assert families_for(catalogue_page()) == [gkmlpt, generic]
    assert gkmlpt.detect(api_page())
    other = HtmlResponse(url="http://www.gd.gov.cn/zwgk/", body=b"<html></html>", encoding="utf-8")
    assert not gkmlpt.detect(other)


def test_catalogue_gives_report_categories_only():
    sid, nodes = gkmlpt.catalogue(catalogue_page().text)
    assert sid == "2" and {n["id"] for n in nodes} == {1, 11, 2, 5, 6, 3}
    links = gkmlpt.list_links(catalogue_page())
    assert [(link.url, link.text) for link in links] == [
        ("http://www.gd.gov.cn/gkmlpt/api/all/5?page=1&sid=2", "政府信息公开年报"),
        ("http://www.gd.gov.cn/zwgk/bmndbg/", "部门年度报告"),
    ]
    assert generic.list_links(catalogue_page()) == []  # the page itself has no <a> at all


def test_platform_mounted_below_a_folder():
    body = (DATA / "gkmlpt_index.html").read_bytes()
    response = HtmlResponse(url="http://www.yangjiang.gov.cn/yjzjj/gkmlpt/index", body=body, encoding="utf-8")
    assert gkmlpt.list_links(response)[0].url == "http://www.yangjiang.gov.cn/yjzjj/gkmlpt/api/all/5?page=1&sid=2"


def test_api_answer_gives_documents_and_later_pages():
    links = gkmlpt.list_links(api_page())
    assert len(links) == 15
    assert links[0].url == "http://www.gd.gov.cn/gkmlpt/content/4/4356/post_4356001.html"
    assert is_report_title(links[0].text) and not is_report_title(links[1].text)
    assert link_score(links[1].url, links[1].text) == 0  # a non-report article is not a list to follow
    pages = [parse_qs(urlsplit(r.url).query) for r in gkmlpt.next_pages(api_page(), max_pages=200)]
    assert [(p["page"], p["sid"]) for p in pages] == [(["2"], ["2"]), (["3"], ["2"])]  # 45 items, 15 a page
    assert gkmlpt.next_pages(api_page(API.replace("page=1", "page=2")), 200) == []
    assert len(gkmlpt.next_pages(api_page(), max_pages=2)) == 1
