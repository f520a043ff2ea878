import random

from govcrawl.demo.feed import generate_feed, two_runs
from govcrawl.demo.render import random_tables
from govcrawl.export.merge import MergedReport, merge_lines
from govcrawl.export.tables import (cells_table, iter_cells, report_id, reports_table, request_figures,
                                    section_table)
from govcrawl.extract import template as T
from tests.export_feeds import leaf_cells
from tests.test_export_merge import lines


def merged(items):
    return [MergedReport(item=i, source="f.jsonl", line=n) for n, i in enumerate(items, 1)]


def test_cells_are_every_leaf_including_nulls_and_units_are_not_cells():
    items = generate_feed(24, seed=11, blanks=True)
    assert {i["format"] for i in items} == {"2019", "2021"}
    cells = cells_table(merged(items))
    assert cells.num_rows == leaf_cells(items)
    rows = cells.to_pylist()
    assert any(r["value"] is None for r in rows), "blank cells are kept as null"
    assert not any(r["column_key"].endswith("_unit") for r in rows)
    # The unit of a money amount travels with the amount.
    for item in items:
        unit_row = T.UNIT_ROWS[item["format"]]
        expected = item["tables"]["active_disclosure"][unit_row]["amount_unit"]
        (amount,) = [r for r in rows if r["report_id"] == report_id(item["url"]) and r["row_key"] == unit_row
                     and r["column_key"] == "amount"]
        assert amount["unit"] == expected
        assert amount["value"] == item["tables"]["active_disclosure"][unit_row]["amount"]


def test_cell_values_round_trip_to_the_feed():
    items = generate_feed(6, seed=12)
    by_id = {report_id(i["url"]): i for i in items}
    for row in cells_table(merged(items)).to_pylist():
        assert by_id[row["report_id"]]["tables"][row["section"]][row["row_key"]][row["column_key"]] == row["value"]


def test_wide_tables_have_one_row_per_report_and_row_key():
    items = generate_feed(10, seed=13)
    for section, columns in (("applications", T.APPLICANT_COLUMNS), ("review_litigation", T.REVIEW_COLUMNS)):
        table = section_table(merged(items), section)
        assert table.num_rows == sum(len(i["tables"][section]) for i in items)
        assert table.column_names[6:] == list(columns)
        first = items[0]
        row = next(r for r in table.to_pylist() if r["report_id"] == report_id(first["url"]))
        key = row["row_key"]
        assert {c: row[c] for c in columns} == first["tables"][section][key]
    active = section_table(merged(items), "active_disclosure")
    assert {"new_made", "issued", "amount", "amount_unit"} <= set(active.column_names)


def test_request_figures_group_section_three_by_outcome():
    tables = random_tables(random.Random(5), "2021")
    apps = tables["applications"]
    figures = request_figures(tables)
    assert figures["requests_received"] == apps["new_requests"]["total"]
    assert figures["denied"] == sum(apps[k]["total"] for k in apps if k.startswith("denied_"))
    assert figures["other"] == sum(apps[k]["total"] for k in ("other_no_correction", "other_fee_unpaid", "other_other"))
    groups = ("granted", "partially_granted", "denied", "unavailable", "not_processed", "other")
    assert sum(figures[g] for g in groups) == figures["total_handled"]
    # A blank 总计 falls back to the sum of the applicant columns; a blank row stays unknown.
    apps["granted"] = {**apps["granted"], "total": None}
    assert request_figures(tables)["granted"] == sum(apps["granted"][c] or 0 for c in T.APPLICANT_COLUMNS[:6])
    assert request_figures({})["requests_received"] is None


def test_report_rows_carry_removal_checks_and_provenance():
    first, second = two_runs(21)
    reports = merge_lines(lines(first, second))
    table = reports_table(reports).to_pylist()
    assert len(table) == len(reports)
    removed = [r for r in table if r["removed"]]
    assert removed and all(r["removed_reason"] == "removed: HTTP 404" and r["cells"] > 0 for r in removed)
    updated = [r for r in table if r["change"] == "updated"]
    assert updated and all(r["previous_sha256"] and r["versions"] == 2 for r in updated)
    (failed,) = [r for r in table if r["checks_failed"]]
    assert failed["url"].endswith("?copy=2") and failed["check_applications_row_totals"] is False
    assert failed["checks_failed_rules"] == "applications_row_totals"
    assert all(r["check_applications_balance"] is True for r in table if r is not failed)
    item = dict(first[1], checks=[{"rule": "applications_row_totals", "ok": False, "detail": "x"}],
                warnings=["a", "b"])
    item["provenance"] = {**item["provenance"], "archive": {"warc": "w.warc.gz", "record_id": "urn:uuid:1"}}
    (row,) = reports_table(merged([item])).to_pylist()
    assert row["check_applications_row_totals"] is False and row["check_applications_balance"] is None
    assert row["checks_failed_rules"] == "applications_row_totals" and row["warnings_count"] == 2
    assert (row["archive_warc"], row["archive_record_id"]) == ("w.warc.gz", "urn:uuid:1")
    assert row["cells"] == sum(1 for _ in iter_cells(item["tables"]))
