"""Round trip: random consistent tables of both templates, rendered in every layout, whole or split into
pieces, with or without prose stating the key figures, HTML tables in the markup of a random editor
(``HtmlLook``: Word, WPS, Excel, a CMS's), read back identically."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcrawl.demo.render import (
    HTML_LAYOUTS, LAYOUTS, TEXT_LAYOUTS, HtmlLook, narrative, random_tables, render_report_html, render_report_text,
)
from govcrawl.extract import extract_document

TITLE = "某某市人民政府办公室{year}年政府信息公开工作年度报告"

cases = st.tuples(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.sampled_from(["2019", "2021"]),
    st.sampled_from(LAYOUTS),
    st.booleans(),  # blank cells for zeros
    st.booleans(),  # text file instead of HTML page (layouts that can be both)
    st.booleans(),  # sections 三 and 四 split into pieces
    st.booleans(),  # prose stating the key figures
    st.booleans(),  # HTML tables in a random editor's markup
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_rendered_tables_read_back_identically(case):
    seed, fmt, layout, blanks, as_text, split, with_prose, editor = case
    tables = random_tables(random.Random(seed), fmt, blanks=blanks)
    year = 2020 if fmt == "2019" else 2023
    title = TITLE.format(year=year)
    prose = narrative(tables, year) if with_prose else None
    if layout not in HTML_LAYOUTS or (as_text and layout in TEXT_LAYOUTS):
        body = render_report_text(tables, fmt=fmt, title=title, layout=layout, split=split, prose=prose)
        url = "https://example.gov.cn/report.md" if layout == "markdown" else "https://example.gov.cn/report.txt"
    else:
        look = HtmlLook.random(random.Random(f"look-{seed}")) if editor else None
        body = render_report_html(tables, fmt=fmt, title=title, layout=layout, split=split, prose=prose, look=look)
        url = "https://example.gov.cn/report.html"
    item = extract_document(body.encode("utf-8"), url)
    assert item["format"] == fmt
    assert item["tables"] == tables
    assert (item["year"], item["title"]) == (year, title)
    assert all(c["ok"] is not False for c in item["checks"]), item["checks"]
    # The prose states every figure; only a blank table cell leaves it uncompared.
    stated = [tables["applications"][row]["total"] for row in ("new_requests", "total_handled", "carried_forward")]
    stated += [tables["review_litigation"][row]["total"] for row in ("review", "litigation_direct",
                                                                     "litigation_after_review")]
    assessable = with_prose and any(v is not None for v in stated)
    assert item["checks"][-1]["ok"] is (True if assessable else None), item["checks"][-1]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_split_section_four_with_every_review_cell_blank_reads_back(layout, fmt):
    """四 in pieces, its 行政复议 row printed with all five cells blank: that row is empty, the 诉讼 rows keep theirs.

    Found by the round-trip test: the blank row had no number to be known by, and the 诉讼 values slid up.
    """
    tables = random_tables(random.Random(f"blank-review-{layout}-{fmt}"), fmt, blanks=True)
    review = tables["review_litigation"]
    review["review"] = dict.fromkeys(review["review"])
    assert any(v is not None for row in ("litigation_direct", "litigation_after_review") for v in review[row].values())
    title = TITLE.format(year=2020 if fmt == "2019" else 2023)
    if layout in HTML_LAYOUTS:
        body, url = render_report_html(tables, fmt=fmt, title=title, layout=layout, split=True), "https://example.gov.cn/r.html"
    else:
        body = render_report_text(tables, fmt=fmt, title=title, layout=layout, split=True)
        url = "https://example.gov.cn/r.md" if layout == "markdown" else "https://example.gov.cn/r.txt"
    item = extract_document(body.encode("utf-8"), url)
    assert item["tables"] == tables
    assert not any("review_litigation" in w for w in item["warnings"])
