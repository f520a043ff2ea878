"""jsonapi: data endpoints named in a page's scripts, and the JSON/JSONP answers they give."""

import json

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from govcrawl.cms import families_for, jsonapi

PAGE = "https://www.example.gov.cn/col/c12/index.html"


@pytest.mark.parametrize("script, endpoint", [
    ("fetch('/api/nb/list?pageNo=1').then(r => r.json()).then(show);", "/api/nb/list?pageNo=1"),
    ("var x=new XMLHttpRequest();x.open('GET','/data/nb.json');x.send();", "/data/nb.json"),
    ("$.ajax({url: \"/common/search/columnList?channelId=5&pageNo=1\", type: 'get', dataType: 'json'});",
     "/common/search/columnList?channelId=5&pageNo=1"),
    ("$.getJSON('../nb/data.json', show);", "/col/nb/data.json"),
    ("var s=document.createElement('script');s.src='/api/nb?callback=cb';document.body.appendChild(s);",
     "/api/nb?callback=cb"),
])
def test_literal_endpoints_are_found(script, endpoint):
    assert jsonapi.endpoints(script, PAGE) == ["https://www.example.gov.cn" + endpoint]


@pytest.mark.parametrize("script", [
    "var p=['', 'data', 'c12', 'items.json'];xhr.open('GET', p.join('/'));",  # computed: only a browser knows
    "fetch(`/api/${id}/list`)",
    "var img=new Image();img.src='/images/logo.png';",
    "var opts={url: '/x/list'};",  # a url key outside any ajax call is not data
])
def test_computed_or_static_urls_are_not_endpoints(script):
    assert jsonapi.endpoints(script, PAGE) == []


def test_answer_entries_in_any_nesting_and_field_names():
    data = {"code": 0, "data": {"page": {"rows": [
        {"docTitle": "某市2023年政府信息公开工作年度报告", "docUrl": "/art/1.html", "pubDate": "2024-01-15"},
        {"name": "某市2022年政府信息公开工作年度报告", "link": "https://www.example.gov.cn/art/2.pdf"},
        {"title": "无链接"},
    ]}}}
    assert jsonapi.entries(data) == [("/art/1.html", "某市2023年政府信息公开工作年度报告"),
                                     ("https://www.example.gov.cn/art/2.pdf", "某市2022年政府信息公开工作年度报告")]


def answer(url, body, ctype="application/json; charset=utf-8", list_url=PAGE):
    request = Request(url, meta={"govcrawl_list_url": list_url})
    return TextResponse(url, body=body.encode("utf-8"), encoding="utf-8", request=request,
                        headers={"Content-Type": ctype})


def test_jsonp_answer_links_resolve_against_the_list_page():
    body = 'listCallback({"list": [{"title": "某市2023年政府信息公开工作年度报告", "url": "./202401/t1.html"}]});'
    response = answer("https://www.example.gov.cn/api/nb?callback=listCallback", body, "application/javascript")
    assert jsonapi in families_for(response)
    assert [(link.url, link.text) for link in jsonapi.list_links(response)] == [
        ("https://www.example.gov.cn/col/c12/202401/t1.html", "某市2023年政府信息公开工作年度报告")]


def test_first_answer_page_announces_the_others():
    body = json.dumps({"data": {"list": [{"title": "a", "url": "/a.html"}] * 4, "pageNo": 1, "totalPage": 3}})
    pages = jsonapi.next_pages(answer("https://www.example.gov.cn/api/list?pageNo=1&size=4", body), 200)
    assert [r.url for r in pages] == [f"https://www.example.gov.cn/api/list?pageNo={n}&size=4" for n in (2, 3)]
    assert all(r.meta["govcrawl_list_url"] == PAGE for r in pages)
    later = jsonapi.next_pages(answer("https://www.example.gov.cn/api/list?pageNo=2&size=4", body), 200)
    assert later == []
    by_total = json.dumps({"total": 10, "rows": [{"title": "a", "url": "/a.html"}] * 4})
    assert len(jsonapi.next_pages(answer("https://www.example.gov.cn/api/list?page=1", by_total), 200)) == 2


def test_pages_are_not_json_answers():
    page = HtmlResponse(PAGE, body="<html><body><script>fetch('/a.json')</script></body></html>".encode(),
                        encoding="utf-8")
    assert not jsonapi.is_json_answer(page)
    assert jsonapi.list_links(page) == []
    assert [r.url for r in jsonapi.endpoint_requests(page)] == ["https://www.example.gov.cn/a.json"]
