import random

import pytest

from govcrawl.demo.feed import chain_carry_over, report_item
from govcrawl.demo.render import random_tables
from govcrawl.export.checks import cross_report_checks, is_county_level_government, published_on_time
from govcrawl.export.merge import MergedReport
from govcrawl.export.tables import report_id


def item(agency, year, *, tables=None, published="2020-01-20", url=None, seed=0):
    fmt = "2021" if year >= 2021 else "2019"
    return report_item(portal="示例市", agency=agency, year=year,
                       tables=tables or random_tables(random.Random(seed), fmt),
                       url=url or f"https://x.gov.cn/{agency}/{year}.html", published_date=published,
                       fetched_at="2026-01-01T00:00:00Z")


def reports(*items, removed=()):
    return [MergedReport(item=i, source="f", line=n, removed=n in removed) for n, i in enumerate(items)]


def by_rule(results, rule):
    return [r for r in results if r["rule"] == rule]


def test_carry_over_that_matches_passes_and_a_mismatch_fails_with_both_values():
    rng = random.Random(3)
    y2020 = random_tables(rng, "2019")
    y2021 = random_tables(rng, "2021")
    chain_carry_over(y2020, y2021)
    y2022 = random_tables(rng, "2021")
    chain_carry_over(y2021, y2022)
    y2022["applications"]["carried_over"]["natural_person"] += 4
    y2022["applications"]["carried_over"]["total"] += 4
    a, b, c = (item("示例市教育局", y, tables=t, seed=y) for y, t in ((2020, y2020), (2021, y2021), (2022, y2022)))
    results = by_rule(cross_report_checks(reports(a, b, c)), "cross_year_carry_over")
    assert [(r["year"], r["ok"]) for r in results] == [(2021, True), (2022, False)]
    bad = results[1]
    assert (bad["report_id"], bad["other_report_id"]) == (report_id(c["url"]), report_id(b["url"]))
    forward = y2021["applications"]["carried_forward"]
    over = y2022["applications"]["carried_over"]
    assert f"natural_person: {forward['natural_person']} carried forward in 2021, " \
           f"{over['natural_person']} carried over in 2022" in bad["detail"]
    assert "commercial_enterprise" not in bad["detail"]
    assert f"total={over['total']}" in bad["actual"] and f"total={forward['total']}" in bad["expected"]


def test_carry_over_needs_consecutive_years_of_the_same_agency_and_values_on_both_sides():
    rng = random.Random(4)
    t2020, t2021 = random_tables(rng, "2019"), random_tables(rng, "2021")
    t2021["applications"]["carried_over"] = {c: None for c in t2021["applications"]["carried_over"]}
    results = cross_report_checks(reports(
        item("甲局", 2020, tables=t2020), item("甲局", 2022), item("乙局", 2021),  # gap / other agency
        item("丙局", 2020, tables=t2020, url="https://x/c0"), item("丙局", 2021, tables=t2021, url="https://x/c1"),
    ))
    (only,) = by_rule(results, "cross_year_carry_over")
    assert only["agency"] == "丙局" and only["ok"] is None and only["detail"] == "nothing to compare"


@pytest.mark.parametrize("agency, county_or_above", [
    ("淮安市人民政府", True), ("洪泽区人民政府", True), ("江苏省人民政府", True), ("涟水县人民政府", True),
    ("内蒙古自治区人民政府", True), ("锡林郭勒盟行政公署", True), ("延边朝鲜族自治州人民政府", True),
    ("北京市政府", True), ("国务院", True),
    ("淮安市教育局", False), ("淮安市人民政府办公室", False), ("淮安市发展和改革委员会", False),
    ("高良涧街道办事处", False), ("岔河镇人民政府", False), ("老子山乡人民政府", False), (None, False),
])
def test_which_bodies_have_the_31_march_deadline(agency, county_or_above):
    assert is_county_level_government(agency) is county_or_above


@pytest.mark.parametrize("agency, published, ok, days_late", [
    ("淮安市人民政府", "2024-03-31", True, 0), ("淮安市人民政府", "2024-04-01", False, 1),
    ("淮安市教育局", "2024-01-31", True, 0), ("淮安市教育局", "2024-02-01", False, 1),
    ("岔河镇人民政府", "2024-03-01", False, 30),  # 2024 is a leap year
    ("淮安市教育局", None, None, 0),
])
def test_publication_deadline_of_article_50(agency, published, ok, days_late):
    result = published_on_time(item(agency, 2023, published=published))
    assert result["ok"] is ok
    deadline = "2024-03-31" if agency == "淮安市人民政府" else "2024-01-31"
    assert result["expected"] == deadline and result["actual"] == published
    if ok is False:
        assert result["detail"].endswith(f", {days_late} days late")
    else:
        assert "late" not in result["detail"]
    if ok is None:
        assert result["detail"].startswith("no published_date")


def test_two_reports_claiming_one_agency_and_year_are_flagged_and_removed_reports_are_left_out():
    a = item("示例市财政局", 2022, url="https://x/a", seed=1)
    b = item("示例市财政局", 2022, url="https://x/b", seed=1)
    c = item("示例市财政局", 2022, url="https://x/c", seed=2)
    results = cross_report_checks(reports(a, b, c, removed={2}))
    (dup,) = by_rule(results, "duplicate_agency_year")
    assert dup["ok"] is False and {dup["url"], dup["other_url"]} == {"https://x/a", "https://x/b"}
    assert "same figures" in dup["detail"]
    assert len(by_rule(results, "published_on_time")) == 2
    results = cross_report_checks(reports(a, c))
    (dup,) = by_rule(results, "duplicate_agency_year")
    assert "different documents" in dup["detail"] and "tables" in dup["detail"]
