"""The four arithmetic checks of the spec: null counts as 0, unassessable is None, failures are named."""

from __future__ import annotations

from govcrawl.extract.checks import run_checks
from govcrawl.extract.template import APPLICANT_COLUMNS


def _row(*values):
    return dict(zip(APPLICANT_COLUMNS, values))


def _by_rule(tables):
    return {c["rule"]: c for c in run_checks(tables)}


def test_nothing_to_check_is_null():
    assert {c["ok"] for c in run_checks({})} == {None}


def test_balance_failure_names_column_and_both_sums():
    apps = {
        "new_requests": _row(3, 0, 0, 0, 0, 0, 3),
        "carried_over": _row(1, 0, 0, 0, 0, 0, 1),
        "total_handled": _row(2, 0, 0, 0, 0, 0, 2),
        "carried_forward": _row(1, 0, 0, 0, 0, 0, 1),
    }
    check = _by_rule({"applications": apps})["applications_balance"]
    assert check["ok"] is False
    assert "natural_person" in check["detail"] and "= 4" in check["detail"] and "= 3" in check["detail"]


def test_blank_total_is_not_assessed_but_blank_addend_counts_as_zero():
    apps = {"granted": _row(1, None, None, None, None, None, None),
            "partially_granted": _row(2, None, 0, 0, 0, 0, 2)}
    check = _by_rule({"applications": apps})["applications_row_totals"]
    assert check["ok"] is True and "1 comparisons" in check["detail"]


def test_result_sum_includes_every_result_row():
    apps = {"granted": _row(1, 0, 0, 0, 0, 0, 1), "other_other": _row(1, 0, 0, 0, 0, 0, 1),
            "total_handled": _row(2, 0, 0, 0, 0, 0, 2)}
    assert _by_rule({"applications": apps})["applications_result_sum"]["ok"] is True
    apps["total_handled"] = _row(3, 0, 0, 0, 0, 0, 3)
    assert _by_rule({"applications": apps})["applications_result_sum"]["ok"] is False


def test_review_totals():
    review = {"review": {"upheld": 1, "corrected": 1, "other": 0, "pending": None, "total": 2},
              "litigation_direct": {"upheld": None, "corrected": None, "other": None, "pending": None, "total": None}}
    assert _by_rule({"review_litigation": review})["review_litigation_totals"]["ok"] is True
    review["review"]["total"] = 3
    check = _by_rule({"review_litigation": review})["review_litigation_totals"]
    assert check["ok"] is False and check["detail"].startswith("review: total = 3")
