"""Hanweb jpage: datastore data island, totals, dataproxy.jsp POST pages."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from scrapy.http import HtmlResponse, XmlResponse

from govcrawl.cms import families_for, generic, hanweb, trs

DATA = Path(__file__).parent / "data" / "cms"
LIST_URL = "http://www.huaian.gov.cn/col/col56406/index.html"


def hanweb_list() -> HtmlResponse:
    return HtmlResponse(url=LIST_URL, body=(DATA / "hanweb_list.html").read_bytes(), encoding="utf-8")


def dataproxy_answer() -> XmlResponse:
    url = "http://www.huaian.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=4&endrecord=6&perpage=15"
    return XmlResponse(url=url, body=(DATA / "hanweb_dataproxy.xml").read_bytes(), encoding="utf-8")


def test_detects_hanweb_only():
    assert families_for(hanweb_list()) == [hanweb, generic]
    assert not trs.detect(hanweb_list())


def test_links_from_cdata_records_invisible_to_plain_html_parsing():
    links = hanweb.list_links(hanweb_list())
    assert [link.url for link in links] == [
        "http://www.huaian.gov.cn/art/2024/1/30/art_56406_1.html",
        "http://www.huaian.gov.cn/art/2024/1/29/art_56406_2.html",
        "http://www.huaian.gov.cn/art/2024/1/28/art_56406_3.html",
    ]
    assert links[1].text == "淮安市洪泽区人民政府2023年政府信息公开工作年度报告"  # title attribute beats "…"
    plain = {link.url for link in generic.list_links(hanweb_list())}
    assert links[0].url not in plain


def test_params_from_nextgroup_and_jpage_call():
    params = hanweb.jpage_params(hanweb_list().text)
    assert params["total_records"] == 100
    assert params["per_page"] == 15
    assert params["first_records"] == 3
    assert params["proxy"] == "/module/web/jpage/dataproxy.jsp"
    assert params["form"]["columnid"] == "56406"
    assert params["form"]["unitid"] == "6464868"
    assert params["form"]["webid"] == "18"


def test_dataproxy_post_requests_cover_remaining_records():
    requests = hanweb.next_pages(hanweb_list(), max_pages=200)
    assert all(r.method == "POST" for r in requests)
    ranges = []
    for request in requests:
        query = parse_qs(urlsplit(request.url).query)
        assert urlsplit(request.url).path == "/module/web/jpage/dataproxy.jsp"
        assert query["perpage"] == ["15"]
        ranges.append((int(query["startrecord"][0]), int(query["endrecord"][0])))
        form = parse_qs(request.body.decode())
        assert form["columnid"] == ["56406"] and form["unitid"] == ["6464868"] and form["webid"] == ["18"]
    # the island held records 1-3; the proxy is asked for 4..100 in steps of the island's size
    assert ranges[0] == (4, 6)
    assert ranges[-1][1] == 100
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))


def test_dataproxy_pages_capped_by_max_list_pages():
    requests = hanweb.next_pages(hanweb_list(), max_pages=2)  # 2 pages × 15 records
    last = parse_qs(urlsplit(requests[-1].url).query)
    assert int(last["endrecord"][0]) == 30


def test_dataproxy_answer_links_and_no_further_pages():
    response = dataproxy_answer()
    assert hanweb.detect(response)
    assert [link.text for link in hanweb.list_links(response)][:2] == [
        "淮安市人民政府2021年政府信息公开工作年度报告",
        "淮安市人民政府关于做好2021年政府信息公开工作年度报告编制发布工作的通知",
    ]
    assert hanweb.next_pages(response, max_pages=200) == []


def test_totalpage_only_island():
    body = (
        "<html><script type='text/xml'><datastore><totalpage>3</totalpage><nextgroup><![CDATA["
        "<a href='/module/web/jpage/dataproxy.jsp?columnid=9&unitid=8&webid=7'></a>]]></nextgroup><recordset>"
        "<record><![CDATA[<li><a href='/art/1.html'>x</a></li>]]></record></recordset></datastore></script>"
        "<script>perPage: 10</script></html>"
    ).encode()
    response = HtmlResponse(url="http://x.gov.cn/col/col9/index.html", body=body, encoding="utf-8")
    requests = hanweb.next_pages(response, max_pages=200)
    ends = [int(parse_qs(urlsplit(r.url).query)["endrecord"][0]) for r in requests]
    assert ends[-1] == 30 and len(requests) == 29  # one record per island → one record per request
