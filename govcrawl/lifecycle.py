"""Report lifecycle across crawls: ``previous_sha256`` on updated reports and ``removed`` events.

This module owns what the feed says about a report's history (report-schema.md,
"`change` and removal events"); ``govcrawl.state`` still owns what was
fetched and emitted.

* Every report that reaches the feed is remembered with what a removal line
  must repeat (url, portal, title, agency, year, provenance of that copy).
* An ``updated`` item gets ``previous_sha256``: the ``content_sha256`` of the
  copy emitted before.
* A known report URL (one the crawl state ties to an emitted report) that
  answers 404/410, or redirects (at any hop) to a list or home page, is
  *missing*; such a redirect is not followed.
  Missing on two crawls in a row (a crawl that finds it again resets the
  count) → one item with ``change: "removed"``, emitted once; the reason
  (``removed: HTTP 404``) is in ``warnings``.
* Known reports that no list links any more are asked for again when the
  crawl has nothing else to do (``spider_idle``): a report deleted together
  with its list entry is noticed too. The recheck age applies as everywhere
  (``GOVCRAWL_RECHECK_AFTER``): a report fetched recently is not asked for.

Storage lives next to the crawl state, in the same backend: a
``report_lifecycle`` table in the SQLite file, ``<prefix>:lifecycle:<key>``
hashes in Redis. Off with the crawl state (``GOVCRAWL_STATE_ENABLED = False``).

Scrapy components: ``LifecycleDownloaderMiddleware`` (sees every report
response, 304s included, and the final URL of redirects),
``LifecycleSpiderMiddleware`` (emits the removal item after the errback of
that response, and runs the idle recheck) and
``LifecyclePipeline`` (450 < 460 < 500: ``previous_sha256``, remembering
emitted reports once the feed has them).
"""

from __future__ import annotations

import json
import re
import sqlite3
import weakref
from typing import Any, Iterator
from urllib.parse import urljoin, urlsplit

from itemadapter import ItemAdapter
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from govcrawl.items import utc_timestamp
from govcrawl.middlewares_state import DEFAULT_RECHECK_AFTER, PAGE_KINDS, STATE_KINDS
from govcrawl.state import CrawlState, RedisCrawlState, SQLiteCrawlState, now, state_for

MISSING_CRAWLS_TO_REMOVE = 2
GONE_STATUSES = frozenset({404, 410})
REMOVED = "removed"
SUMMARY_KEYS = ("url", "portal", "title", "agency", "year", "provenance")
_HOME_PAGE = re.compile(r"(?i)^/?((index|default|main|home)\.[a-z]+)?$")
_COLUMN_INDEX = re.compile(r"(?i)/((index|default)(_\d+)?\.[a-z]+)?$")


# ------------------------------------------------------------------ storage

class LifecycleStore:
    """Per report key: the copy last emitted, the missing count and whether its removal was emitted."""

    def remember(self, key: str, portal: str | None, summary: dict) -> None:
        """A copy of the report reached the feed: keep it, forget any missing count."""
        raise NotImplementedError

    def get(self, key: str) -> dict | None:
        """``{"summary": dict|None, "portal", "misses": int, "removed": bool}``"""
        raise NotImplementedError

    def note_missing(self, key: str, reason: str, run_id: str) -> int:
        """One more crawl in a row found it gone (a second look in the same run counts once)."""
        raise NotImplementedError

    def note_present(self, key: str) -> None:
        raise NotImplementedError

    def mark_removed(self, key: str, at: float) -> None:
        raise NotImplementedError

    def known(self) -> Iterator[tuple[str, str | None]]:
        """(key, portal) of every remembered report whose removal was not emitted."""
        raise NotImplementedError


