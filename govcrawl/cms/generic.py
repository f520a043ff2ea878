"""Any CMS: plain ``<a>`` links and 下一页/尾页/``?page=N``/``index_N.html`` paging.

This family always applies.  Paging is read from the links themselves: a
尾页 (last page) link whose URL carries a page number lets us enumerate every
page at once; otherwise the 下一页 (next page) link is followed page by page.
"""

from __future__ import annotations

import re
import weakref
from urllib.parse import parse_qsl, urljoin, urlsplit

from lxml import etree
from parsel import Selector
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.link import Link

from govcrawl.discovery import attachment_format

NEXT_WORDS = ("下一页", "下页", "后一页", "下一頁", "Next", "next", ">", "›", "»")
LAST_WORDS = ("尾页", "末页", "最后一页", "尾頁", "Last", "last", ">>", "»|")
# Page number in a URL: ?page=3, &pageNo=3, index_3.html, list_3.shtml, /page/3
_PAGE_NUMBER = re.compile(
    r"(?P<prefix>[?&](?:page|pageNo|pageno|pageIndex|pageindex|curPage|cur_page|currentPage|p|pn|pageNum)=)(?P<n>\d+)"
    r"|(?P<stem>(?:index|list|default|more)_)(?P<m>\d+)(?P<ext>\.s?html?)"
    r"|(?P<seg>/page/)(?P<k>\d+)"
)
_SKIP_HREF = re.compile(r"^\s*(?:javascript:|mailto:|tel:|#)", re.I)


def is_markup(response: Response) -> bool:
    """HTML or XML text; JSON API answers (gkmlpt) and plain text have no elements to query."""
    return isinstance(response, TextResponse) and response.selector.type in ("html", "xml")


def detect(response: Response) -> bool:
    return is_markup(response)


# An element's words as a reader sees them: no pinyin readings (<rt>/<rp>/<rtc>), no script or style.
VISIBLE_TEXT = ".//text()[not(ancestor::rt or ancestor::rp or ancestor::rtc or ancestor::script or ancestor::style)]"
# Compiled once and run on the lxml tree itself: a list page has hundreds of anchors, and parsel's
# per-call compilation lookup and one Selector per node cost more than the queries.
_ANCHORS = etree.XPath("//a[@href or @onclick]")
_ANCHOR_TEXTS = etree.XPath(VISIBLE_TEXT, smart_strings=False)


# Lists that open entries from a script: <a href="javascript:void(0)" onclick="window.open('/art/1.html')">,
# openUrl('…'), location.href='…'.  The first quoted path-like argument is where the link goes.
_ONCLICK_URL = re.compile(r"""['"]((?:https?://|/|\./|\.\./)[^'"\s]*|[\w./-]+\.(?:s?html?|jsp|aspx?|php|pdf|docx?|wps)"""
                          r"""(?:\?[^'"\s]*)?)['"]""", re.I)


def anchor_links(selector: Selector, base_url: str) -> list[Link]:
    """Every ``<a href>`` as a Link; the text is the longer of anchor text and
    ``title`` attribute, because lists cut long titles to "…2023年政府信息…".

    A ``javascript:``/``#`` link that opens its page from ``onclick`` counts
    with the URL its script names.
    """
    links: list[Link] = []
    for anchor in _ANCHORS(selector.root):
        href = anchor.get("href", "")
        if not href or _SKIP_HREF.match(href):
            target = _ONCLICK_URL.search(anchor.get("onclick") or "")
            if not target:
                continue
            href = target.group(1)
        # <rt>/<rp> hold pinyin readings and brackets, not words of the title
        text = " ".join(t.strip() for t in _ANCHOR_TEXTS(anchor) if t.strip())
        title = (anchor.get("title") or "").strip()
        if len(title) > len(text):
            text = title
        links.append(Link(url=unwrap_viewer(urljoin(base_url, href.strip())), text=text))
    return links


_VIEWER_PARAM = re.compile(r"^(?:file|url|src|path|fileurl|filepath)$", re.I)


def unwrap_viewer(url: str) -> str:
    """``/pdfjs/web/viewer.html?file=/u/P0201.pdf`` → the PDF itself: many portals show attachments in pdf.js."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if _VIEWER_PARAM.match(key) and attachment_format(urljoin(url, value)):
            return urljoin(url, value)
    return url


_last_links: tuple = (None, [])  # (a weak reference to the last response read, its links)


def list_links(response: Response) -> list[Link]:
    # Read once per response: the spider asks for a page's links, and then the pagination rules ask again.
    global _last_links
    ref, links = _last_links
    if ref is None or ref() is not response:
        if not is_markup(response):
            links = []
        else:
            base = response.xpath("//base/@href").get()
            links = anchor_links(response.selector, urljoin(response.url, base) if base else response.url)
        _last_links = (weakref.ref(response), links)
    return list(links)


def _page_url(template_match: re.Match, url: str, number: int) -> str:
    if template_match.group("prefix"):
        replacement = f"{template_match.group('prefix')}{number}"
    elif template_match.group("stem"):
        replacement = f"{template_match.group('stem')}{number}{template_match.group('ext')}"
    else:
        replacement = f"{template_match.group('seg')}{number}"
    return url[: template_match.start()] + replacement + url[template_match.end() :]


def _page_number(match: re.Match) -> int:
    return int(match.group("n") or match.group("m") or match.group("k"))


def next_pages(response: Response, max_pages: int) -> list[Request]:
    if not is_markup(response):
        return []
    urls: list[str] = []
    for link in list_links(response):
        text = link.text.strip()
        is_last = text in LAST_WORDS
        is_next = text in NEXT_WORDS
        is_numbered = text.isdigit() and bool(_PAGE_NUMBER.search(link.url))
        if not (is_last or is_next or is_numbered):
            continue
        # The page number is the last numbered part of the URL.
        match = next(reversed(list(_PAGE_NUMBER.finditer(link.url))), None)
        if is_last and match:
            last = min(_page_number(match), max_pages)
            # index_N.html numbering starts at 1 (index.html is page 0); ?page= at 1 or 2 — ask for all
            urls.extend(_page_url(match, link.url, n) for n in range(1, last + 1))
        elif link.url != response.url:
            urls.append(link.url)
    seen: set[str] = {response.url}
    requests: list[Request] = []
    for url in urls:
        if url not in seen:
            seen.add(url)
            requests.append(Request(url))
    return requests[:max_pages]


def frame_sources(response: Response) -> list[str]:
    """``<iframe src>`` / ``<frame src>`` URLs: lists that a column page embeds rather than links."""
    if not is_markup(response):
        return []
    out: list[str] = []
    for src in response.xpath("//iframe/@src | //frame/@src").getall():
        src = src.strip()
        if src and not _SKIP_HREF.match(src) and not src.startswith(("about:", "data:")):
            url = urljoin(response.url, src)
            if url not in out:
                out.append(url)
    return out
