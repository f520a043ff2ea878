"""The generated feeds the export is tested on are real-shaped: valid items whose tables pass the
extractor's own checks, carry-overs chained across years."""

from govcrawl.demo.feed import generate_feed, two_runs
from govcrawl.extract.checks import run_checks
from govcrawl.extract.schema import validate_item


def test_generated_items_follow_the_contract_and_their_tables_add_up():
    items = generate_feed(36, seed=21)
    assert {i["format"] for i in items} == {"2019", "2021"}
    for item in items:
        assert validate_item(item) == []
        assert all(c["ok"] is not False for c in run_checks(item["tables"])), item["url"]


def test_most_carry_overs_are_chained_from_the_year_before():
    items = generate_feed(300, seed=22, blanks=False)
    by_key = {(i["agency"], i["year"]): i["tables"]["applications"] for i in items}
    pairs = [(by_key[(a, y - 1)]["carried_forward"]["total"], apps["carried_over"]["total"])
             for (a, y), apps in by_key.items() if (a, y - 1) in by_key]
    chained = sum(forward == over for forward, over in pairs)
    assert len(pairs) > 200 and 0.8 * len(pairs) < chained < len(pairs)


def test_the_second_run_revises_removes_and_duplicates():
    first, second = two_runs(28)
    changes = [i["change"] for i in second]
    assert changes.count("updated") == sum(1 for n in range(28) if n % 3 == 0 and n % 7 != 6)
    assert changes.count("removed") == 4
    for item in second:
        if item["change"] == "updated":
            assert all(c["ok"] is not False for c in run_checks(item["tables"]))
    removal = next(i for i in second if i["change"] == "removed")
    original = next(i for i in first if i["url"] == removal["url"])
    # As the report contract describes a removal line.
    for key in ("url", "portal", "title", "agency", "year"):
        assert removal[key] == original[key]
    assert removal["provenance"]["content_sha256"] == original["provenance"]["content_sha256"]
    assert removal["provenance"]["fetched_at"] > original["provenance"]["fetched_at"]
    assert removal["tables"] == {} and removal["checks"] == [] and removal["warnings"] == ["removed: HTTP 404"]
