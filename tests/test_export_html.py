"""The HTML report: self-contained, and rendered by the real Chromium the project installs."""

import re
import shutil

import pytest

from govcrawl.demo.feed import two_runs
from govcrawl.export.checks import cross_report_checks
from govcrawl.export.html import TOP_AGENCIES, coverage_rows, render_report, write_report
from govcrawl.export.merge import MergedReport
from tests.test_export_merge import lines
from govcrawl.export.merge import merge_lines

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def merged():
    first, second = two_runs(90)
    reports = merge_lines(lines(first, second))
    return reports, cross_report_checks(reports)


@pytest.fixture(scope="module")
def page_html(merged):
    reports, results = merged
    return render_report(reports, results, bad_lines=2, generated="2026-12-01 00:00 UTC")


def test_the_page_loads_nothing_from_anywhere(page_html):
    # The only URLs allowed are links to the reports (an <a href> the reader may click).
    # url(#id) is a reference inside the page (the SVG clip paths); any other url( would be a fetch.
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\((?!#)|\ssrc=", page_html, re.I)
    ids = re.findall(r'\sid="([^"]+)"', page_html)
    assert len(ids) == len(set(ids)), "element ids are unique in the page"
    without_links = re.sub(r'<a href="[^"]*">[^<]*</a>', "", page_html)
    assert "http://" not in without_links and "https://" not in without_links and "//" not in re.sub(
        r"<!DOCTYPE html>", "", without_links)


def test_the_sections_show_what_the_export_found(merged, page_html):
    reports, results = merged
    removed = [r for r in reports if r.removed]
    late = [c for c in results if c["rule"] == "published_on_time" and c["ok"] is False]
    assert removed and late
    for report in removed:
        assert f'<a href="{report.url}">' in page_html
    for check in late:
        assert f'<td class="nw">{check["expected"]}</td><td class="nw">{check["actual"]}</td>' in page_html
    failed = [r for r in reports if any(c["ok"] is False for c in r.item["checks"])]
    assert len(failed) == 1 and "applications_row_totals</b>: new_requests: total" in page_html
    assert page_html.count('<figure class="chart" data-chart="agency">') == TOP_AGENCIES
    assert page_html.count('<figure class="chart" data-chart="total">') == 1
    assert "<th>bad feed lines skipped</th><td class=\"n\">2</td>" in page_html


def test_coverage_expects_every_year_between_an_agencys_first_and_last_report():
    first, _ = two_runs(30)
    hole = first[5]
    reports = [MergedReport(item=i, source="f", line=n) for n, i in enumerate(first) if i is not hole]
    rows = {r["portal"]: r for r in coverage_rows(reports)}
    row = rows[hole["portal"]]
    assert f"{hole['agency']} {hole['year']}" in row["missing"]
    assert row["expected"] == row["found"] + len(row["missing"])
    others = [r for p, r in rows.items() if p != hole["portal"]]
    assert all(not r["missing"] and r["found"] == r["expected"] for r in others)
    # A removed report is no longer published: its year is missing too.
    gone = next(r for r in reports if r.item["portal"] == hole["portal"]
                and r.item["year"] not in (2019, 2024, hole["year"]))
    gone.removed = True
    row = {r["portal"]: r for r in coverage_rows(reports)}[hole["portal"]]
    assert f"{gone.item['agency']} {gone.item['year']}" in row["missing"] and len(row["missing"]) == 2


def test_the_report_renders_in_chromium(merged, tmp_path):
    """Open the file in headless Chromium: no script or console errors, no request but the file
    itself, every chart drawn as SVG with its bars, and a screenshot that is not blank."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    assert shutil.which(chromium), "Chromium is missing: run `make setup` (Debian package chromium)"
    from playwright.sync_api import sync_playwright
    from matplotlib.image import imread

    reports, results = merged
    path = write_report(reports, results, str(tmp_path / "report.html"))
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(f"file://{path}")
            charts = page.locator("figure.chart svg")
            assert charts.count() == 1 + TOP_AGENCIES
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box and box["width"] > 200 and box["height"] > 100
            total = page.locator('figure[data-chart="total"] svg')
            years = len({r.item["year"] for r in reports})
            assert total.locator('g[id^="total-bar-"] path').count() == 6 * years
            assert total.locator('g[id="total-received"]').count() == 1
            assert page.locator("h2").count() == 6
            page.screenshot(path=str(tmp_path / "shot.png"), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert requests == [f"file://{path}"]
    pixels = imread(str(tmp_path / "shot.png"))
    assert pixels.shape[:2] == (1600, 1280)
    # A blank page is one colour; the charts' greens, reds and purples are there.
    assert pixels[..., :3].reshape(-1, 3).std(axis=0).min() > 0.05
