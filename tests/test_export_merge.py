import random

from govcrawl.demo.feed import generate_feed, removal_item, report_item, two_runs
from govcrawl.demo.render import random_tables
from govcrawl.export.feeds import FeedLine
from govcrawl.export.merge import merge_lines


def lines(*runs):
    out, order = [], 0
    for n, run in enumerate(runs):
        for i, item in enumerate(run, 1):
            order += 1
            out.append(FeedLine(item, f"run{n + 1}.jsonl", i, order))
    return out


def test_two_overlapping_runs_give_one_report_each_with_the_latest_values():
    first, second = two_runs(30)
    merged = {r.url: r for r in merge_lines(lines(first, second))}
    assert len(merged) == len({i["url"] for i in first + second})
    latest = {i["url"]: i for i in second if i["change"] == "updated"}
    assert latest
    for url, item in latest.items():
        assert merged[url].item["tables"] == item["tables"]
        assert merged[url].versions == 2 and merged[url].source == "run2.jsonl"
        assert merged[url].first_fetched_at == "2026-03-01T02:00:00Z"
    untouched = [i for i in first if i["url"] not in {j["url"] for j in second}]
    assert untouched and all(merged[i["url"]].item is i for i in untouched)


def test_latest_fetched_at_wins_regardless_of_file_order():
    old, new = generate_feed(1, seed=3, fetched_at="2026-01-01T00:00:00Z")[0], None
    new = {**old, "tables": random_tables(random.Random(9), "2021"),
           "provenance": {**old["provenance"], "fetched_at": "2026-02-01T00:00:00+00:00"}}
    (report,) = merge_lines(lines([new], [old]))
    assert report.item is new
    # Equal timestamps: the later input wins.
    same = {**old, "title": "later"}
    (report,) = merge_lines(lines([old], [same]))
    assert report.item is same


def test_a_removal_keeps_the_last_values_and_marks_the_report_removed():
    first, second = two_runs(30)
    merged = {r.url: r for r in merge_lines(lines(first, second))}
    removed = [i for i in second if i["change"] == "removed"]
    assert removed
    for removal in removed:
        report = merged[removal["url"]]
        original = next(i for i in first if i["url"] == removal["url"])
        assert report.removed and report.item is original and report.item["tables"]
        assert report.removed_reason == "removed: HTTP 404"
        assert report.removed_at == removal["provenance"]["fetched_at"]
    assert sum(r.removed for r in merged.values()) == len(removed)


def test_a_report_that_comes_back_after_a_removal_is_not_removed():
    (item,) = generate_feed(1, seed=4, fetched_at="2026-01-01T00:00:00Z")
    gone = removal_item(item, fetched_at="2026-02-01T00:00:00Z")
    back = report_item(portal=item["portal"], agency=item["agency"], year=item["year"], url=item["url"],
                       tables=random_tables(random.Random(1), item["format"]), published_date=None,
                       fetched_at="2026-03-01T00:00:00Z", change="updated")
    (report,) = merge_lines(lines([item], [gone], [back]))
    assert not report.removed and report.item is back and report.versions == 3
    # An older removal read after the newer copy does not win either.
    (report,) = merge_lines(lines([back], [gone]))
    assert not report.removed


def test_a_removal_without_its_copy_is_kept_as_a_removed_report():
    (item,) = generate_feed(1, seed=5)
    (report,) = merge_lines(lines([removal_item(item, fetched_at="2026-05-01T00:00:00Z")]))
    assert report.removed and report.item["tables"] == {}
