"""Crawl state: what was fetched, with which validators, and which report it produced.

The state lets a recrawl skip or conditionally re-request report pages and
attachments it already has, and lets the state pipeline tell a new report from
an updated or an unchanged one. Two backends with one interface:

* ``SQLiteCrawlState`` — the embedded default, one file (WAL mode, one commit
  per write, so a crash loses nothing that was written);
* ``RedisCrawlState`` — hashes keyed by URL in a shared Redis, used
  automatically when ``GOVCRAWL_REDIS_URL`` is set so all workers of a
  distributed crawl share one state.

Which backend and where: ``GOVCRAWL_STATE_URI`` (``sqlite:///path``,
``redis://host:port/db``, or a plain path) wins; else ``GOVCRAWL_REDIS_URL``;
else ``GOVCRAWL_STATE_PATH`` (default ``output/crawl-state.sqlite3``).
``GOVCRAWL_STATE_ENABLED = False`` switches the whole feature off.

Reports are claimed before they are emitted (``claim_report``) and recorded
only once the feed has the item (``record_report``); the claim is atomic in
Redis, so two workers never both emit one report.

Reset: delete the SQLite file, or ``python -m govcrawl.state reset --uri URI``.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import time
import weakref
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_STATE_PATH = "output/crawl-state.sqlite3"
DEFAULT_REDIS_PREFIX = "govcrawl:state"
# A claim taken by a worker that died before recording expires after this.
CLAIM_TTL_SECONDS = 3600

NEW, UPDATED, UNCHANGED, CLAIMED = "new", "updated", "unchanged", "claimed"


@dataclass
class UrlRecord:
    """One fetched URL, as the state remembers it."""

    url: str
    kind: str | None = None
    fetched_at: float | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_sha256: str | None = None
    report_key: str | None = None
    report_hash: str | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> UrlRecord:
        known = {f.name for f in fields(cls)}
        values = {k: (v if v != "" else None) for k, v in data.items() if k in known}
        if values.get("fetched_at") is not None:
            values["fetched_at"] = float(values["fetched_at"])
        return cls(**values)


@dataclass
class ReportRecord:
    """One emitted report: its key (the report URL) and the hash of its content."""

    report_key: str
    report_hash: str
    url: str | None = None
    emitted_at: float | None = None


class CrawlState:
    """The interface both backends implement."""

    def get_url(self, url: str) -> UrlRecord | None:
        raise NotImplementedError

    def put_url(self, record: UrlRecord) -> None:
        raise NotImplementedError

    def touch_url(self, url: str, fetched_at: float, **validators: str | None) -> None:
        """Mark a known URL as re-checked (a 304 or an unchanged body)."""
        raise NotImplementedError

    def get_report(self, report_key: str) -> ReportRecord | None:
        raise NotImplementedError

    def claim_report(self, report_key: str, report_hash: str, full: bool = False) -> str:
        """Decide and reserve: returns NEW, UPDATED, UNCHANGED or CLAIMED.

        UNCHANGED without ``full`` takes no claim (nothing will be emitted).
        CLAIMED means another worker is emitting this very content right now.
        """
        raise NotImplementedError

    def release_report(self, report_key: str) -> None:
        """Give a claim back (the item was dropped or failed after the claim)."""
        raise NotImplementedError

    def record_report(
        self, report_key: str, report_hash: str, urls: list[UrlRecord], emitted_at: float
    ) -> None:
        """The item is in the feed: remember the report and the URLs that made it."""
        raise NotImplementedError

    def find_alias(self, aliases: list[str]) -> str | None:
        """The key of the report already known by one of ``aliases`` (its body hash, its identity)."""
        raise NotImplementedError

    def urls_of_report(self, report_key: str) -> list[str]:
        """Every URL the state ties to the report ``report_key`` (its page, attachments, later addresses)."""
        raise NotImplementedError

    def add_aliases(self, report_key: str, aliases: list[str]) -> None:
        """Remember that ``aliases`` name the report ``report_key`` (first key wins)."""
        raise NotImplementedError

    def count_urls(self) -> int:
        raise NotImplementedError

    def count_reports(self) -> int:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SQLiteCrawlState(CrawlState):
    """The embedded backend. One process at a time per file."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; each write below is its own transaction.
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against a process crash in WAL mode (only power loss can
        # drop the last commits), and keeps one commit per item cheap.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS urls (
                url TEXT PRIMARY KEY,
                kind TEXT,
                fetched_at REAL,
                etag TEXT,
                last_modified TEXT,
                content_sha256 TEXT,
                report_key TEXT,
                report_hash TEXT
            );
            CREATE TABLE IF NOT EXISTS reports (
                report_key TEXT PRIMARY KEY,
                report_hash TEXT NOT NULL,
                url TEXT,
                emitted_at REAL
            );
            -- another name of an emitted report: the hash of its bytes, or agency|year|title
            CREATE TABLE IF NOT EXISTS aliases (
                alias TEXT PRIMARY KEY,
                report_key TEXT NOT NULL
            );
            """
        )
        # Single process: claims need no persistence, a crash releases them.
        self._claims: dict[str, str] = {}

    def get_url(self, url: str) -> UrlRecord | None:
        row = self.conn.execute(
            "SELECT url, kind, fetched_at, etag, last_modified, content_sha256,"
            " report_key, report_hash FROM urls WHERE url = ?",
            (url,),
        ).fetchone()
        return UrlRecord(*row) if row else None

    def _upsert_url(self, record: UrlRecord) -> None:
        data = asdict(record)
        self.conn.execute(
            "INSERT INTO urls (url, kind, fetched_at, etag, last_modified, content_sha256,"
            " report_key, report_hash) VALUES (:url, :kind, :fetched_at, :etag,"
            " :last_modified, :content_sha256, :report_key, :report_hash)"
            " ON CONFLICT(url) DO UPDATE SET kind=excluded.kind,"
            " fetched_at=excluded.fetched_at, etag=excluded.etag,"
            " last_modified=excluded.last_modified,"
            " content_sha256=excluded.content_sha256,"
            " report_key=COALESCE(excluded.report_key, urls.report_key),"
            " report_hash=COALESCE(excluded.report_hash, urls.report_hash)",
            data,
        )

    def put_url(self, record: UrlRecord) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self._upsert_url(record)

    def touch_url(self, url: str, fetched_at: float, **validators: str | None) -> None:
        sets = ["fetched_at = ?"]
        args: list[Any] = [fetched_at]
        for name in ("etag", "last_modified", "content_sha256"):
            if validators.get(name):
                sets.append(f"{name} = ?")
                args.append(validators[name])
        args.append(url)
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(f"UPDATE urls SET {', '.join(sets)} WHERE url = ?", args)

    def get_report(self, report_key: str) -> ReportRecord | None:
        row = self.conn.execute(
            "SELECT report_key, report_hash, url, emitted_at FROM reports WHERE report_key = ?",
            (report_key,),
        ).fetchone()
        return ReportRecord(*row) if row else None

    def claim_report(self, report_key: str, report_hash: str, full: bool = False) -> str:
        known = self.get_report(report_key)
        if known and known.report_hash == report_hash:
            status = UNCHANGED
            if not full:
                return status
        else:
            status = UPDATED if known else NEW
        if report_key in self._claims:
            return CLAIMED
        self._claims[report_key] = report_hash
        return status

    def release_report(self, report_key: str) -> None:
        self._claims.pop(report_key, None)

    def record_report(
        self, report_key: str, report_hash: str, urls: list[UrlRecord], emitted_at: float
    ) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(
                "INSERT INTO reports (report_key, report_hash, url, emitted_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(report_key) DO UPDATE SET"
                " report_hash=excluded.report_hash, url=excluded.url,"
                " emitted_at=excluded.emitted_at",
                (report_key, report_hash, report_key, emitted_at),
            )
            for record in urls:
                self._upsert_url(record)
        self._claims.pop(report_key, None)

    def urls_of_report(self, report_key: str) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT url FROM urls WHERE report_key = ?", (report_key,))]

    def find_alias(self, aliases: list[str]) -> str | None:
        for alias in aliases:
            row = self.conn.execute("SELECT report_key FROM aliases WHERE alias = ?", (alias,)).fetchone()
            if row:
                return row[0]
        return None

    def add_aliases(self, report_key: str, aliases: list[str]) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR IGNORE INTO aliases (alias, report_key) VALUES (?, ?)",
                                  [(alias, report_key) for alias in aliases])

    def count_urls(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM urls").fetchone()[0]

    def count_reports(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0]

    def reset(self) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute("DELETE FROM urls")
            self.conn.execute("DELETE FROM reports")
        self._claims.clear()

    def close(self) -> None:
        self.conn.close()


# KEYS: report hash key, claim key. ARGV: report_hash, ttl, full ("1"/"0").
_CLAIM_LUA = """
local emitted = redis.call('HGET', KEYS[1], 'report_hash')
local status
if emitted == ARGV[1] then
  if ARGV[3] ~= '1' then return 'unchanged' end
  status = 'unchanged'
