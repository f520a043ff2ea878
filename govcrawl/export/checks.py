"""Checks across reports, each result with its evidence.

* ``cross_year_carry_over`` – an agency's 结转下年度继续办理 (``carried_forward``) of
  year N must equal its 上年结转 (``carried_over``) of year N+1, per applicant
  column.  As in the per-report checks of the contract, a column is
  assessable only when both reports give a value; ``ok`` is null when no
  column is.
* ``published_on_time`` – 《政府信息公开条例》第五十条: every administrative body
  publishes its report for year N by 31 January of N+1; county-level-and-above
  people's governments (the 本级政府 report) by 31 March of N+1.  No
  ``published_date`` (or no year) → ``ok`` null, never a failure.
* ``duplicate_agency_year`` – two different reports (urls) claiming the same
  agency and year.  Only conflicts are written (``ok`` false); the detail
  says whether the two copies are the same document (equal hash) or not.

Removed reports take part in none of them: the report contract keeps their
last values, but a report that is gone is neither late nor a duplicate.
"""

from __future__ import annotations

import re
from datetime import date

import pyarrow as pa

from govcrawl.export.merge import MergedReport
from govcrawl.export.tables import number, report_id, report_year
from govcrawl.extract import template as T

CHECK_COLUMNS = ("rule", "ok", "agency", "year", "report_id", "url", "other_report_id", "other_url",
                 "expected", "actual", "detail")

# A local people's government of county level or above: its name ends with the government
# of a 省/自治区/直辖市/市/州/盟/县/区/旗 (or a prefecture's 行政公署); 乡/镇 governments,
# 街道办事处 and every department (局, 委, 办…) are not.
_COUNTY_OR_ABOVE = re.compile(r"(省|自治区|市|州|盟|县|区|旗|地区)(人民)?政府$|行政公署$|^(中华人民共和国)?国务院$")
_TOWNSHIP = re.compile(r"(乡|镇|苏木|街道)(人民)?政府$")


def is_county_level_government(agency: str | None) -> bool:
    """True for 县级以上地方人民政府 (31 March deadline); False for everything else (31 January)."""
    if not agency:
        return False
    name = re.sub(r"\s+", "", agency)
    return bool(_COUNTY_OR_ABOVE.search(name)) and not _TOWNSHIP.search(name)


def publication_deadline(agency: str | None, year: int) -> date:
    return date(year + 1, 3, 31) if is_county_level_government(agency) else date(year + 1, 1, 31)


def _result(rule, ok, item, other=None, expected=None, actual=None, detail="") -> dict:
    return {
        "rule": rule, "ok": ok, "agency": item.get("agency"), "year": report_year(item),
        "report_id": report_id(item["url"]), "url": item["url"],
        "other_report_id": report_id(other["url"]) if other else None,
        "other_url": other["url"] if other else None,
        "expected": expected, "actual": actual, "detail": detail,
    }


def _parse_date(value) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def published_on_time(item: dict) -> dict:
    year = report_year(item)
    published_raw = (item.get("provenance") or {}).get("published_date")
    published = _parse_date(published_raw)
    if year is None:
        return _result("published_on_time", None, item, actual=published_raw, detail="no report year")
    deadline = publication_deadline(item.get("agency"), year)
    level = ("county-level-and-above people's government: 31 March"
             if deadline.month == 3 else "administrative body: 31 January")
    if published is None:
        return _result("published_on_time", None, item, expected=deadline.isoformat(), actual=published_raw,
                       detail=f"no published_date; deadline {deadline} ({level}, 条例第五十条)")
    late = (published - deadline).days
    detail = (f"published {published}, deadline {deadline} ({level}, 条例第五十条)"
              + (f", {late} days late" if late > 0 else ""))
    return _result("published_on_time", late <= 0, item, expected=deadline.isoformat(),
                   actual=published.isoformat(), detail=detail)


def _row(item: dict, key: str) -> dict:
    return ((item.get("tables") or {}).get("applications") or {}).get(key) or {}


def _values(row: dict) -> str:
    return ", ".join(f"{c}={_show(row.get(c))}" for c in T.APPLICANT_COLUMNS)


def _show(value) -> str:
    return "null" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def carry_over(previous: dict, following: dict) -> dict:
    """``carried_forward`` of ``previous`` (year N) against ``carried_over`` of ``following`` (N+1)."""
    forward, over = _row(previous, "carried_forward"), _row(following, "carried_over")
    compared, differ = 0, []
    for column in T.APPLICANT_COLUMNS:
        a, b = number(forward.get(column)), number(over.get(column))
        if a is None or b is None:
            continue
        compared += 1
        if a != b:
            differ.append(f"{column}: {_show(a)} carried forward in {report_year(previous)}, "
                          f"{_show(b)} carried over in {report_year(following)}")
    ok = None if compared == 0 else not differ
    detail = "; ".join(differ) if differ else (f"{compared} columns agree" if compared else "nothing to compare")
    return _result("cross_year_carry_over", ok, following, other=previous,
                   expected=_values(forward), actual=_values(over), detail=detail)


def _by_agency_year(reports: list[MergedReport]) -> dict[tuple[str, int], list[dict]]:
    groups: dict[tuple[str, int], list[dict]] = {}
    for report in reports:
        item = report.item
        agency, year = item.get("agency"), report_year(item)
        if report.removed or not agency or year is None:
            continue
        groups.setdefault((re.sub(r"\s+", "", agency), year), []).append(item)
    return groups


def cross_report_checks(reports: list[MergedReport]) -> list[dict]:
    """Every check result across ``reports`` (cross-year, deadline, duplicates), as dicts."""
    results = []
    groups = _by_agency_year(reports)
    for (agency, year), items in sorted(groups.items()):
        for following in groups.get((agency, year + 1), []):
            for previous in items:
                if _row(previous, "carried_forward") or _row(following, "carried_over"):
                    results.append(carry_over(previous, following))
        for i, item in enumerate(items):
            for other in items[i + 1:]:
                results.append(duplicate(item, other))
    for report in reports:
        if not report.removed:
            results.append(published_on_time(report.item))
    return results


def duplicate(item: dict, other: dict) -> dict:
    a = (item.get("provenance") or {}).get("content_sha256")
    b = (other.get("provenance") or {}).get("content_sha256")
    same = "the same document (equal content_sha256)" if a and a == b else "different documents"
    differs = [c for c in ("title", "format") if item.get(c) != other.get(c)]
    if (item.get("tables") or {}) != (other.get("tables") or {}):
        differs.append("tables")
    detail = f"two reports claim {item.get('agency')} {report_year(item)}: {same}" + (
        f"; they differ in {', '.join(differs)}" if differs else "; same figures")
    return _result("duplicate_agency_year", False, item, other=other, expected="one report",
                   actual="2 reports", detail=detail)


def checks_table(results: list[dict]) -> pa.Table:
    schema = pa.schema([(c, pa.bool_() if c == "ok" else pa.int32() if c == "year" else pa.string())
                        for c in CHECK_COLUMNS])
    return pa.Table.from_pylist(results, schema=schema)
