"""Writing the export: CSV, Parquet and one DuckDB database, all from the same Arrow tables.

CSVs are plain UTF-8 by default; ``excel=True`` starts each with a byte order
mark, which is what makes Excel read UTF-8 Chinese instead of mojibake.  Null
is an empty field, an empty string is ``""``, booleans are ``true``/``false``.

DuckDB rather than SQLite: the export is analytical (sums per agency and
year over millions of cells), DuckDB loads the Arrow tables directly and
reads the Parquet files too; its file opens from Python, R and the ``duckdb``
command line.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from govcrawl.export.tables import OUTCOME_GROUPS

DATABASE = "govcrawl.duckdb"
# Tables that also get a Parquet file (the wide section tables are derivable from cells).
PARQUET = ("reports", "cells")

_FIGURES = ", ".join(
    f"sum({c}) AS {c}" for c in ("requests_received", "carried_over", *OUTCOME_GROUPS, "total_handled",
                                 "carried_forward")
)
# The views people ask for first.  Figures of removed reports are kept (their last copy).
VIEWS = {
    "agency_year": f"""
        SELECT agency, year, count(*) AS reports, count(*) FILTER (WHERE removed) AS removed,
               sum(checks_failed) AS checks_failed, {_FIGURES}
        FROM reports GROUP BY agency, year""",
    "portal_year": f"""
        SELECT portal, year, count(*) AS reports, count(DISTINCT agency) AS agencies,
               count(*) FILTER (WHERE removed) AS removed, sum(checks_failed) AS checks_failed, {_FIGURES}
        FROM reports GROUP BY portal, year""",
    "late_publications": """
        SELECT c.agency, c.year, c.expected AS deadline, c.actual AS published_date,
               date_diff('day', CAST(c.expected AS DATE), CAST(c.actual AS DATE)) AS days_late, r.portal, r.url
        FROM checks c JOIN reports r USING (report_id)
        WHERE c.rule = 'published_on_time' AND c.ok = false""",
    "failed_checks": """
        SELECT rule, agency, year, report_id, url, detail FROM checks WHERE ok = false
        UNION ALL
        SELECT unnest(string_split(checks_failed_rules, ';')) AS rule, agency, year, report_id, url,
               'per-report check, see the feed' AS detail
        FROM reports WHERE checks_failed > 0""",
}


def write_csv(table: pa.Table, path: str, *, excel: bool = False) -> None:
    with open(path, "wb") as out:
        if excel:
            out.write("\ufeff".encode("utf-8"))
        pacsv.write_csv(table, out)


def write_all(tables: dict[str, pa.Table], out_dir: str, *, excel: bool = False) -> list[str]:
    """Every output file for ``tables`` (name → Arrow table) under ``out_dir``; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, table in tables.items():
        path = os.path.join(out_dir, f"{name}.csv")
        write_csv(table, path, excel=excel)
        written.append(path)
        if name in PARQUET:
            path = os.path.join(out_dir, f"{name}.parquet")
            pq.write_table(table, path)
            written.append(path)
    written.append(write_database(tables, os.path.join(out_dir, DATABASE)))
    return written


def write_database(tables: dict[str, pa.Table], path: str) -> str:
    import duckdb

    # A fresh file each export: the export is a snapshot of the feeds, never an append.
    for stale in (path, path + ".wal"):
        if os.path.exists(stale):
            os.remove(stale)
    con = duckdb.connect(path)
    try:
        for name, table in tables.items():
            con.register("arrow_in", table)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM arrow_in")
            con.unregister("arrow_in")
        for name, sql in VIEWS.items():
            con.execute(f"CREATE VIEW {name} AS {sql}")
    finally:
        con.close()
    return path
