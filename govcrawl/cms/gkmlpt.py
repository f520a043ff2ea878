"""gkmlpt (广东省政府信息公开目录平台): a Vue app over a JSON API.

The catalogue page ``…/gkmlpt/index`` has no links at all; its script holds
``window._CONFIG = {SID: '2', TREE: [{"id": 5, "name": "政府信息公开年报",
"children": [...]}, ...], ...}``.  Each category lists its documents at
``…/gkmlpt/api/all/{id}?page=N&sid={SID}`` as JSON::

    {"total": 145, "classify": {"post_count": 145},
     "articles": [{"title": "...", "url": "http://…/gkmlpt/content/0/963/post_963149.html"}, ...]}

We turn the 年报 tree nodes into links to their first API page and API
answers into document links, so this platform needs no browser.  Other
categories (规划计划, 人事信息, … often a hundred) are left alone: every one
would cost an API call and none holds annual reports.
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.link import Link

from govcrawl.discovery import clean_text

_SID = re.compile(r"""\bSID\s*:\s*['"]?(\d+)""")
_TREE = re.compile(r"\bTREE\s*:\s*(?=\[)")
_API_PATH = re.compile(r"/gkmlpt/api/all/\d+")
_REPORT_CATEGORY = re.compile(r"年报|年度报告")


def detect(response: Response) -> bool:
    return isinstance(response, TextResponse) and "/gkmlpt/" in urlsplit(response.url).path


def _prefix(url: str) -> str:
    """``http://host/dept/gkmlpt/index`` → ``http://host/dept`` (sites mount the platform below a folder)."""
    return url.split("/gkmlpt/", 1)[0]


def _api_answer(response: TextResponse) -> dict | None:
    if not _API_PATH.search(urlsplit(response.url).path):
        return None
    try:
        data = json.loads(response.text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def catalogue(text: str) -> tuple[str | None, list[dict]]:
    """``(SID, flat list of tree nodes)`` from a catalogue page's ``_CONFIG``."""
    sid = _SID.search(text)
    tree_at = _TREE.search(text)
    nodes: list[dict] = []
    if tree_at:
        try:
            tree, _ = json.JSONDecoder().raw_decode(text, tree_at.end())
        except ValueError:
            tree = []
        stack = list(tree) if isinstance(tree, list) else []
        while stack:
            node = stack.pop(0)
            if isinstance(node, dict):
                nodes.append(node)
                stack[0:0] = node.get("children") or []  # depth-first: the catalogue's own order
    return (sid.group(1) if sid else None), nodes


def list_links(response: Response) -> list[Link]:
    if not isinstance(response, TextResponse):
        return []
    answer = _api_answer(response)
    if answer is not None:
        links = []
        for article in answer.get("articles") or []:
            url = article.get("url") or article.get("post_url")
            if url and article.get("title"):
                links.append(Link(url=urljoin(response.url, url), text=str(article["title"])))
        return links
    sid, nodes = catalogue(response.text)
    if sid is None:
        return []
    prefix = _prefix(response.url)
    links = []
    for node in nodes:
        name = clean_text(str(node.get("name") or ""))  # Traditional portals name it 年報
        if not _REPORT_CATEGORY.search(name):
            continue
        if node.get("jump_url"):
            links.append(Link(url=urljoin(response.url, node["jump_url"]), text=name))
        elif node.get("id") is not None:
            links.append(Link(url=f"{prefix}/gkmlpt/api/all/{node['id']}?page=1&sid={sid}", text=name))
    return links


def next_pages(response: Response, max_pages: int) -> list[Request]:
    if not isinstance(response, TextResponse):
        return []
    answer = _api_answer(response)
    if not answer:
        return []
    parts = urlsplit(response.url)
    query = parse_qs(parts.query)
    if query.get("page", ["1"])[0] != "1":
        return []  # page 1 announces all the others
    per_page = len(answer.get("articles") or [])
    total = answer.get("total") or (answer.get("classify") or {}).get("post_count") or 0
    if not per_page or not isinstance(total, int):
        return []
    last = min(math.ceil(total / per_page), max_pages)
    requests = []
    for page in range(2, last + 1):
        query["page"] = [str(page)]
        requests.append(Request(urlunsplit(parts._replace(query=urlencode(query, doseq=True)))))
    return requests
