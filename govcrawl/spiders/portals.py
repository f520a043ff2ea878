"""The ``portals`` spider: from each portal's start page to its annual reports.

For every portal in ``govcrawl/portals.csv`` (or ``-a portals=FILE`` /
``-a urls=URL[,URL…]``) the spider walks the portal's own hosts toward
政府信息公开 / 年报 lists (scored links, ``GOVCRAWL_MAX_DEPTH``), pages through
those lists with the CMS families of ``govcrawl/cms`` and yields one
``DocumentItem`` per candidate report; the pipelines extract, validate,
dedupe and stamp provenance.

Request meta contract (the incremental state relies on it):

* ``govcrawl_kind`` — ``"entry"``, ``"list"``, ``"report"`` or ``"attachment"``;
* ``portal`` — the portal name;
* ``referer_list`` — on report/attachment requests: the list page that linked it;
* ``govcrawl_depth`` — discovery depth (0 = start page); ``govcrawl_list_page`` —
  pagination step within one list; ``report_page`` — on attachments found on a
  report page: that page (it becomes the item's ``url``).

Report pages are always fetched without the browser (their bytes matter for
encoding repair); only list pages may go through Chromium.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from datetime import datetime, timezone
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import scrapy
from scrapy import Request, signals
from scrapy.utils.request import request_from_dict
from scrapy.http import Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError

from govcrawl.cms import families_for, jsonapi
from govcrawl.cms.generic import VISIBLE_TEXT, frame_sources, is_markup
from govcrawl.discovery import (
    PortalScope,
    attachment_format,
    clean_text,
    html_has_report_tables,
    is_document_body,
    is_download_link,
    is_look_alike,
    is_report_title,
    is_truncated_report_title,
    is_year_link,
    has_repeating_path,
    link_score,
    report_list_evidence,
    url_shape,
)
from govcrawl import browser as browser_scope
from govcrawl.items import DocumentItem, utc_timestamp
from govcrawl.portal_list import (
    Portal,
    PortalListError,
    load_portals,
    portal_list_error_without_traceback,
    portals_from_urls,
)
from govcrawl.report_images import content_image_urls

REPORT_PRIORITY = 100  # reports before more list pages: results arrive early, and a capped crawl keeps them
MAX_ATTACHMENTS_PER_REPORT = 3
SUMMARY_COUNTERS = ("pages", "reports", "checks_failed", "errors")
JS_SHELL_MAX_LINKS = 10  # a start page with fewer <a> than this may be filled by JavaScript
# Where a page says what it is: headings and the breadcrumb (当前位置：首页 > 政府信息公开 > 年报).
_HEADINGS = ("//h1 | //h2 | //h3 | //*[contains(@class,'position') or contains(@class,'crumb') or "
             "contains(@class,'location') or contains(@class,'dqwz') or contains(@id,'position') or "
             "contains(@class,'lmmc') or contains(@class,'column-name') or contains(@class,'col-title') or "
             "contains(@class,'current')]")


def browser_executable(settings) -> str | None:
    """The Chromium the playwright handler will launch, or None when there is none to use."""
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    if not any(re.search(r"scrapy_playwright|Playwright", str(handlers.get(scheme, ""))) for scheme in ("http", "https")):
        return None
    path = (settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}).get("executable_path")
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return None


class PortalsSpider(scrapy.Spider):
    name = "portals"

    def __init__(self, portals: str | None = None, urls: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        listed: list[Portal] = []
        try:
            if portals or not urls:
                listed.extend(load_portals(portals) if portals else load_portals())
            if urls:
                listed.extend(portals_from_urls(urls))
        except PortalListError:
            # The error ends the crawl before it starts (exit code 1); keep its log to one line.
            logging.getLogger("asyncio").addFilter(portal_list_error_without_traceback)
            raise
        self.portals: dict[str, Portal] = {portal.name: portal for portal in listed}
        self.scopes = {portal.name: PortalScope([portal.url]) for portal in listed}

    # ------------------------------------------------------------ set-up

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        if not settings.getdict("FEEDS"):
            # Only when no -o/-O/FEEDS was given: those replace this default instead of adding to it.
            output_dir = settings.get("GOVCRAWL_OUTPUT_DIR") or "output"
            feed_uri = str(Path(output_dir) / "%(name)s-%(time)s.jsonl")
            settings.set("FEEDS", {feed_uri: {"format": "jsonlines", "encoding": "utf-8"}}, priority="spider")
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["project"]:
            settings.set("USER_AGENT", f"govcrawl/0.1 (+{settings.get('GOVCRAWL_CONTACT_URL')})", priority="project")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.max_depth = settings.getint("GOVCRAWL_MAX_DEPTH", 4)
        spider.max_list_pages = settings.getint("GOVCRAWL_MAX_LIST_PAGES", 200)
        spider.render_retry = settings.getbool("GOVCRAWL_RENDER_RETRY", True)
        spider.max_renders = settings.getint("GOVCRAWL_MAX_RENDERS_PER_PORTAL", 20)
        spider.renders = Counter()  # portal → browser renders asked for
        spider.rendered: set[str] = set()  # list URLs already sent to the browser
        spider.list_reports = Counter()  # list URL → report links found on it (plain, endpoints or browser)
        spider.endpoints_pending = Counter()  # list URL → its data endpoints not answered yet
        # List budgets and traps (see _paginate and _list_link_allowed)
        spider.barren_pages = settings.getint("GOVCRAWL_LIST_BARREN_PAGES", 5)
        spider.max_per_shape = settings.getint("GOVCRAWL_MAX_PAGES_PER_URL_SHAPE", 30)
        spider.list_pages: dict[str, set[str]] = {}  # list root → distinct pages asked for
        spider.list_barren = Counter()  # list root → pages in a row without a new report link
        spider.stopped_lists: set[str] = set()
        spider.seen_report_urls: set[str] = set()
        spider.shapes = Counter()  # (portal, URL shape) → list pages asked for
        # Pages that are not reports fail fast: reports get Scrapy's full timeout and retries.
        spider.page_timeout = settings.getfloat("GOVCRAWL_PAGE_TIMEOUT", 15)
        spider.page_retry_times = settings.getint("GOVCRAWL_PAGE_RETRY_TIMES", 1)
        spider.entry_errors: dict[str, str] = {}
        spider.last_errors: dict[str, str] = {}
        spider.list_evidence_seen = Counter()  # portal → pages that were report lists
        spider.browser = browser_executable(settings)
        crawler.signals.connect(spider.count_scraped_report, signal=signals.item_scraped)
        return spider

    # ------------------------------------------------------------ counting

    def _count(self, portal: str | None, counter: str, by: int = 1) -> None:
        if portal:
            self.crawler.stats.inc_value(f"govcrawl/portal/{portal}/{counter}", by)

    def count_scraped_report(self, item, response=None, spider=None):
        portal = item.get("portal") if isinstance(item, dict) else None
        self._count(portal, "reports")
        checks = item.get("checks") if isinstance(item, dict) else None
        if any(isinstance(check, dict) and check.get("ok") is False for check in checks or ()):
            self._count(portal, "checks_failed")

    def closed(self, reason: str) -> None:
        stats = self.crawler.stats
        if browser_scope.REFUSED:
            stats.set_value("govcrawl/offsite/browser", len(browser_scope.REFUSED))
        rows = []
        for name, portal in self.portals.items():
            counts = {}
            for counter in SUMMARY_COUNTERS:
                key = f"govcrawl/portal/{name}/{counter}"
                counts[counter] = stats.get_value(key, 0)
                stats.set_value(key, counts[counter])
            status = self.portal_status(name)
            stats.set_value(f"govcrawl/portal/{name}/status", status)
            self.logger.info(
                "Portal %s: %d pages fetched, %d reports, %d with failed checks, %d errors — %s",
                name,
                counts["pages"],
                counts["reports"],
                counts["checks_failed"],
                counts["errors"],
                status,
            )
            rows.append({"portal": name, "url": portal.url, "status": status, **counts,
                         "renders": stats.get_value(f"govcrawl/portal/{name}/renders", 0),
                         "challenges": stats.get_value(f"govcrawl/portal/{name}/challenges", 0),
                         "last_error": self.last_errors.get(name, "")})
        self._write_ledger(rows)

    def portal_status(self, name: str) -> str:
        """One word on how a portal went, for a user running thousands: what needs attention."""
        stats = self.crawler.stats
        get = lambda counter: stats.get_value(f"govcrawl/portal/{name}/{counter}", 0)  # noqa: E731
        if name in self.entry_errors:
            return self.entry_errors[name]
        if get("reports"):
            return "ok"
        if get("challenges") and not get("challenge_passed"):
            return "blocked: anti-bot challenge"
        if get("render_skipped"):
            return "JS list, no browser"
        if self.list_evidence_seen[name]:
            return "report column found, no reports"
        return "no report column found"

    def _write_ledger(self, rows: list[dict]) -> None:
        """``output/portals-<time>.csv`` (``GOVCRAWL_LEDGER_PATH``): one row per portal, written at the end."""
        settings = self.crawler.settings
        path = settings.get("GOVCRAWL_LEDGER_PATH")
        if path == "":
            return
        if not path:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            path = str(Path(settings.get("GOVCRAWL_OUTPUT_DIR") or "output") / f"portals-{stamp}.csv")
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", newline="", encoding="utf-8") as file:
                writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else ["portal"])
                writer.writeheader()
                writer.writerows(rows)
        except OSError as exc:
            self.logger.warning("Could not write the portal ledger %s: %s", path, exc)
            return
        self.crawler.stats.set_value("govcrawl/ledger", path)
        self.logger.info("Portal ledger: %s", path)

    # ------------------------------------------------------------ requests

    def _uses_browser(self, portal: Portal, kind: str) -> bool:
        return portal.render and kind in ("entry", "list")

    def _page_request(self, url: str, portal: Portal, kind: str, depth: int, *, list_page: int = 0,
                      priority: int = 0, render: bool | None = None, dont_filter: bool = False,
                      extra_meta: dict | None = None, request: Request | None = None) -> Request | None:
        """An entry/list request, through the browser when this portal needs one."""
        meta = {"govcrawl_kind": kind, "portal": portal.name, "govcrawl_depth": depth, "govcrawl_list_page": list_page,
                "download_timeout": self.page_timeout, "max_retry_times": self.page_retry_times}
        meta.update(extra_meta or {})
        use_browser = self._uses_browser(portal, kind) if render is None else render
        if use_browser:
            if not self.browser:
                self.crawler.stats.inc_value("govcrawl/render/skipped_no_browser")
                self._count(portal.name, "render_skipped")
                return None
            meta["playwright"] = True
            meta["playwright_page_goto_kwargs"] = {"wait_until": "networkidle"}
            # a page that runs its scripts until the network is quiet needs more than a plain page's timeout
            meta["download_timeout"] = max(self.page_timeout, self.crawler.settings.getfloat(
                "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", 60000) / 1000)
        if request is not None:
            return request.replace(callback=self.parse_page, errback=self.on_error, meta={**request.meta, **meta},
                                   priority=priority, dont_filter=dont_filter)
        return Request(url, callback=self.parse_page, errback=self.on_error, meta=meta, priority=priority,
                       dont_filter=dont_filter)

    def _report_request(self, url: str, portal: Portal, referer_list: str, title_hint: str, depth: int,
                        kind: str | None = None) -> Request:
        kind = kind or ("attachment" if attachment_format(url) else "report")
        return Request(
            url,
            callback=self.parse_attachment if kind == "attachment" else self.parse_report,
            errback=self.on_error,
            priority=REPORT_PRIORITY,
            meta={"govcrawl_kind": kind, "portal": portal.name, "referer_list": referer_list,
                  "title_hint": title_hint, "govcrawl_depth": depth},
        )

    async def start(self):
        browser_scope.allow_portals(self.scopes.values())
        if not self.browser and (self.render_retry or any(p.render for p in self.portals.values())):
            self.logger.warning(
                "No Chromium found (set GOVCRAWL_CHROMIUM or install chromium): JavaScript-only list pages "
                "will be skipped and counted in stats as govcrawl/render/skipped_no_browser"
            )
        for portal in self.portals.values():
            request = self._page_request(portal.url, portal, "entry", 0)
            if request is not None:
                yield request

    # ------------------------------------------------------------ parsing

    def _portal(self, response: Response) -> Portal:
        return self.portals[response.meta["portal"]]

    def _document(self, response: Response, *, kind: str, url: str | None = None) -> DocumentItem:
        return DocumentItem(
            url=url or response.url,
            source_url=response.url,
            portal=response.meta.get("portal"),
            kind=kind,
            referer=response.meta.get("referer_list"),
            title_hint=response.meta.get("title_hint"),
            body=response.body,
            headers=response.headers,
            status=response.status,
            fetched_at=utc_timestamp(),
        )

    @staticmethod
    def _page_title(response: TextResponse) -> str:
        """The page's ``<title>`` (else its ``<h1>``), repaired as discovery reads every text."""
        if not is_markup(response):
            return ""
        title = " ".join(response.xpath("//title//text()").getall()).strip()
        if not title:
            title = " ".join(t.strip() for t in response.xpath(f"(//h1)[1]{VISIBLE_TEXT[1:]}").getall())
        return clean_text(title)

    @staticmethod
    def _headings(response: TextResponse) -> list[str]:
        """Headings, the breadcrumb, and the ``ColumnName`` meta tag the national site guidelines require."""
        if not is_markup(response):
            return []
        texts = [clean_text(c) for c in response.xpath("//meta[@name='ColumnName']/@content").getall()[:1]]
        for element in response.xpath(_HEADINGS)[:12]:
            text = clean_text(" ".join(t.strip() for t in element.xpath(VISIBLE_TEXT).getall()))[:200]
            if text:
                texts.append(text)
        return texts

    def parse_page(self, response: Response):
        """An entry or list page: follow report links, list links and the list's other pages."""
        portal = self._portal(response)
        self._count(portal.name, "pages")
        meta = response.meta
        if not isinstance(response, TextResponse) or is_document_body(response.body[:8]):
            # a list link that turned out to be a file: let the extractor judge it
            yield self._document(response, kind="attachment")
            return
        title = self._page_title(response)
        if is_report_title(title):  # reached through a list-looking link, but it is a report page
            if meta.get("playwright"):  # re-fetch plain: report bytes matter for encoding repair
                yield self._report_request(response.url, portal, meta.get("referer_list") or response.url,
                                           title, meta.get("govcrawl_depth", 0)).replace(dont_filter=True)
            else:
                yield from self.parse_report(response, counted=True)
            return

        scope = self.scopes[portal.name]
        depth = meta.get("govcrawl_depth", 0)
        list_url = meta.get("govcrawl_list_url") or response.url
        evidence = meta.get("govcrawl_report_list") or report_list_evidence(
            list_url, title=title, headings=self._headings(response), link_text=meta.get("link_text"))
        in_report_list = bool(evidence)
        if in_report_list:
            self.list_evidence_seen[portal.name] += 1
        families = families_for(response)
        followed = reports = leads = new_reports = 0
        # the list's own other pages are paged (within its budget), never followed as new lists
        pages = [page for family in families for page in family.next_pages(response, self.max_list_pages)]
        seen: set[str] = {page.url for page in pages}
        for family in families:
            for link in family.list_links(response):
                if link.url in seen or not scope.allows(link.url):
                    continue
                seen.add(link.url)
                text = clean_text(link.text)
                is_file = attachment_format(link.url)
                if (is_report_title(text) or (in_report_list and is_truncated_report_title(text))
                        or (is_file and in_report_list and text and not is_look_alike(text))):
                    yield self._report_request(link.url, portal, list_url, text, depth + 1)
                    followed += 1
                    reports += 1
                    if link.url not in self.seen_report_urls:
                        self.seen_report_urls.add(link.url)
                        new_reports += 1
                    continue
                if is_file or depth + 1 > self.max_depth:
                    continue
                score = link_score(link.url, text, in_report_list=in_report_list)
                if score > 0 and self._list_link_allowed(link.url, portal):
                    request = self._page_request(link.url, portal, "list", depth + 1, priority=score,
                                                 extra_meta={"link_text": text})
                    if request is not None:
                        followed += 1
                        if in_report_list and (is_year_link(text) or report_list_evidence(link.url, link_text=text)):
                            leads += 1  # a per-year or 年报 sub-list: the reports are one level down
                        yield request

        # A list embedded as a frame is part of the page, not a step away from it.
        for url in frame_sources(response):
            if url in seen or not scope.allows(url):
                continue
            if in_report_list or link_score(url, title) > 0:
                request = self._page_request(url, portal, "list", depth, priority=10, extra_meta={
                    "link_text": title, "govcrawl_report_list": evidence or None})
                if request is not None:
                    followed += 1
                    leads += 1
                    yield request

        for request in self._paginate(response, portal, pages, evidence, new_reports):
            followed += 1
            leads += 1
            yield request

        self.list_reports[list_url] += reports
        if meta.get("govcrawl_endpoint"):
            yield from self._endpoint_answered(meta, portal)
        elif in_report_list and reports == 0 and leads == 0:
            yield from self._escalate(response, portal, evidence)
        elif followed == 0:
            retry = self._render_retry(response, portal, title)
            if retry is not None:
                yield retry

    # ------------------------------------------------------------ list budgets and traps

    def _paginate(self, response: TextResponse, portal: Portal, next_pages: list[Request], evidence,
                  new_reports: int):
        """The list's other pages, within its budget.

        A list is known by its first page (``govcrawl_list_root``).  It stops
        at ``GOVCRAWL_MAX_LIST_PAGES`` distinct pages, however its pager
        fans out, and after ``GOVCRAWL_LIST_BARREN_PAGES`` pages in a row that
        named no report link not seen before; pages of a stopped list still
        queued are dropped before download (``ListBudgetMiddleware``).
        """
        meta = response.meta
        root = meta.get("govcrawl_list_root") or response.url
        pages = self.list_pages.setdefault(root, {root})
        if root in self.stopped_lists:
            return
        if meta.get("govcrawl_list_page", 0) > 0:
            self.list_barren[root] = 0 if new_reports else self.list_barren[root] + 1
            if self.list_barren[root] >= self.barren_pages:
                self._stop_list(root, portal, f"{self.list_barren[root]} pages in a row without a new report "
                                              f"(GOVCRAWL_LIST_BARREN_PAGES={self.barren_pages})")
                return
        list_page = meta.get("govcrawl_list_page", 0)
        if list_page + 1 >= self.max_list_pages:
            return
        for page in next_pages:
            if page.url in pages:
                continue
            if len(pages) >= self.max_list_pages:
                self._stop_list(root, portal, f"page cap reached (GOVCRAWL_MAX_LIST_PAGES={self.max_list_pages})")
                return
            pages.add(page.url)
            extra = {"govcrawl_report_list": evidence or None, "govcrawl_list_root": root}
            if page.method != "GET":
                extra["govcrawl_list_url"] = meta.get("govcrawl_list_url") or response.url
            request = self._page_request(page.url, portal, "list", meta.get("govcrawl_depth", 0),
                                         list_page=list_page + 1, extra_meta=extra, request=page)
            if request is not None:
                yield request

    def _stop_list(self, root: str, portal: Portal, why: str) -> None:
        if root in self.stopped_lists:
            return
        self.stopped_lists.add(root)
        self.crawler.stats.inc_value("govcrawl/lists/stopped")
        self._count(portal.name, "lists_stopped")
        self.logger.info("[%s] stopped paging the list %s: %s (%d pages asked for)", portal.name, root, why,
                         len(self.list_pages.get(root, ())))

    def _list_link_allowed(self, url: str, portal: Portal) -> bool:
        """Not a URL-space trap: no path that repeats itself, and not the Nth page of one URL shape."""
        if has_repeating_path(url):
            self.crawler.stats.inc_value("govcrawl/traps/repeating_path")
            return False
        key = (portal.name, url_shape(url))
        if self.shapes[key] >= self.max_per_shape:
            if self.shapes[key] == self.max_per_shape:
                self.shapes[key] += 1  # log once per shape
                self.crawler.stats.inc_value("govcrawl/traps/url_shape")
                self.logger.info("[%s] not following more links shaped like %s: %d already "
                                 "(GOVCRAWL_MAX_PAGES_PER_URL_SHAPE)", portal.name, key[1], self.max_per_shape)
            return False
        self.shapes[key] += 1
        return True

    # ------------------------------------------------------------ lists that scripts fill

    def _escalate(self, response: TextResponse, portal: Portal, evidence: str):
        """A report list whose plain HTML names no report: read the script's endpoint, else render it.

        The evidence (URL, title, breadcrumb, the link that led here) says the
        page *is* a report list, so an empty list means a script fills it —
        even on a page with dozens of navigation links.
        """
        meta = response.meta
        if meta.get("playwright") or not is_markup(response) or response.request is None:
            return
        if "<script" not in response.text.lower():
            return
        if not meta.get("govcrawl_endpoints_tried"):
            scope = self.scopes[portal.name]
            endpoints = [r for r in jsonapi.endpoint_requests(response) if scope.allows(r.url)]
            if endpoints:
                self.endpoints_pending[response.url] += len(endpoints)
                self.crawler.stats.inc_value("govcrawl/endpoints/requested", len(endpoints))
                self.logger.debug("Reading %d data endpoint(s) of %s instead of rendering it", len(endpoints),
                                  response.url)
                for endpoint in endpoints:
                    request = self._page_request(endpoint.url, portal, "list", meta.get("govcrawl_depth", 0),
                                                 priority=10, request=endpoint, extra_meta={
                                                     "govcrawl_report_list": evidence, "link_text": meta.get("link_text"),
                                                     "govcrawl_list_depth": meta.get("govcrawl_depth", 0)})
                    if request is not None:
                        yield request
                return
        request = self._render(response.url, portal, meta.get("govcrawl_kind", "list"), meta.get("govcrawl_depth", 0),
                               f"a report list by {evidence}, with scripts and no report links",
                               extra_meta={"govcrawl_report_list": evidence, "link_text": meta.get("link_text")})
        if request is not None:
            yield request

    def _endpoint_answered(self, meta: dict, portal: Portal):
        """The last data endpoint of a list page answered (or failed): render the page if none held a report."""
        list_url = meta.get("govcrawl_list_url")
        if not list_url:
            return
        self.endpoints_pending[list_url] -= 1
        if self.endpoints_pending[list_url] > 0 or self.list_reports[list_url] > 0:
            return
        request = self._render(list_url, portal, "list", meta.get("govcrawl_list_depth", 0),
                               "its data endpoints named no report",
                               extra_meta={"govcrawl_report_list": meta.get("govcrawl_report_list"),
                                           "govcrawl_endpoints_tried": True})
        if request is not None:
            yield request

    def _render(self, url: str, portal: Portal, kind: str, depth: int, reason: str, *,
                list_page: int = 0, extra_meta: dict | None = None) -> Request | None:
        """One browser render of ``url``, logged with its reason, counted and capped per portal."""
        if not self.browser:
            return self._page_request(url, portal, kind, depth, render=True)  # None, counted as skipped
        if url in self.rendered:
            return None
        if self.renders[portal.name] >= self.max_renders:
            self.crawler.stats.inc_value(f"govcrawl/portal/{portal.name}/renders_capped")
            if self.renders[portal.name] == self.max_renders:
                self.renders[portal.name] += 1  # log the cap once
                self.logger.warning("[%s] browser render cap reached (GOVCRAWL_MAX_RENDERS_PER_PORTAL=%d); "
                                    "further script-filled lists are skipped", portal.name, self.max_renders)
            return None
        request = self._page_request(url, portal, kind, depth, list_page=list_page, render=True, dont_filter=True,
                                     extra_meta=extra_meta)
        self.rendered.add(url)
        self.renders[portal.name] += 1
        self._count(portal.name, "renders")
        self.crawler.stats.inc_value("govcrawl/render/requests")
        self.logger.info("[%s] rendering %s in the browser: %s", portal.name, url, reason)
        return request

    def _render_retry(self, response: TextResponse, portal: Portal, title: str) -> Request | None:
        """A start page too bare to be anything but a JavaScript shell: fetch it again through the browser."""
        meta = response.meta
        if not self.render_retry or meta.get("playwright") or response.request is None:
            return None
        if response.request.method != "GET" or not is_markup(response) or "<script" not in response.text.lower():
            return None
        # A start page full of links that simply has no 信息公开 entry is not worth launching Chromium for.
        looks_like_shell = link_score(response.url, title) > 0 or (
            meta.get("govcrawl_kind") == "entry" and len(response.xpath("//a[@href]")) < JS_SHELL_MAX_LINKS
        )
        if not looks_like_shell:
            return None
        self.crawler.stats.inc_value("govcrawl/render/retries")
        return self._render(response.url, portal, meta.get("govcrawl_kind", "list"), meta.get("govcrawl_depth", 0),
                            "no links without scripts", list_page=meta.get("govcrawl_list_page", 0),
                            extra_meta={k: meta[k] for k in ("govcrawl_list_url",) if k in meta})

    # ------------------------------------------------------------ reports

    def parse_report(self, response: Response, counted: bool = False):
        """A report page: the page itself when it has the tables, else its attachments."""
        portal = self._portal(response)
        if not counted:
            self._count(portal.name, "pages")
        if not isinstance(response, TextResponse) or is_document_body(response.body[:8]):
            yield self._document(response, kind="attachment")
            return
        if html_has_report_tables(response.text):
            yield self._document(response, kind="report")
            return
        scope = self.scopes[portal.name]
        attachments: list[tuple[str, str]] = []
        for family in families_for(response):
            for link in family.list_links(response):
                text = clean_text(link.text)
                if (is_download_link(link.url, text) and scope.allows(link.url) and not is_look_alike(text)
                        and link.url != response.url and link.url not in (u for u, _ in attachments)):
                    # a file named by its URL first; 附件/下载 links to servlets after them
                    attachments.append((link.url, "attachment" if attachment_format(link.url) else "download"))
        attachments.sort(key=lambda pair: pair[1] != "attachment")
        if not attachments:
            yield from self._report_with_images(response)
            return
        for url, kind in attachments[:MAX_ATTACHMENTS_PER_REPORT]:
            request = self._report_request(url, portal, response.meta.get("referer_list") or response.url,
                                           response.meta.get("title_hint") or self._page_title(response),
                                           response.meta.get("govcrawl_depth", 0) + 1, kind="attachment")
            request.meta["report_page"] = response.url
            request.meta["govcrawl_download"] = kind == "download"
            yield request

    def _report_with_images(self, response: TextResponse):
        """A report page (by its title) whose tables are pictures: fetch them one by one, then the item."""
        from govcrawl.extract.ocr import enabled as ocr_enabled  # the OCR engine's module: loaded when a page needs it

        document = self._document(response, kind="report")
        urls = []
        if ocr_enabled() and is_report_title(
                self._page_title(response) or response.meta.get("title_hint")):
            urls = content_image_urls(response, self.settings.getint("GOVCRAWL_OCR_MAX_IMAGES", 20))
        if not urls:
            yield document
            return
        self.crawler.stats.inc_value("govcrawl/ocr/image_pages")
        yield self._image_request(document, urls, [])

    def _image_request(self, document: DocumentItem, urls: list[str], images: list[bytes]) -> Request:
        meta = {"govcrawl_document": document, "govcrawl_images": (urls, images), "portal": document["portal"],
                "download_maxsize": self.settings.getint("GOVCRAWL_OCR_IMAGE_MAXSIZE", 10 * 1024 * 1024)}
        return Request(urls[len(images)], callback=self.parse_report_image, errback=self.parse_report_image,
                       meta=meta, priority=REPORT_PRIORITY, dont_filter=True)

    def parse_report_image(self, response_or_failure):
        """One picture of a report page arrived (or failed): the next one, or the page's item with all of them."""
        failed = not isinstance(response_or_failure, Response)
        meta = response_or_failure.request.meta if failed else response_or_failure.meta
        urls, images = meta["govcrawl_images"]
        body = b"" if failed else response_or_failure.body
        images = images + [body]  # a failed picture is an empty slot: the chain counts it, the item leaves it out
        self.crawler.stats.inc_value("govcrawl/ocr/images_failed" if failed else "govcrawl/ocr/images")
        document = meta["govcrawl_document"]
        if len(images) < len(urls):
            yield self._image_request(document, urls, images)
            return
        document["images"] = [image for image in images if image]
        yield document

    def parse_attachment(self, response: Response):
        """A PDF/DOC/DOCX/WPS: the item names the report page that linked it, if any.

        A 下载/附件 link whose URL named no file kind may answer with a page
        instead of a file: that page is read as a report page of its own.
        """
        if (response.meta.get("govcrawl_download") and isinstance(response, TextResponse)
                and not is_document_body(response.body[:8]) and is_markup(response)):
            self.crawler.stats.inc_value("govcrawl/attachments/not_a_file")
            yield from self.parse_report(response)
            return
        self._count(response.meta["portal"], "pages")
        yield self._document(response, kind="attachment", url=response.meta.get("report_page"))

    # ------------------------------------------------------------ anti-bot challenges

    async def challenge_passed(self, response: Response):
        """The browser got past a challenge: take its cookies for this host and ask for the page again, plain."""
        page = response.meta.get("playwright_page")
        host = urlsplit(response.url).hostname or ""
        cookies = []
        if page is not None:
            try:
                cookies = [c for c in await page.context.cookies(response.url)
                           if host.endswith((c.get("domain") or host).lstrip("."))]
            finally:
                await page.close()
        self._count(response.meta.get("portal"), "challenge_passed")
        self.logger.info("[%s] passed the challenge at %s in the browser (%d cookies kept)",
                         response.meta.get("portal"), response.url, len(cookies))
        original = request_from_dict(response.meta["govcrawl_original"], spider=self)
        meta = {**original.meta, "govcrawl_challenge_browser_tried": True, "govcrawl_challenge_tries": 99}
        yield original.replace(cookies={c["name"]: c["value"] for c in cookies}, meta=meta, dont_filter=True)

    async def challenge_failed(self, failure):
        page = failure.request.meta.get("playwright_page")
        if page is not None:
            await page.close()
        original = failure.request.meta.get("govcrawl_original") or {}
        request = failure.request
        if original:
            request.meta["govcrawl_kind"] = (original.get("meta") or {}).get("govcrawl_kind")
        request.meta["govcrawl_challenge"] = True
        if not failure.check(IgnoreRequest):
            self._count(request.meta.get("portal"), "challenge_failed")
        for follow_up in self.on_error(failure) or ():
            yield follow_up

    # ------------------------------------------------------------ errors

    def on_error(self, failure):
        """Count and log one line per failed request; the crawl goes on."""
        request = failure.request
        portal = request.meta.get("portal")
        follow_up = []
        if request.meta.get("govcrawl_endpoint") and portal in self.portals:
            follow_up = list(self._endpoint_answered(request.meta, self.portals[portal]))
        # HttpError subclasses IgnoreRequest, yet a 404 is an error worth counting.
        if failure.check(IgnoreRequest) and not failure.check(HttpError) and not request.meta.get("govcrawl_challenge"):
            self.logger.debug("Ignored %s: %s", request.url, failure.value)
            return follow_up  # robots.txt, offsite, …: a decision, not an error
        if failure.check(HttpError):
            reason = f"HTTP {failure.value.response.status}"
        elif failure.check(CannotResolveHostError, DNSLookupError):
            reason = "DNS lookup failed"
        elif failure.check(DownloadConnectionRefusedError, ConnectionRefusedError):
            reason = "connection refused"
        elif failure.check(DownloadTimeoutError, TimeoutError, TCPTimedOutError):
            reason = "timeout"
        elif request.meta.get("govcrawl_challenge"):
            reason = "blocked: anti-bot challenge"
        elif re.search(r"SSL|TLS|certificate|handshake", f"{failure.type.__name__} {failure.value}", re.I):
            reason = "TLS"
            from govcrawl import tls  # Scrapy's TLS stack, imported when a handshake fails, not with the spider

            if tls.mark_legacy(urlsplit(request.url).hostname or ""):
                # a legacy server (TLS 1.0, old ciphers): once more, with a permissive context for this host
                self.crawler.stats.inc_value("govcrawl/tls/legacy_retries")
                self.logger.info("[%s] TLS handshake with %s failed; trying once more with legacy TLS allowed",
                                 portal, urlsplit(request.url).hostname)
                return follow_up + [request.replace(dont_filter=True)]
        else:
            reason = f"{failure.type.__name__}: {failure.value}"
        if portal in self.portals:
            self.last_errors[portal] = f"{request.url}: {reason}"
            if request.meta.get("govcrawl_kind") == "entry":
                self.entry_errors[portal] = {"DNS lookup failed": "DNS"}.get(reason, reason)
        self._count(portal, "errors")
        self.crawler.stats.inc_value(f"govcrawl/errors/{reason.split(':')[0].replace(' ', '_')}")
        self.logger.warning("[%s] %s %s: %s", portal, request.meta.get("govcrawl_kind", "request"), request.url, reason)
        return follow_up
