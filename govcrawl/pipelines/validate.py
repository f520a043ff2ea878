"""ValidatePipeline: check each report against the JSON Schema of the item contract.

An invalid report is kept — losing data silently is worse than shipping it
flagged — with one warning per schema error and a stats counter, so CI and
the per-portal summary show it.
"""

from __future__ import annotations

import logging
from typing import Callable

logger = logging.getLogger(__name__)

MAX_WARNINGS = 10  # one broken table can produce hundreds of identical errors


class ValidatePipeline:
    def __init__(self, stats=None, validate_item: Callable | None = None):
        if validate_item is None:
            from govcrawl.extract.schema import validate_item
        self.stats = stats
        self.validate_item = validate_item

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        if not isinstance(item, dict):
            return item
        errors = self.validate_item(item)
        if self.stats is not None:
            self.stats.inc_value("govcrawl/validate/checked")
        if not errors:
            return item
        if self.stats is not None:
            self.stats.inc_value("govcrawl/validate/invalid")
        logger.warning("Report fails the schema (%d errors): %s — %s", len(errors), item.get("url"), errors[0])
        warnings = item.get("warnings")
        if not isinstance(warnings, list):
            warnings = item["warnings"] = []
        warnings.extend(f"schema: {error}" for error in errors[:MAX_WARNINGS])
        if len(errors) > MAX_WARNINGS:
            warnings.append(f"schema: … and {len(errors) - MAX_WARNINGS} more errors")
        return item

