"""Round trip: random consistent tables of both templates, rendered in every layout, read back identically."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcrawl.demo.render import LAYOUTS, random_tables, render_report_html, render_report_text
from govcrawl.extract import extract_document

TITLE = "某某市人民政府办公室{year}年政府信息公开工作年度报告"

cases = st.tuples(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.sampled_from(["2019", "2021"]),
    st.sampled_from(LAYOUTS),
    st.booleans(),  # blank cells for zeros
    st.booleans(),  # text file instead of HTML page (text layouts only)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_rendered_tables_read_back_identically(case):
    seed, fmt, layout, blanks, as_text = case
    tables = random_tables(random.Random(seed), fmt, blanks=blanks)
    year = 2020 if fmt == "2019" else 2023
    title = TITLE.format(year=year)
    if as_text and layout != "html_table":
        body = render_report_text(tables, fmt=fmt, title=title, layout=layout).encode("utf-8")
        url = "https://example.gov.cn/report.txt"
    else:
        body = render_report_html(tables, fmt=fmt, title=title, layout=layout).encode("utf-8")
        url = "https://example.gov.cn/report.html"
    item = extract_document(body, url)
    assert item["format"] == fmt
    assert item["tables"] == tables
    assert item["year"] == year
    assert all(c["ok"] is not False for c in item["checks"]), item["checks"]
