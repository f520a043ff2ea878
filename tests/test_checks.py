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


def _narrative(tables, prose, year=2023):
    return {c["rule"]: c for c in run_checks(tables, prose, year)}["narrative_matches_tables"]


_APPS = {"new_requests": _row(700, 40, 0, 0, 9, 0, 749), "total_handled": _row(680, 30, 0, 0, 8, 0, 718),
         "carried_forward": _row(25, 5, 0, 0, 1, 0, 31)}
_REVIEW = {"review": {"upheld": 2, "corrected": 1, "other": 0, "pending": 0, "total": 3},
           "litigation_direct": {"upheld": 1, "corrected": 0, "other": 0, "pending": 0, "total": 1},
           "litigation_after_review": {"upheld": None, "corrected": None, "other": None, "pending": 1, "total": 1}}


def test_narrative_agreeing_with_the_tables():
    prose = "2023年全年共收到政府信息公开申请749件，办结718件，结转下年度31件。行政复议3件，行政诉讼2起。"
    check = _narrative({"applications": _APPS, "review_litigation": _REVIEW}, prose)
    assert check["ok"] is True
    assert "“行政诉讼2起” 2, review_litigation.litigation_direct.total + litigation_after_review.total = 2" in (
        check["detail"])


def test_narrative_disagreeing_quotes_sentence_and_table_value():
    prose = "全年共收到政府信息公开申请750件，办结718件。"
    check = _narrative({"applications": _APPS}, prose)
    assert check["ok"] is False
    assert check["detail"] == "“全年共收到政府信息公开申请750件” 750, applications.new_requests.total = 749"


def test_narrative_without_the_table_is_not_assessed():
    check = _narrative({"applications": _APPS}, "行政复议3件。")
    assert check["ok"] is None


def test_narrative_never_changes_the_tables():
    tables = {"applications": {k: dict(v) for k, v in _APPS.items()}}
    _narrative(tables, "全年共收到政府信息公开申请1件。")
    assert tables == {"applications": _APPS}