class SQLiteLifecycleStore(LifecycleStore):
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS report_lifecycle (report_key TEXT PRIMARY KEY, portal TEXT,"
            " summary TEXT, misses INTEGER NOT NULL DEFAULT 0, missing_reason TEXT, missing_run TEXT,"
            " removed_at REAL)"
        )

    def _write(self, sql: str, args: tuple) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(sql, args)

    def remember(self, key: str, portal: str | None, summary: dict) -> None:
        self._write(
            "INSERT INTO report_lifecycle (report_key, portal, summary) VALUES (?, ?, ?)"
            " ON CONFLICT(report_key) DO UPDATE SET portal=excluded.portal, summary=excluded.summary,"
            " misses=0, missing_reason=NULL, missing_run=NULL, removed_at=NULL",
            (key, portal, json.dumps(summary, ensure_ascii=False)),
        )

    def get(self, key: str) -> dict | None:
        row = self.conn.execute(
            "SELECT summary, portal, misses, removed_at FROM report_lifecycle WHERE report_key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return {"summary": json.loads(row[0]) if row[0] else None, "portal": row[1], "misses": row[2],
                "removed": row[3] is not None}

    def note_missing(self, key: str, reason: str, run_id: str) -> int:
        self._write(
            "INSERT INTO report_lifecycle (report_key, misses, missing_reason, missing_run) VALUES (?, 1, ?, ?)"
            " ON CONFLICT(report_key) DO UPDATE SET missing_reason=excluded.missing_reason,"
            " misses = misses + (CASE WHEN missing_run IS excluded.missing_run THEN 0 ELSE 1 END),"
            " missing_run=excluded.missing_run",
            (key, reason, run_id),
        )
        return self.conn.execute("SELECT misses FROM report_lifecycle WHERE report_key = ?", (key,)).fetchone()[0]

    def note_present(self, key: str) -> None:
        if self.conn.execute("SELECT 1 FROM report_lifecycle WHERE report_key = ? AND (misses > 0 OR removed_at"
                             " IS NOT NULL)", (key,)).fetchone():
            self._write("UPDATE report_lifecycle SET misses=0, missing_reason=NULL, missing_run=NULL,"
                        " removed_at=NULL WHERE report_key = ?", (key,))

    def mark_removed(self, key: str, at: float) -> None:
        self._write("UPDATE report_lifecycle SET removed_at = ? WHERE report_key = ?", (at, key))

    def known(self) -> Iterator[tuple[str, str | None]]:
        yield from self.conn.execute(
            "SELECT report_key, portal FROM report_lifecycle WHERE removed_at IS NULL AND summary IS NOT NULL"
        ).fetchall()


# KEYS: the lifecycle hash. ARGV: reason, run id. Counts a run once, atomically across workers.
_NOTE_MISSING_LUA = """
if redis.call('HGET', KEYS[1], 'run') ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[1], 'misses', 1)
end
redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'run', ARGV[2])
return tonumber(redis.call('HGET', KEYS[1], 'misses'))
"""


class RedisLifecycleStore(LifecycleStore):
    def __init__(self, server: Any, prefix: str):
        self.server = server
        self.prefix = prefix
        self._note_missing = server.register_script(_NOTE_MISSING_LUA)

    def _key(self, key: str) -> str:
        return f"{self.prefix}:lifecycle:{key}"

    def remember(self, key: str, portal: str | None, summary: dict) -> None:
        pipe = self.server.pipeline(transaction=True)
        pipe.hdel(self._key(key), "misses", "reason", "run", "removed_at")
        pipe.hset(self._key(key), mapping={"portal": portal or "", "summary": json.dumps(summary, ensure_ascii=False)})
        pipe.execute()

    def get(self, key: str) -> dict | None:
        data = self.server.hgetall(self._key(key))
        if not data:
            return None
        return {"summary": json.loads(data["summary"]) if data.get("summary") else None,
                "portal": data.get("portal") or None, "misses": int(data.get("misses") or 0),
                "removed": bool(data.get("removed_at"))}

    def note_missing(self, key: str, reason: str, run_id: str) -> int:
        return int(self._note_missing(keys=[self._key(key)], args=[reason, run_id]))

    def note_present(self, key: str) -> None:
        self.server.hdel(self._key(key), "misses", "reason", "run", "removed_at")

    def mark_removed(self, key: str, at: float) -> None:
        self.server.hset(self._key(key), "removed_at", str(at))

    def known(self) -> Iterator[tuple[str, str | None]]:
        start = len(self._key(""))
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._key("")) + "*"
        for redis_key in self.server.scan_iter(match=pattern, count=1000):
            portal, summary, removed = self.server.hmget(redis_key, "portal", "summary", "removed_at")
            if summary and not removed:
                yield redis_key[start:], portal or None


def lifecycle_store(state: CrawlState) -> LifecycleStore:
    """The lifecycle store beside a crawl state, in the same file or Redis."""
    if isinstance(state, SQLiteCrawlState):
        return SQLiteLifecycleStore(state.conn)
    if isinstance(state, RedisCrawlState):
        return RedisLifecycleStore(state.server, state.prefix)
    raise NotConfigured(f"no lifecycle store for {type(state).__name__}")


# ------------------------------------------------------------------ decisions

def summary_of(item: Any) -> dict:
    """What a later removal line repeats of the copy that reached the feed."""
    adapter = ItemAdapter(item)  # only these keys: converting the whole item (its tables) is costly
    return {key: adapter.get(key) for key in SUMMARY_KEYS}