elseif emitted then
  status = 'updated'
else
  status = 'new'
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) then
  return 'claimed'
end
return status
"""


class RedisCrawlState(CrawlState):
    """Shared backend: ``<prefix>:url:<url>`` and ``<prefix>:report:<key>`` hashes."""

    def __init__(self, url: str, prefix: str = DEFAULT_REDIS_PREFIX, server: Any = None):
        import redis

        self.server = server or redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self._claim = self.server.register_script(_CLAIM_LUA)

    def _url_key(self, url: str) -> str:
        return f"{self.prefix}:url:{url}"

    def _report_key(self, key: str) -> str:
        return f"{self.prefix}:report:{key}"

    def _claim_key(self, key: str) -> str:
        return f"{self.prefix}:claim:{key}"

    @staticmethod
    def _mapping(record: UrlRecord) -> dict[str, str]:
        # Redis hashes hold strings; a missing value is left out, not written as "None".
        return {k: str(v) for k, v in asdict(record).items() if v is not None}

    def get_url(self, url: str) -> UrlRecord | None:
        data = self.server.hgetall(self._url_key(url))
        return UrlRecord.from_mapping(data) if data else None

    def put_url(self, record: UrlRecord) -> None:
        self.server.hset(self._url_key(record.url), mapping=self._mapping(record))

    def touch_url(self, url: str, fetched_at: float, **validators: str | None) -> None:
        key = self._url_key(url)
        if not self.server.exists(key):
            return
        mapping = {"fetched_at": str(fetched_at)}
        mapping.update({k: v for k, v in validators.items() if v})
        self.server.hset(key, mapping=mapping)

    def get_report(self, report_key: str) -> ReportRecord | None:
        data = self.server.hgetall(self._report_key(report_key))
        if not data:
            return None
        return ReportRecord(
            report_key=report_key,
            report_hash=data["report_hash"],
            url=data.get("url"),
            emitted_at=float(data["emitted_at"]) if data.get("emitted_at") else None,
        )

    def claim_report(self, report_key: str, report_hash: str, full: bool = False) -> str:
        return self._claim(
            keys=[self._report_key(report_key), self._claim_key(report_key)],
            args=[report_hash, CLAIM_TTL_SECONDS, "1" if full else "0"],
        )

    def release_report(self, report_key: str) -> None:
        self.server.delete(self._claim_key(report_key))

    def record_report(
        self, report_key: str, report_hash: str, urls: list[UrlRecord], emitted_at: float
    ) -> None:
        pipe = self.server.pipeline(transaction=True)
        pipe.hset(
            self._report_key(report_key),
            mapping={"report_hash": report_hash, "url": report_key, "emitted_at": str(emitted_at)},
        )
        for record in urls:
            pipe.hset(self._url_key(record.url), mapping=self._mapping(record))
            pipe.sadd(self._report_urls_key(report_key), record.url)
        pipe.delete(self._claim_key(report_key))
        pipe.execute()

    def _report_urls_key(self, report_key: str) -> str:
        return f"{self.prefix}:report_urls:{report_key}"

    def urls_of_report(self, report_key: str) -> list[str]:
        return sorted(self.server.smembers(self._report_urls_key(report_key)))

    def _alias_key(self, alias: str) -> str:
        return f"{self.prefix}:alias:{alias}"

    def find_alias(self, aliases: list[str]) -> str | None:
        if not aliases:
            return None
        for found in self.server.mget([self._alias_key(a) for a in aliases]):
            if found:
                return found
        return None

    def add_aliases(self, report_key: str, aliases: list[str]) -> None:
        pipe = self.server.pipeline(transaction=False)
        for alias in aliases:
            pipe.set(self._alias_key(alias), report_key, nx=True)  # first key wins, across workers too
        pipe.execute()

    def _pattern(self, suffix: str) -> str:
        # the prefix is literal: escape glob characters for SCAN MATCH
        return re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix) + suffix

    def _count(self, pattern: str) -> int:
        return sum(1 for _ in self.server.scan_iter(match=pattern, count=1000))

    def count_urls(self) -> int:
        return self._count(self._pattern(":url:*"))

    def count_reports(self) -> int:
        return self._count(self._pattern(":report:*"))

    def reset(self) -> None:
        batch = []
        for key in self.server.scan_iter(match=self._pattern(":*"), count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self.server.delete(*batch)
                batch = []
        if batch:
            self.server.delete(*batch)

    def close(self) -> None:
        self.server.close()


def state_uri(settings: Any) -> str | None:
    """Where the state lives for these settings; None when switched off."""
    if not settings.getbool("GOVCRAWL_STATE_ENABLED", True):
        return None
    return (
        settings.get("GOVCRAWL_STATE_URI")
        or settings.get("GOVCRAWL_REDIS_URL")
        or os.environ.get("GOVCRAWL_REDIS_URL")
        or settings.get("GOVCRAWL_STATE_PATH")
        or DEFAULT_STATE_PATH
    )


def open_state(uri: str, redis_prefix: str = DEFAULT_REDIS_PREFIX) -> CrawlState:
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return RedisCrawlState(uri, prefix=redis_prefix)
    if uri.startswith("sqlite:///"):
        uri = uri[len("sqlite:///") :]
    return SQLiteCrawlState(uri)


_per_crawler: weakref.WeakKeyDictionary[Any, CrawlState] = weakref.WeakKeyDictionary()


def state_for(crawler: Any) -> CrawlState | None:
    """The one state object shared by the middleware and the pipeline of a crawl."""
    if crawler in _per_crawler:
        return _per_crawler[crawler]
    uri = state_uri(crawler.settings)
    if uri is None:
        return None
    state = open_state(
        uri, crawler.settings.get("GOVCRAWL_STATE_REDIS_PREFIX", DEFAULT_REDIS_PREFIX)
    )
    _per_crawler[crawler] = state

    from scrapy import signals

    def _close(*_args: Any, **_kwargs: Any) -> None:
        _per_crawler.pop(crawler, None)
        state.close()

    crawler.signals.connect(_close, signal=signals.engine_stopped, weak=False)
    return state


def full_recrawl(crawler: Any, spider: Any = None) -> bool:
    """``-a full=1`` (or setting GOVCRAWL_FULL_RECRAWL): re-fetch and re-emit everything."""
    value = getattr(spider, "full", None) if spider is not None else None
    if value is None:
        return crawler.settings.getbool("GOVCRAWL_FULL_RECRAWL", False)
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def now() -> float:
    return time.time()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govcrawl.state", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["info", "reset"])
    parser.add_argument("--uri", default=os.environ.get("GOVCRAWL_REDIS_URL") or DEFAULT_STATE_PATH,
                        help="sqlite path / sqlite:///path / redis://… (default: $GOVCRAWL_REDIS_URL or %(default)s)")
    parser.add_argument("--prefix", default=DEFAULT_REDIS_PREFIX, help="Redis key prefix")
    args = parser.parse_args(argv)
    if not args.uri.startswith(("redis://", "rediss://", "unix://")):
        path = args.uri[len("sqlite:///"):] if args.uri.startswith("sqlite:///") else args.uri
        if not os.path.exists(path):  # looking must not create an empty state file
            print(f"no crawl state at {path}: the next crawl is a full one")
            return 0
    state = open_state(args.uri, args.prefix)
    try:
        if args.command == "reset":
            state.reset()
            print(f"state reset: {args.uri}")
        else:
            print(f"{args.uri}: {state.count_urls()} urls, {state.count_reports()} reports")
    finally:
        state.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
