"""Hanweb 大汉 jpage lists: the ``<datastore>`` data island and ``dataproxy.jsp``.

A Hanweb column page carries its first records inside a script data island::

    <script type="text/xml"><datastore>
      <nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=1&columnid=…&unitid=…"></a>]]></nextgroup>
      <recordset><record><![CDATA[<li><a href="/art/…html">title</a></li>]]></record>…</recordset>
    </datastore></script>

and a ``jpage({... totalRecord: 87, perPage: 15, proxyUrl: ...})`` call (or
``<totalrecord>``/``<totalpage>`` in the island).  The browser fetches later
records by POSTing to ``/module/web/jpage/dataproxy.jsp?startrecord=&endrecord=
&perpage=`` with the column's ids as form fields; the answer is the same
``<datastore>`` XML.  We make those requests directly — no browser needed.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urljoin, urlsplit

from parsel import Selector
from scrapy import FormRequest, Request
from scrapy.http import Response, TextResponse
from scrapy.link import Link

from govcrawl.cms.generic import anchor_links

DEFAULT_PROXY = "/module/web/jpage/dataproxy.jsp"
DEFAULT_PER_PAGE = 15
DEFAULT_GROUP_SIZE = 3  # jpage fetches groupSize pages' worth of records at once
# The form fields real jpage sends; unknown extra fields are harmless to the server.
FORM_FIELDS = ("col", "appid", "webid", "path", "columnid", "sourceContentType", "unitid", "webname", "permissiontype")

_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.S | re.I)


def detect(response: Response) -> bool:
    if not isinstance(response, TextResponse):
        return False
    text = response.text
    return "<datastore" in text.lower() or "jpage" in text


def records(text: str) -> list[str]:
    """The HTML fragment of each ``<record>`` in a datastore."""
    return _RECORD.findall(text)


def list_links(response: Response) -> list[Link]:
    if not isinstance(response, TextResponse):
        return []
    links: list[Link] = []
    for fragment in records(response.text):
        links.extend(anchor_links(Selector(text=fragment), response.url))
    return links


def _number(text: str, *names: str) -> int | None:
    for name in names:
        match = re.search(rf"<{name}>\s*(\d+)\s*</{name}>", text, re.I) or re.search(
            rf"""\b{name}\b\s*[:=]\s*['"]?(\d+)""", text, re.I
        )
        if match:
            return int(match.group(1))
    return None


def _string(text: str, name: str) -> str | None:
    match = re.search(rf"""\b{name}\b\s*:\s*(['"])(.*?)\1""", text, re.I)
    return match.group(2) if match else None


def jpage_params(text: str) -> dict:
    """What is needed to page through the column: totals, page size, proxy, form fields."""
    form: dict[str, str] = {}
    nextgroup = _NEXTGROUP.search(text)
    proxy = None
    if nextgroup:
        href = Selector(text=nextgroup.group(1)).xpath("//a/@href").get()
        if href:
            proxy = urlsplit(href).path or None
            form.update((k, v) for k, v in parse_qsl(urlsplit(href).query, keep_blank_values=True) if k in FORM_FIELDS)
    for field in FORM_FIELDS:
        if field not in form:
            value = _string(text, field)
            if value is None:
                number = re.search(rf"""\b{field}\b\s*[:=]\s*(\d+)""", text)
                value = number.group(1) if number else None
            if value is not None:
                form[field] = value
    form.setdefault("col", "1")
    form.setdefault("appid", "1")
    form.setdefault("path", "/")
    form.setdefault("permissiontype", "0")
    return {
        "total_records": _number(text, "totalrecord", "totalRecord"),
        "total_pages": _number(text, "totalpage", "totalPage"),
        "per_page": _number(text, "perpage", "perPage") or DEFAULT_PER_PAGE,
        "group_size": _number(text, "groupSize") or DEFAULT_GROUP_SIZE,
        "proxy": _string(text, "proxyUrl") or proxy or DEFAULT_PROXY,
        "form": form,
        "first_records": len(records(text)),
    }


def next_pages(response: Response, max_pages: int) -> list[Request]:
    if not isinstance(response, TextResponse) or "dataproxy" in urlsplit(response.url).path:
        return []  # a dataproxy answer is itself one of the later pages
    text = response.text
    if "<datastore" not in text.lower():
        return []
    params = jpage_params(text)
    if "columnid" not in params["form"]:
        return []
    per_page = params["per_page"]
    total = params["total_records"]
    if total is None and params["total_pages"] is not None:
        total = params["total_pages"] * per_page
    if not total:
        return []
    total = min(total, max_pages * per_page)
    step = params["first_records"] or per_page * params["group_size"]
    start = params["first_records"] + 1 if params["first_records"] else 1
    proxy_url = urljoin(response.url, params["proxy"])
    requests: list[Request] = []
    while start <= total:
        end = min(start + step - 1, total)
        url = f"{proxy_url}?startrecord={start}&endrecord={end}&perpage={per_page}"
        requests.append(FormRequest(url, formdata=params["form"]))
        start = end + 1
    return requests