def removal_item(summary: dict | None, key: str, reason: str, checked_at: str,
                 portal: str | None = None, content_sha256: str | None = None) -> dict:
    """The ``change: "removed"`` line (report-schema.md): the last copy's identity, no tables."""
    summary = summary or {}
    provenance = dict(summary.get("provenance") or {})
    provenance.update(fetched_at=checked_at, etag=None, http_last_modified=None)
    provenance.setdefault("content_sha256", content_sha256)
    for name in ("index_no", "publisher", "doc_no", "category", "created_date", "published_date",
                 "source_url", "referer", "encoding"):
        provenance.setdefault(name, None)
    return {
        "url": summary.get("url") or key,
        "portal": summary.get("portal") or portal,
        "title": summary.get("title"),
        "agency": summary.get("agency"),
        "year": summary.get("year"),
        "format": None,
        "provenance": provenance,
        "tables": {},
        "checks": [],
        "warnings": [reason],
        "change": REMOVED,
    }


def looks_like_list_or_home(url: str, state: CrawlState) -> str | None:
    """``"home page"`` / ``"list page"`` when a redirect target is one; None for anything else."""
    path = urlsplit(url).path
    if _HOME_PAGE.match(path):
        return "home page"
    record = state.get_url(url)
    if (record is not None and record.kind in PAGE_KINDS) or _COLUMN_INDEX.search(path):
        return "list page"
    return None


class ReportLifecycle:
    """One per crawl: shared by the two middlewares and the pipeline."""

    def __init__(self, crawler: Any, state: CrawlState, store: LifecycleStore):
        self.crawler = crawler
        self.state = state
        self.store = store
        self.stats = crawler.stats
        self.run_id = f"{utc_timestamp()}-{id(self):x}"
        self.recheck_after = crawler.settings.getfloat("GOVCRAWL_RECHECK_AFTER", DEFAULT_RECHECK_AFTER)
        self.requested: set[str] = set()  # report/attachment URLs this run asked for
        self.removed_this_run: set[str] = set()
        self.missing_urls: set[str] = set()  # report URLs seen gone this run
        self.rechecked = False

    def gone_reason(self, request: Request, response: Any) -> str | None:
        if response.status in GONE_STATUSES:
            return f"removed: HTTP {response.status}"
        location = response.headers.get(b"Location") if 300 <= response.status < 400 else None
        if location:
            target = urljoin(response.url, location.decode("latin-1").strip())
            kind = looks_like_list_or_home(target, self.state)
            if kind:
                # Not followed: the list page is no report, and the dupefilter would drop it anyway
                # (the crawl has read that list already), so this 3xx is what reaches the spider.
                request.meta["dont_redirect"] = True
                return f"removed: redirected to a {kind} ({target})"
        return None

    def observe(self, request: Request, response: Any) -> None:
        """A report/attachment response: is a known report gone, or there after all?"""
        original = (request.meta.get("redirect_urls") or [request.url])[0]
        record = self.state.get_url(original)
        if record is None or not record.report_key:
            return
        key = record.report_key
        reason = self.gone_reason(request, response)
        if reason is None:
            if response.status in (200, 304):
                self.store.note_present(key)
            return
        if any(url != original and url not in self.missing_urls and (other := self.state.get_url(url)) is not None
               and other.kind == "report" for url in self.state.urls_of_report(key)):
            # the same report is known under another address (it moved): not gone
            self.missing_urls.add(original)
            self.stats.inc_value("govcrawl/lifecycle/moved")
            return
        self.missing_urls.add(original)
        misses = self.store.note_missing(key, reason, self.run_id)
        self.stats.inc_value("govcrawl/lifecycle/missing")
        known = self.store.get(key) or {}
        if misses >= MISSING_CRAWLS_TO_REMOVE and not known.get("removed") and key not in self.removed_this_run:
            request.meta["govcrawl_removed"] = key
            request.meta["govcrawl_removed_reason"] = reason

    def removal_for(self, response: Any) -> dict | None:
        key = response.meta.get("govcrawl_removed")
        if not key or key in self.removed_this_run:
            return None
        self.removed_this_run.add(key)
        known = self.store.get(key) or {}
        record = self.state.get_url(key)
        return removal_item(known.get("summary"), key, response.meta["govcrawl_removed_reason"], utc_timestamp(),
                            portal=response.meta.get("portal"),
                            content_sha256=record.content_sha256 if record else None)

    def previous_sha256(self, item: Any) -> str | None:
        adapter = ItemAdapter(item)
        known = self.store.get(adapter.get("url")) or {}
        previous = ((known.get("summary") or {}).get("provenance") or {}).get("content_sha256")
        if previous:
            return previous
        # Emitted before this store existed: the state's record of the document still holds the old hash.
        source_url = (adapter.get("provenance") or {}).get("source_url") or adapter.get("url")
        record = self.state.get_url(source_url)
        return record.content_sha256 if record else None

    def item_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        adapter = ItemAdapter(item)
        key, change = adapter.get("url"), adapter.get("change")
        if not key or change is None:
            return
        if change == REMOVED:
            self.store.mark_removed(key, now())
            self.stats.inc_value("govcrawl/lifecycle/removed")
        else:
            self.store.remember(key, adapter.get("portal"), summary_of(item))

    def recheck_requests(self, spider: Any) -> list[Request]:
        """Known reports of this crawl's portals that no list linked this run and are due a check."""
        portals = getattr(spider, "portals", {}) or {}
        requests = []
        for key, portal in self.store.known():
            if portal not in portals or key in self.requested:
                continue
            record = self.state.get_url(key)
            if record is None or record.fetched_at is None:
                continue
            if self.recheck_after > 0 and now() - record.fetched_at < self.recheck_after:
                continue
            summary = (self.store.get(key) or {}).get("summary") or {}
            kind = record.kind if record.kind in STATE_KINDS else "report"
            callback = spider.parse_attachment if kind == "attachment" else spider.parse_report
            requests.append(Request(key, callback=callback, errback=spider.on_error, meta={
                "govcrawl_kind": kind, "portal": portal, "govcrawl_depth": 0, "govcrawl_recheck": True,
                "referer_list": (summary.get("provenance") or {}).get("referer"),
                "title_hint": summary.get("title")}))
        return requests


