"""Feed files for the export tests: items from govcrawl.demo.feed written as JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path


def write_feed(path: Path, items: list[dict], *, extra_lines: list[str] = ()) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
        for line in extra_lines:
            out.write(line + "\n")
    return path


def leaf_cells(items: list[dict]) -> int:
    """Cells as the export defines them, counted straight from the JSON: leaves of
    tables[section][row][column], nulls included, ``*_unit`` strings excluded."""
    return sum(1 for item in items for rows in item["tables"].values() for row in rows.values()
               for column in row if not column.endswith("_unit"))
