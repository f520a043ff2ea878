"""Generic lists: plain links, 下一页 / 尾页 / ?page=N / index_N.html paging."""

from pathlib import Path

from scrapy.http import HtmlResponse

from govcrawl.cms import families_for, generic

DATA = Path(__file__).parent / "data" / "cms"


def load(name: str, url: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=(DATA / name).read_bytes(), encoding="utf-8")


def test_generic_always_applies_to_html():
    response = load("generic_list.html", "http://www.zhangshu.gov.cn/zwgk/ndbg/list.html?page=1")
    assert families_for(response) == [generic]


def test_last_page_link_enumerates_all_pages():
    response = load("generic_list.html", "http://www.zhangshu.gov.cn/zwgk/ndbg/list.html?page=1")
    urls = [r.url for r in generic.next_pages(response, max_pages=200)]
    expected = {f"http://www.zhangshu.gov.cn/zwgk/ndbg/list.html?page={n}" for n in range(2, 7)}
    assert set(urls) == expected
    assert len(urls) == len(set(urls))


def test_last_page_enumeration_capped():
    response = load("generic_list.html", "http://www.zhangshu.gov.cn/zwgk/ndbg/list.html?page=1")
    urls = {r.url for r in generic.next_pages(response, max_pages=3)}
    assert "http://www.zhangshu.gov.cn/zwgk/ndbg/list.html?page=6" not in urls
    assert "http://www.zhangshu.gov.cn/zwgk/ndbg/list.html?page=3" in urls


def test_next_link_followed_when_no_last_page():
    response = load("generic_next_only.html", "http://www.yixing.gov.cn/xxgk/nb/index.html")
    assert [r.url for r in generic.next_pages(response, 200)] == ["http://www.yixing.gov.cn/xxgk/nb/index_2.html"]


def test_index_n_last_page():
    body = '<html><a href="index_1.html">下一页</a><a href="index_4.html">尾页</a></html>'.encode()
    response = HtmlResponse(url="http://a.gov.cn/xxgk/index.html", body=body, encoding="utf-8")
    urls = [r.url for r in generic.next_pages(response, 200)]
    assert urls == [f"http://a.gov.cn/xxgk/index_{n}.html" for n in (1, 2, 3, 4)]


def test_javascript_and_mailto_links_skipped():
    body = '<html><a href="javascript:go(2)">下一页</a><a href="mailto:x@y">信箱</a><a href="/a.html">A</a></html>'.encode()
    response = HtmlResponse(url="http://a.gov.cn/", body=body, encoding="utf-8")
    assert [link.url for link in generic.list_links(response)] == ["http://a.gov.cn/a.html"]
    assert generic.next_pages(response, 200) == []


def test_base_href_respected():
    body = '<html><head><base href="http://a.gov.cn/xxgk/"></head><a href="nb/1.html">x</a></html>'.encode()
    response = HtmlResponse(url="http://a.gov.cn/other/page.html", body=body, encoding="utf-8")
    assert generic.list_links(response)[0].url == "http://a.gov.cn/xxgk/nb/1.html"


def test_onclick_links_and_pdf_viewer_wrappers():
    from parsel import Selector

    from govcrawl.cms.generic import anchor_links, unwrap_viewer

    html = ("<a href=\"javascript:void(0)\" onclick=\"window.open('/art/2024/1/1/art_1.html')\">某市2023年报</a>"
            "<a href='#' onclick=\"openUrl('t20240115_2.html','_blank')\">二</a>"
            "<a href='javascript:;' onclick='share()'>分享</a>"
            "<a href='/pdfjs/web/viewer.html?file=%2Fu%2FP0201.pdf'>某市2023年报.pdf</a>")
    links = anchor_links(Selector(text=html), "http://x.gov.cn/col/c1/index.html")
    assert [link.url for link in links] == ["http://x.gov.cn/art/2024/1/1/art_1.html",
                                            "http://x.gov.cn/col/c1/t20240115_2.html",
                                            "http://x.gov.cn/u/P0201.pdf"]
    assert unwrap_viewer("http://x.gov.cn/viewer.html?url=a.docx") == "http://x.gov.cn/a.docx"
    assert unwrap_viewer("http://x.gov.cn/list.jsp?page=2") == "http://x.gov.cn/list.jsp?page=2"