_per_crawler: weakref.WeakKeyDictionary[Any, ReportLifecycle] = weakref.WeakKeyDictionary()


def lifecycle_for(crawler: Any) -> ReportLifecycle:
    if crawler in _per_crawler:
        return _per_crawler[crawler]
    state = state_for(crawler)
    if state is None:
        raise NotConfigured("GOVCRAWL_STATE_ENABLED is off")
    lifecycle = ReportLifecycle(crawler, state, lifecycle_store(state))
    _per_crawler[crawler] = lifecycle
    crawler.signals.connect(lifecycle.item_scraped, signal=signals.item_scraped)
    # lifecycle holds the crawler: drop the entry explicitly or the weak key never dies
    crawler.signals.connect(lambda: _per_crawler.pop(crawler, None), signal=signals.engine_stopped, weak=False)
    return lifecycle


# ------------------------------------------------------------------ Scrapy components

class LifecycleDownloaderMiddleware:
    """Above redirects and the state middleware (610 > 600 > 585): sees each 3xx and 304 as it arrives."""

    def __init__(self, lifecycle: ReportLifecycle):
        self.lifecycle = lifecycle

    @classmethod
    def from_crawler(cls, crawler: Any) -> LifecycleDownloaderMiddleware:
        return cls(lifecycle_for(crawler))

    def process_request(self, request: Request) -> None:
        if request.meta.get("govcrawl_kind") in STATE_KINDS:
            self.lifecycle.requested.add(request.url)
        return None

    def process_response(self, request: Request, response: Any) -> Any:
        if request.meta.get("govcrawl_kind") in STATE_KINDS:
            self.lifecycle.observe(request, response)
        return response


class LifecycleSpiderMiddleware:
    def __init__(self, crawler: Any, lifecycle: ReportLifecycle):
        self.crawler = crawler
        self.lifecycle = lifecycle

    @classmethod
    def from_crawler(cls, crawler: Any) -> LifecycleSpiderMiddleware:
        mw = cls(crawler, lifecycle_for(crawler))
        crawler.signals.connect(mw.spider_idle, signal=signals.spider_idle)
        return mw

    def process_spider_output(self, response: Any, result: Any) -> Any:
        yield from result
        item = self.lifecycle.removal_for(response)
        if item is not None:
            yield item

    async def process_spider_output_async(self, response: Any, result: Any) -> Any:
        async for obj in result:
            yield obj
        item = self.lifecycle.removal_for(response)
        if item is not None:
            yield item

    def spider_idle(self, spider: Any) -> None:
        if self.lifecycle.rechecked:
            return
        self.lifecycle.rechecked = True
        requests = self.lifecycle.recheck_requests(spider)
        if not requests:
            return
        self.crawler.stats.inc_value("govcrawl/lifecycle/rechecked", len(requests))
        for request in requests:
            self.crawler.engine.crawl(request)
        raise DontCloseSpider


class LifecyclePipeline:
    """After the state pipeline: an updated report names the hash of the copy it replaces."""

    def __init__(self, lifecycle: ReportLifecycle):
        self.lifecycle = lifecycle

    @classmethod
    def from_crawler(cls, crawler: Any) -> LifecyclePipeline:
        return cls(lifecycle_for(crawler))

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if adapter.get("change") == "updated":
            adapter["previous_sha256"] = self.lifecycle.previous_sha256(item)
        return item
