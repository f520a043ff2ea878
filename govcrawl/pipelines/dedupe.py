"""DedupePipeline: one item per report even when several URLs lead to it.

The same report turns up under two list pages (department list and 年报
column), as a page and its PDF, or behind a redirect.  A report is a
duplicate when any of these was seen before in this crawl: its URL (after
redirects), the SHA-256 of its downloaded body, or (agency, year, title) when
all three are known.  Cross-run deduplication is the incremental state's job.
"""

from __future__ import annotations

import logging
import re

from scrapy.exceptions import DropItem

logger = logging.getLogger(__name__)


def dedupe_keys(item: dict) -> list[tuple]:
    keys: list[tuple] = []
    if item.get("url"):
        keys.append(("url", item["url"]))
    sha = (item.get("provenance") or {}).get("content_sha256")
    if sha:
        keys.append(("sha256", sha))
    agency, year, title = item.get("agency"), item.get("year"), item.get("title")
    if agency and year and title:
        keys.append(("agency_year_title", agency, year, re.sub(r"\s+", "", title)))
    return keys


class DedupePipeline:
    def __init__(self, stats=None):
        self.stats = stats
        self.seen: dict[tuple, str] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        if not isinstance(item, dict) or item.get("change") == "removed":
            return item  # a removal event repeats the last copy's keys on purpose
        keys = dedupe_keys(item)
        for key in keys:
            if key in self.seen:
                if self.stats is not None:
                    self.stats.inc_value("govcrawl/dedupe/duplicates")
                    self.stats.inc_value(f"govcrawl/dedupe/duplicates/{key[0]}")
                first = self.seen[key]
                logger.debug("Duplicate report %s (same %s as %s)", item.get("url"), key[0], first)
                raise DropItem(f"duplicate of {first} (same {key[0]})", log_level="DEBUG")
        for key in keys:
            self.seen[key] = item.get("url") or ""
        return item
