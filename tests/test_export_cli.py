"""``python -m govcrawl.export`` end to end: two overlapping runs in, every output file read back."""

import csv
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest

from govcrawl.demo.feed import two_runs
from govcrawl.export.__main__ import main
from govcrawl.export.tables import report_id
from tests.export_feeds import leaf_cells, write_feed


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("feeds")
    first, second = two_runs(48)
    write_feed(root / "run-1.jsonl", first)
    write_feed(root / "run-2.jsonl", second, extra_lines=['{"url": "https://x/broken"'])
    return root, first, second


@pytest.fixture(scope="module")
def exported(runs, tmp_path_factory):
    root, first, second = runs
    out = tmp_path_factory.mktemp("out")
    proc = subprocess.run([sys.executable, "-m", "govcrawl.export", str(root / "run-1.jsonl"),
                           str(root / "run-2.jsonl"), "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def latest_items(first, second):
    """What the merge must give, computed the simple way: later run wins, removals keep the old copy."""
    latest = {i["url"]: i for i in first}
    for item in second:
        if item["change"] != "removed":
            latest[item["url"]] = item
    return latest


def received(item):
    """Requests received as the export defines them: 总计, or the sum of the applicant columns when blank."""
    new = item["tables"]["applications"]["new_requests"]
    return new["total"] if new["total"] is not None else sum(v or 0 for k, v in new.items() if k != "total")


def num(text):
    return None if text == "" else float(text)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_one_row_per_report_with_the_latest_values(runs, exported):
    _, first, second = runs
    out, _ = exported
    rows = read_csv(out / "reports.csv")
    latest = latest_items(first, second)
    assert sorted(r["url"] for r in rows) == sorted(latest)
    removed = {i["url"] for i in second if i["change"] == "removed"}
    for row in rows:
        item = latest[row["url"]]
        assert row["report_id"] == report_id(item["url"])
        assert row["fetched_at"] == item["provenance"]["fetched_at"]
        assert row["content_sha256"] == item["provenance"]["content_sha256"]
        assert row["removed"] == ("true" if row["url"] in removed else "false")
        assert num(row["requests_received"]) == received(item)
    apps = read_csv(out / "applications.csv")
    for item in latest.values():
        (row,) = [a for a in apps if a["report_id"] == report_id(item["url"]) and a["row_key"] == "granted"]
        assert num(row["total"]) == item["tables"]["applications"]["granted"]["total"]


def test_cells_csv_holds_every_cell_of_the_merged_feed(runs, exported):
    _, first, second = runs
    out, _ = exported
    latest = list(latest_items(first, second).values())
    cells = read_csv(out / "cells.csv")
    assert len(cells) == leaf_cells(latest)
    assert pq.read_table(out / "cells.parquet").num_rows == len(cells)
    # Null cells are empty fields; values keep their integer look.
    assert any(c["value"] == "" for c in cells) and not any(c["value"].endswith(".0") for c in cells)


def test_summary_and_bad_lines(runs, exported):
    root, first, second = runs
    _, proc = exported
    assert f"{root / 'run-2.jsonl'}:{len(second) + 1}: not JSON" in proc.stderr
    assert "1 bad lines skipped" in proc.stdout
    assert f"{len(latest_items(first, second))} reports" in proc.stdout


def test_the_database_has_the_tables_and_views(runs, exported):
    _, first, second = runs
    out, _ = exported
    con = duckdb.connect(str(out / "govcrawl.duckdb"), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"reports", "cells", "applications", "active_disclosure", "review_litigation", "checks",
                "agency_year", "portal_year", "late_publications", "failed_checks"} <= names
        latest = latest_items(first, second).values()
        assert con.execute("SELECT count(*) FROM reports").fetchone()[0] == len(latest)
        agency, year = next(iter(latest))["agency"], next(iter(latest))["year"]
        expected = sum(received(i) for i in latest if (i["agency"], i["year"]) == (agency, year))
        assert con.execute("SELECT requests_received FROM agency_year WHERE agency = ? AND year = ?",
                           [agency, year]).fetchone()[0] == expected
        late = con.execute("SELECT count(*) FROM late_publications WHERE days_late > 0").fetchone()[0]
        assert late == con.execute("SELECT count(*) FROM checks WHERE rule = 'published_on_time' "
                                   "AND ok = false").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM failed_checks WHERE rule = 'duplicate_agency_year'").fetchone()[0] == 1
    finally:
        con.close()


def test_excel_csvs_start_with_a_byte_order_mark_and_plain_ones_do_not(runs, tmp_path):
    root, _, _ = runs
    assert main([str(root), "--out", str(tmp_path / "x"), "--excel"]) == 0
    assert main([str(root / "*.jsonl"), "--out", str(tmp_path / "p")]) == 0
    # Exporting again into the same directory replaces the files, the database included.
    assert main([str(root / "run-1.jsonl"), "--out", str(tmp_path / "x"), "--excel"]) == 0
    con = duckdb.connect(str(tmp_path / "x" / "govcrawl.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM reports WHERE removed").fetchone()[0] == 0
    con.close()
    assert main([str(root), "--out", str(tmp_path / "x"), "--excel"]) == 0
    for name in ("reports", "cells", "applications", "checks"):
        excel = (tmp_path / "x" / f"{name}.csv").read_bytes()
        plain = (tmp_path / "p" / f"{name}.csv").read_bytes()
        assert excel.startswith(b"\xef\xbb\xbf") and not plain.startswith(b"\xef\xbb\xbf")
        assert excel[3:] == plain


def test_usage_errors(tmp_path, capsys):
    assert main([str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path)])


@pytest.mark.timeout(240)
def test_the_workflow_crawl_then_export_on_the_offline_demo(tmp_path):
    """The README's workflow on a real crawl: the demo portal's feed exported with its HTML report."""
    crawl = subprocess.run([sys.executable, "-m", "govcrawl.demo", "--out", str(tmp_path / "output")],
                           capture_output=True, text=True, timeout=200, cwd=tmp_path)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    (feed,) = (tmp_path / "output").glob("demo-*.jsonl")
    items = [__import__("json").loads(line) for line in feed.read_text("utf-8").splitlines()]
    assert main([str(tmp_path / "output"), "--out", str(tmp_path / "dataset"),
                 "--html", str(tmp_path / "report.html")]) == 0
    reports = read_csv(tmp_path / "dataset" / "reports.csv")
    assert sorted(r["url"] for r in reports) == sorted(i["url"] for i in items)
    assert len(read_csv(tmp_path / "dataset" / "cells.csv")) == leaf_cells(items)
    checks = read_csv(tmp_path / "dataset" / "checks.csv")
    # The demo's report pages are dated 15 January of the next year: on time for every kind of
    # body; the report read from a DOCX attachment has no date, so it is not judged.
    dated = {i["url"]: i["provenance"]["published_date"] for i in items}
    on_time = {c["url"]: c["ok"] for c in checks if c["rule"] == "published_on_time"}
    assert on_time == {url: "true" if day else "" for url, day in dated.items()}
    assert any(not day for day in dated.values())
    assert all(r["check_applications_balance"] == "true" for r in reports)
    assert "示例市人民政府" in (tmp_path / "report.html").read_text("utf-8")
