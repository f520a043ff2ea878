"""TRS WCM pagination: createPageHTML announces index_1 … index_{N-1}."""

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from govcrawl.cms import families_for, generic, hanweb, trs

DATA = Path(__file__).parent / "data" / "cms"
LIST_URL = "https://www.changzhou.gov.cn/zfxxgk/ndbg/index.html"


def trs_list() -> HtmlResponse:
    return HtmlResponse(url=LIST_URL, body=(DATA / "trs_list_gbk.html").read_bytes(), encoding="gbk")


def test_detects_trs_and_not_hanweb():
    response = trs_list()
    assert trs.detect(response)
    assert not hanweb.detect(response)
    assert families_for(response) == [trs, generic]


def test_pages_from_create_page_html():
    urls = [r.url for r in trs.next_pages(trs_list(), max_pages=200)]
    assert urls == [f"https://www.changzhou.gov.cn/zfxxgk/ndbg/index_{n}.html" for n in range(1, 5)]


def test_pages_are_capped():
    assert len(trs.next_pages(trs_list(), max_pages=3)) == 2  # index, index_1, index_2


def test_gbk_links_keep_full_title_from_title_attribute():
    texts = {link.url.rsplit("/", 1)[-1]: link.text for link in generic.list_links(trs_list())}
    assert texts["t20240116_1002.html"] == "常州市机关事务管理局2023年政府信息公开工作年度报告"


@pytest.mark.parametrize(
    "script, expected",
    [
        ('createPageHTML(5, 0, "index", "html");', (5, "index", "html")),
        ("createPageHTML(12,3,'index','shtml');", (12, "index", "shtml")),
        ("createPageHTML( 7 , 0 , 'list' , 'htm' , 98 );", (7, "list", "htm")),
        ("createPageHTML('page_div', 9, 1, 'index', 'html', 170);", (9, "index", "html")),
        ("var countPage = 8//共多少页\nvar currentPage = 0;\ncreatePageHTML(countPage, currentPage, \"index\", \"html\");",
         (8, "index", "html")),
        ("document.write('no pager here')", None),
    ],
)
def test_create_page_html_variants(script, expected):
    assert trs.pager(script) == expected


def test_single_page_list_has_no_next_pages():
    body = '<html><script>createPageHTML(1, 0, "index", "html");</script></html>'.encode()
    response = HtmlResponse(url=LIST_URL, body=body, encoding="utf-8")
    assert trs.next_pages(response, max_pages=200) == []


def test_next_pages_from_a_later_page_stay_in_the_same_folder():
    body = '<html><script>createPageHTML(3, 2, "index", "html");</script></html>'.encode()
    response = HtmlResponse(url="http://a.gov.cn/xxgk/nb/index_2.html", body=body, encoding="utf-8")
    assert [r.url for r in trs.next_pages(response, 200)] == [
        "http://a.gov.cn/xxgk/nb/index_1.html",
        "http://a.gov.cn/xxgk/nb/index_2.html",
    ]
