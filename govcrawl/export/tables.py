"""Flattening merged reports into the export's tables (as Arrow tables).

* ``reports``  – one row per report: identity, provenance, per-report check
  results, warning count, removal, and the request figures of section 三
  summed into outcome groups (so "who denies most" is one sort away);
* ``cells``    – the tidy long table, one row per cell: ``report_id, section, row_key,
  column_key, value, unit`` (the contract's words: a section maps row key →
  column key → value; ``table``/``row``/``column`` are reserved words in SQL);
* ``applications`` / ``active_disclosure`` / ``review_litigation`` – one wide
  table per section, one row per report × row key, one column per column key.

What a *cell* is: every leaf ``tables[section][row][column]`` of the report
contract, **including null leaves** (a blank printed cell is data: the body
left it empty, which is not the same as a row that is absent).  Unit strings
(``amount_unit``) are not cells: they become the ``unit`` of the ``amount``
cell of the same row.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

from govcrawl.export.merge import MergedReport
from govcrawl.extract import template as T

# Unit key -> the column whose unit it gives, and back.
UNIT_KEYS = {"amount_unit": "amount"}
_UNIT_OF = {column: unit for unit, column in UNIT_KEYS.items()}

CHECK_RULES = (
    "applications_balance",
    "applications_row_totals",
    "applications_result_sum",
    "review_litigation_totals",
    "narrative_matches_tables",
)

PROVENANCE_FIELDS = (
    "index_no", "publisher", "doc_no", "category", "created_date", "published_date",
    "source_url", "referer", "fetched_at", "http_last_modified", "etag", "content_sha256",
    "encoding", "reader",
)

# Section 三's result rows grouped the way the template groups them (by row-key prefix).
OUTCOME_GROUPS = {
    "granted": ("granted",),
    "partially_granted": ("partially_granted",),
    "denied": tuple(k for k in T.RESULT_ROW_KEYS if k.startswith("denied_")),
    "unavailable": tuple(k for k in T.RESULT_ROW_KEYS if k.startswith("unavailable_")),
    "not_processed": tuple(k for k in T.RESULT_ROW_KEYS if k.startswith("rejected_")),
    "other": tuple(k for k in T.RESULT_ROW_KEYS if k.startswith("other_")),
}
REQUEST_FIGURES = ("requests_received", "carried_over", *OUTCOME_GROUPS, "total_handled", "carried_forward")

SECTION_COLUMNS = {
    "applications": T.APPLICANT_COLUMNS,
    "review_litigation": T.REVIEW_COLUMNS,
    "active_disclosure": tuple(dict.fromkeys(
        c for fmt in T.FORMATS for _, _, columns in T.ACTIVE[fmt].values() for c in columns
    )) + tuple(UNIT_KEYS),
}


def report_id(url: str) -> str:
    """A short stable id for a report (its url's hash), the same in every export."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def number(value) -> float | None:
    """A table value as a float; anything that is not a number (a stray string) is None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def iter_cells(tables: dict):
    """``(section, row, column, value, unit)`` for every cell of a report's ``tables``."""
    for section, rows in (tables or {}).items():
        if not isinstance(rows, dict):
            continue
        for row_key, row in rows.items():
            if not isinstance(row, dict):
                continue
            for column, value in row.items():
                if column in UNIT_KEYS:
                    continue
                unit_key = _UNIT_OF.get(column)
                yield section, row_key, column, value, row.get(unit_key) if unit_key else None


def row_total(row: dict | None) -> float | None:
    """A section-三 row's 总计, or the sum of its applicant columns when 总计 is blank; None when all blank."""
    if not isinstance(row, dict):
        return None
    total = number(row.get("total"))
    if total is not None:
        return total
    values = [number(row.get(c)) for c in T.APPLICANT_COLUMNS[:6]]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def _sum_or_none(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def request_figures(tables: dict) -> dict[str, float | None]:
    """Section 三 summed: requests received, carried over, each outcome group, handled, carried forward."""
    apps = (tables or {}).get("applications") or {}
    figures = {
        "requests_received": row_total(apps.get("new_requests")),
        "carried_over": row_total(apps.get("carried_over")),
    }
    for group, keys in OUTCOME_GROUPS.items():
        figures[group] = _sum_or_none(row_total(apps.get(k)) for k in keys)
    figures["total_handled"] = row_total(apps.get("total_handled"))
    figures["carried_forward"] = row_total(apps.get("carried_forward"))
    return figures


def report_year(item: dict) -> int | None:
    year = item.get("year")
    return year if isinstance(year, int) and not isinstance(year, bool) else None


def _field(item: dict, name: str):
    value = item.get(name)
    if value is None:
        value = (item.get("provenance") or {}).get(name)
    return value


def report_row(report: MergedReport) -> dict:
    item = report.item
    prov = item.get("provenance") or {}
    archive = prov.get("archive") or {}
    checks = {c.get("rule"): c.get("ok") for c in item.get("checks") or [] if isinstance(c, dict)}
    failed = [rule for rule, ok in checks.items() if ok is False]
    warnings = [w for w in item.get("warnings") or [] if isinstance(w, str)]
    row = {
        "report_id": report_id(item["url"]),
        "url": item["url"],
        "portal": item.get("portal"),
        "agency": item.get("agency"),
        "year": report_year(item),
        "format": item.get("format"),
        "title": item.get("title"),
        "change": item.get("change"),
        "removed": report.removed,
        "removed_reason": report.removed_reason,
        "removed_at": report.removed_at,
    }
    row.update({name: prov.get(name) for name in PROVENANCE_FIELDS})
    row["first_fetched_at"] = report.first_fetched_at
    row["previous_sha256"] = _field(item, "previous_sha256")
    row["archive_warc"] = archive.get("warc") if isinstance(archive, dict) else None
    row["archive_record_id"] = archive.get("record_id") if isinstance(archive, dict) else None
    row.update({f"check_{rule}": checks.get(rule) for rule in CHECK_RULES})
    row["checks_failed"] = len(failed)
    row["checks_failed_rules"] = ";".join(failed) or None
    row["warnings_count"] = len(warnings)
    row["warnings"] = " | ".join(warnings) or None
    row["sections"] = ";".join(k for k in (item.get("tables") or {})) or None
    row["cells"] = sum(1 for _ in iter_cells(item.get("tables")))
    row.update(request_figures(item.get("tables")))
    row["versions"] = report.versions
    row["feed_file"] = report.source
    row["feed_line"] = report.line
    return row


_REPORT_TYPES = {
    "year": pa.int32(), "removed": pa.bool_(), "checks_failed": pa.int32(), "warnings_count": pa.int32(),
    "cells": pa.int32(), "versions": pa.int32(), "feed_line": pa.int64(),
    **{f"check_{rule}": pa.bool_() for rule in CHECK_RULES},
    **{name: pa.float64() for name in REQUEST_FIGURES},
}


def reports_table(reports: list[MergedReport]) -> pa.Table:
    rows = [report_row(r) for r in reports]
    names = list(rows[0]) if rows else list(report_row(_EMPTY))
    schema = pa.schema([(n, _REPORT_TYPES.get(n, pa.string())) for n in names])
    return pa.Table.from_pylist(rows, schema=schema)


_EMPTY = MergedReport(item={"url": ""}, source="", line=0)


_LABEL = pa.dictionary(pa.int32(), pa.string())
# report_id, section, row and column keys repeat on every cell: dictionary-encoded they cost
# 4 bytes a cell instead of their text (CSV, Parquet and DuckDB read them as plain strings).
CELL_SCHEMA = pa.schema([("report_id", _LABEL), ("section", _LABEL), ("row_key", _LABEL),
                         ("column_key", _LABEL), ("value", pa.float64()), ("unit", _LABEL)])
# Reports are flattened CHUNK at a time into Arrow batches: Python lists for millions of
# cells would cost more memory than the whole merged feed.
CHUNK = 1000


def _array(values: list, type_: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(type_):
        return pa.array(values, type=type_.value_type).dictionary_encode()
    return pa.array(values, type=type_)


def _chunked(reports: list[MergedReport], schema: pa.Schema, rows_of) -> pa.Table:
    """A table built ``CHUNK`` reports at a time from ``rows_of(report)`` → row tuples in schema order."""
    batches = []
    for start in range(0, len(reports), CHUNK):
        columns: list[list] = [[] for _ in schema]
        appends = [c.append for c in columns]
        for report in reports[start:start + CHUNK]:
            for row in rows_of(report):
                for append, value in zip(appends, row, strict=True):
                    append(value)
        batches.append(pa.record_batch([_array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def cells_table(reports: list[MergedReport]) -> pa.Table:
    def rows_of(report):
        rid = report_id(report.url)
        for section, row, column, value, unit in iter_cells(report.item.get("tables")):
            yield rid, section, row, column, number(value), unit if isinstance(unit, str) else None

    return _chunked(reports, CELL_SCHEMA, rows_of)


def section_table(reports: list[MergedReport], section: str) -> pa.Table:
    """The wide table of one section: report × row key, one column per column key.

    Column keys outside the template (none today) become extra columns, so no value is dropped.
    """
    known = SECTION_COLUMNS[section]
    extra = sorted({column for report in reports
                    for row in ((report.item.get("tables") or {}).get(section) or {}).values()
                    if isinstance(row, dict) for column in row if column not in known})
    value_columns = list(known) + extra
    fields = [("report_id", _LABEL), ("portal", _LABEL), ("agency", _LABEL),
              ("year", pa.int32()), ("format", _LABEL), ("row_key", _LABEL)]
    fields += [(c, pa.string() if c in UNIT_KEYS else pa.float64()) for c in value_columns]

    def rows_of(report):
        item = report.item
        head = (report_id(item["url"]), item.get("portal"), item.get("agency"), report_year(item), item.get("format"))
        for row_key, row in ((item.get("tables") or {}).get(section) or {}).items():
            if isinstance(row, dict):
                yield (*head, row_key, *(row.get(c) if c in UNIT_KEYS else number(row.get(c))
                                         for c in value_columns))

    return _chunked(reports, pa.schema(fields), rows_of)
