"""Lists that a script fills from a JSON endpoint it names: read the endpoint, skip the browser.

Many portals ship a column page whose list is an empty ``<ul>`` and a script
that fetches the entries::

    fetch('/api/ndbg/list.json?page=1').then(r => r.json()).then(…)
    $.ajax({url: "/common/search/columnList?channelId=5&pageNo=1", dataType: "json", …})
    $.getJSON("/xxgk/nb/data.json", …)      xhr.open("GET", "/api/list?id=7")
    $.ajax({url: "https://www.gov.cn/pushinfo/v150203/pushinfo.jsonp", dataType: "jsonp", …})

When the endpoint is a literal in the page, the spider requests it
(``endpoint_requests``, asked only on pages that are report lists by
evidence) and this family reads the answer (``list_links``): JSON or
JSONP, in any nesting, every object with a title-like and a URL-like field
(``title``/``name``/``docTitle`` …, ``url``/``link``/``href``/``docUrl`` …)
is an entry.  Relative entry URLs resolve against the page that ran the
script, as the browser would.  An answer that reports a page count or total
(``totalPage``, ``pageCount``, ``total`` + a page size) is paged through by
the page parameter in the endpoint's URL.

An endpoint computed at run time (``'/api/' + name + '.json'``) is not a
literal: such lists are left to the browser (see the spider's escalation).
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.link import Link

# The call forms that fetch data; group "url" is the literal endpoint.
_CALLS = re.compile(
    r"""(?:\bfetch|\$\.(?:get|getJSON|post)|jQuery\.(?:get|getJSON|post)|axios(?:\.(?:get|post))?)\s*\(\s*"""
    r"""(?P<q>['"`])(?P<url>[^'"`\s]+)(?P=q)"""
    r"""|\.open\(\s*['"](?:GET|POST)['"]\s*,\s*(?P<q2>['"])(?P<url2>[^'"\s]+)(?P=q2)"""
    r"""|\.src\s*=\s*(?P<q4>['"])(?P<url4>[^'"\s]+)(?P=q4)"""
    r"""|\burl\s*:\s*(?P<q3>['"])(?P<url3>[^'"\s]+)(?P=q3)""",
    re.I,
)
# A `url:` key is data only inside an ajax call's options.
_AJAX = re.compile(r"\$\.ajax|jQuery\.ajax|ajax\s*\(", re.I)
_STATIC = re.compile(r"\.(?:js|css|png|jpe?g|gif|svg|ico|woff2?|ttf|html?|shtml)(?:$|\?)", re.I)
TITLE_KEYS = ("title", "doctitle", "docTitle", "articleTitle", "name", "subject", "text", "label", "bt", "biaoti")
URL_KEYS = ("url", "link", "href", "docurl", "docUrl", "articleUrl", "detailUrl", "puburl", "pubUrl",
            "fileUrl", "path", "linkUrl", "redirectUrl", "lj")
_PAGE_PARAM = re.compile(r"^(?:page|pageNo|pageno|pageIndex|pageindex|curPage|cur_page|currentPage|pageNum|p|pn)$")
_PAGE_COUNT_KEYS = ("totalPage", "totalPages", "pageCount", "pages", "totalpage", "page_count")
_TOTAL_KEYS = ("total", "totalCount", "totalRecord", "totalElements", "count", "recordCount", "totalNum")
_SIZE_KEYS = ("pageSize", "pagesize", "perPage", "size", "limit", "rows")
_JSONP = re.compile(r"^\s*[\w$.]+\s*\(\s*(?P<body>[\[{].*[\]}])\s*\)\s*;?\s*$", re.S)
MAX_ENDPOINTS = 8


_JSONP_HEAD = re.compile(r"^[\w$.]+\s*\(\s*[\[{]")


def is_json_answer(response: Response) -> bool:
    """An endpoint's answer (JSON or JSONP), not a page."""
    if not isinstance(response, TextResponse):
        return False
    ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
    head = response.text[:200].lstrip().lstrip("\ufeff")
    if "html" in ctype and head.startswith("<"):
        return False
    return "json" in ctype or head[:1] in ("{", "[") or bool(_JSONP_HEAD.match(head))


def detect(response: Response) -> bool:
    if "/gkmlpt/" in urlsplit(response.url).path:
        return False  # the gkmlpt family knows that platform's API better
    return is_json_answer(response)


def page_scripts(response: TextResponse) -> str:
    """The text of the page's inline scripts."""
    try:
        return "\n".join(response.xpath("//script[not(@src)]/text()").getall())
    except (AttributeError, ValueError):  # not markup
        return ""


def endpoints(script_text: str, base_url: str) -> list[str]:
    """Literal data URLs that the page's scripts request (absolute), in page order."""
    found: list[str] = []
    has_ajax = bool(_AJAX.search(script_text))
    for match in _CALLS.finditer(script_text):
        url = match.group("url") or match.group("url2") or match.group("url4")
        if url is None and has_ajax:
            url = match.group("url3")
        if not url or "${" in url or url.startswith(("#", "javascript:", "data:")) or _STATIC.search(url):
            continue
        absolute = urljoin(base_url, url)
        if absolute not in found and absolute != base_url:
            found.append(absolute)
    return found[:MAX_ENDPOINTS]


def parse_answer(text: str):
    """The JSON value of a JSON or JSONP answer, or None."""
    text = text.strip().lstrip("\ufeff")
    jsonp = _JSONP.match(text)
    if jsonp:
        text = jsonp.group("body")
    try:
        return json.loads(text)
    except ValueError:
        return None


def _field(obj: dict, keys: tuple[str, ...]) -> str | None:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in keys:
        value = obj.get(key, lowered.get(key.lower()))
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def entries(value) -> list[tuple[str, str]]:
    """``(url, title)`` for every object in ``value`` that has a title and a URL-like field."""
    out: list[tuple[str, str]] = []
    stack = [value]
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack[0:0] = node
        elif isinstance(node, dict):
            title = _field(node, TITLE_KEYS)
            url = _field(node, URL_KEYS)
            if title and url and (url.startswith(("/", "./", "../", "http://", "https://")) or "." in url):
                out.append((url, title))
            stack[0:0] = [v for v in node.values() if isinstance(v, (list, dict))]
    return out


def _list_page_url(response: Response) -> str:
    try:
        return response.meta.get("govcrawl_list_url") or response.url
    except AttributeError:  # a response built without a request (tests)
        return response.url


def list_links(response: Response) -> list[Link]:
    if not is_json_answer(response):
        return []
    data = parse_answer(response.text)
    if data is None:
        return []
    base = _list_page_url(response)
    return [Link(url=urljoin(base, url), text=title) for url, title in entries(data)]


def _first_int(obj, keys: tuple[str, ...]) -> int | None:
    stack = [obj]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            for key in keys:
                value = node.get(key)
                if isinstance(value, str) and value.isdigit():
                    value = int(value)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    return value
            stack.extend(v for v in node.values() if isinstance(v, dict))
    return None


def _answer_pages(response: TextResponse, data, max_pages: int) -> list[Request]:
    """The endpoint's other pages, when its first page says how many there are."""
    parts = urlsplit(response.url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    at = next((i for i, (k, _) in enumerate(query) if _PAGE_PARAM.match(k)), None)
    if at is None or query[at][1] not in ("0", "1"):
        return []  # no page parameter, or a later page (the first one announces every other)
    first = int(query[at][1])
    pages = _first_int(data, _PAGE_COUNT_KEYS)
    if pages is None:
        total = _first_int(data, _TOTAL_KEYS)
        size = _first_int(data, _SIZE_KEYS) or len(entries(data))
        if not total or not size:
            return []
        pages = math.ceil(total / size)
    requests = []
    for number in range(first + 1, first + min(pages, max_pages)):
        query[at] = (query[at][0], str(number))
        requests.append(Request(urlunsplit(parts._replace(query=urlencode(query))),
                                meta={"govcrawl_list_url": _list_page_url(response)}))
    return requests


def next_pages(response: Response, max_pages: int) -> list[Request]:
    if not is_json_answer(response):
        return []
    data = parse_answer(response.text)
    return _answer_pages(response, data, max_pages) if data is not None else []


def endpoint_requests(response: TextResponse) -> list[Request]:
    """Requests for the data endpoints a list page's scripts name (the spider asks only on report lists)."""
    return [Request(url, meta={"govcrawl_list_url": response.url, "govcrawl_endpoint": True})
            for url in endpoints(page_scripts(response), response.url)]
