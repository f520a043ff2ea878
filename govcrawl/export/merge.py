"""Merging runs: the union of several feeds as one record per report.

A report is identified by its ``url`` (the page it was read from; the crawl
emits one report per page, and a removal line repeats the url).  Among all
lines for one url, the one with the latest ``provenance.fetched_at`` gives the
values; equal or missing timestamps are broken by input order (later file,
later line wins), so ``export run1 run2`` prefers ``run2``.

Removals (``change: "removed"``, see the report contract) carry no tables.
They never replace values: a report whose latest line is a removal keeps the
values of its last real copy and gets ``removed = True``.  A report that comes
back after a removal (a newer real line) is not removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

from govcrawl.export.feeds import FeedLine

_OLDEST = datetime.min.replace(tzinfo=timezone.utc)


def parse_timestamp(value) -> datetime | None:
    """``fetched_at`` as an aware datetime (naive values are taken as UTC); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _sort_key(line: FeedLine) -> tuple:
    stamp = parse_timestamp((line.item.get("provenance") or {}).get("fetched_at"))
    return (stamp or _OLDEST, line.order)


def is_removal(item: dict) -> bool:
    return item.get("change") == "removed"


@dataclass
class MergedReport:
    """One report after merging: ``item`` holds the values shown (the latest real copy)."""

    item: dict
    source: str
    line: int
    versions: int = 1
    removed: bool = False
    removed_reason: str | None = None
    removed_at: str | None = None
    first_fetched_at: str | None = None
    feeds: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.item["url"]


def _removal_reason(item: dict) -> str | None:
    for warning in item.get("warnings") or []:
        if isinstance(warning, str) and warning.startswith("removed"):
            return warning
    return None


def merge_lines(lines: Iterable[FeedLine]) -> list[MergedReport]:
    """One :class:`MergedReport` per url, in order of first appearance.

    Streaming: per url only the best real copy and the latest line are kept, so
    memory grows with the number of reports, not with the number of runs.
    """
    state: dict[str, dict] = {}
    for line in lines:
        key = _sort_key(line)
        seen = state.get(line.item["url"])
        if seen is None:
            seen = state[line.item["url"]] = {"real": None, "latest": line, "first": line, "versions": 0,
                                              "feeds": {}}
        seen["versions"] += 1
        seen["feeds"][line.source] = None
        if key >= _sort_key(seen["latest"]):
            seen["latest"] = line
        if key < _sort_key(seen["first"]):
            seen["first"] = line
        if not is_removal(line.item) and (seen["real"] is None or key >= _sort_key(seen["real"])):
            seen["real"] = line
    merged = []
    for seen in state.values():
        latest = seen["latest"]
        # Only a removal seen (the copy was in a feed not given): keep what the removal line says.
        shown = seen["real"] or latest
        report = MergedReport(item=shown.item, source=shown.source, line=shown.line, versions=seen["versions"],
                              feeds=list(seen["feeds"]))
        report.first_fetched_at = (seen["first"].item.get("provenance") or {}).get("fetched_at")
        if is_removal(latest.item):
            report.removed = True
            report.removed_reason = _removal_reason(latest.item)
            report.removed_at = (latest.item.get("provenance") or {}).get("fetched_at")
        merged.append(report)
    return merged
