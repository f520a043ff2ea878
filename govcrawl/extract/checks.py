"""The spec's checks, reported on the item and never "fixed".

Four arithmetic rules of the template, and ``narrative_matches_tables``: the
figures the prose states (``narrative.prose_figures``) against the tables.

A null cell counts as 0 (templates leave "none" blank).  A comparison
``sum(A) == sum(B)`` is assessable only when A and B each hold at least one
non-null value.  ``ok`` is False when any assessable comparison fails, True
when all assessable ones hold, None when none is assessable.
"""

from __future__ import annotations

from govcrawl.extract import template as T
from govcrawl.extract.narrative import CARRIED_FORWARD, HANDLED, LAWSUITS, NEW_REQUESTS, REVIEWS, prose_figures


class _Rule:
    def __init__(self, name: str):
        self.name = name
        self.assessed = 0
        self.failures: list[str] = []

    def compare(self, where: str, left: list, right: list, left_name: str, right_name: str) -> None:
        # Each side's non-null cells; a side without any makes the comparison unassessable.
        left = [c for c in left if c is not None]
        if not left:
            return
        right = [c for c in right if c is not None]
        if not right:
            return
        self.compare_sums(where, sum(left), sum(right), left_name, right_name)

    def compare_sums(self, where: str, a, b, left_name: str, right_name: str) -> None:
        """An assessable comparison: the sums of each side's non-null cells."""
        self.assessed += 1
        if abs(a - b) > 1e-9:
            self.failures.append(f"{where}: {left_name} = {_num(a)} but {right_name} = {_num(b)}")

    def result(self) -> dict:
        ok = None if self.assessed == 0 else not self.failures
        if self.failures:
            detail = "; ".join(self.failures)
        elif ok:
            detail = f"{self.assessed} comparisons hold"
        else:
            detail = "nothing to compare (cells missing or blank)"
        return {"rule": self.name, "ok": ok, "detail": detail}


def _num(x: float):
    return int(x) if float(x).is_integer() else round(x, 6)


# Prose figure -> (where in the tables, the cells whose sum it states).
_NARRATIVE_CELLS = {
    NEW_REQUESTS: ("applications.new_requests.total", (("applications", "new_requests", "total"),)),
    HANDLED: ("applications.total_handled.total", (("applications", "total_handled", "total"),)),
    CARRIED_FORWARD: ("applications.carried_forward.total", (("applications", "carried_forward", "total"),)),
    REVIEWS: ("review_litigation.review.total", (("review_litigation", "review", "total"),)),
    LAWSUITS: ("review_litigation.litigation_direct.total + litigation_after_review.total",
               (("review_litigation", "litigation_direct", "total"),
                ("review_litigation", "litigation_after_review", "total"))),
}


def _narrative(tables: dict, prose: str | None, year: int | None) -> dict:
    """Every figure the prose states against the table cell(s) holding it; the detail quotes both."""
    held, failed = [], []
    for figure in prose_figures(prose or "", year):
        where, cells = _NARRATIVE_CELLS[figure.key]
        present = [v for v in ((tables.get(s) or {}).get(r, {}).get(c) for s, r, c in cells) if v is not None]
        if not present:
            continue
        table_value = sum(present)
        line = f"“{figure.clause}” {figure.value}, {where} = {_num(table_value)}"
        (held if abs(figure.value - table_value) < 1e-9 else failed).append(line)
    if failed:
        return {"rule": "narrative_matches_tables", "ok": False, "detail": "; ".join(failed)}
    if held:
        return {"rule": "narrative_matches_tables", "ok": True, "detail": "; ".join(held)}
    return {"rule": "narrative_matches_tables", "ok": None,
            "detail": "nothing to compare (no figure in the prose that the tables hold)"}


# The cells a row's total sums.
_APPLICANT_PARTS = T.APPLICANT_COLUMNS[:6]
_REVIEW_PARTS = T.REVIEW_COLUMNS[:4]


def run_checks(tables: dict, prose: str | None = None, year: int | None = None) -> list[dict]:
    """The five checks of the spec; ``prose`` is the report's text, ``year`` the year it covers."""
    apps = tables.get("applications") or {}
    review = tables.get("review_litigation") or {}
    blank: dict = {}  # a missing row: every cell null
    new, carried_over, handled, carried_forward = (
        apps.get(row) or blank for row in ("new_requests", "carried_over", "total_handled", "carried_forward"))
    results = [apps[k] or blank for k in T.RESULT_ROW_KEYS if k in apps]

    balance = _Rule("applications_balance")
    row_totals = _Rule("applications_row_totals")
    result_sum = _Rule("applications_result_sum")
    for col in T.APPLICANT_COLUMNS:
        balance.compare(
            col,
            [new.get(col), carried_over.get(col)],
            [handled.get(col), carried_forward.get(col)],
            "new_requests + carried_over", "total_handled + carried_forward",
        )
        # Here and below, compare() inlined where one side is a lone total (~40 comparisons
        # a report): sum([x]) is 0 + x, which is x as far as comparing and printing it go.
        if (total := handled.get(col)) is not None:
            parts = [v for cells in results if (v := cells.get(col)) is not None]
            if parts:
                result_sum.compare_sums(col, total, sum(parts), "total_handled", "sum of result rows")
    for row, cells in apps.items():
        if not cells or (total := cells.get("total")) is None:
            continue
        parts = [v for c in _APPLICANT_PARTS if (v := cells.get(c)) is not None]
        if parts:
            row_totals.compare_sums(row, total, sum(parts), "total", "sum of applicant columns")
    review_totals = _Rule("review_litigation_totals")
    for row in T.REVIEW_ROWS:
        if not (cells := review.get(row)) or (total := cells.get("total")) is None:
            continue
        parts = [v for c in _REVIEW_PARTS if (v := cells.get(c)) is not None]
        if parts:
            review_totals.compare_sums(row, total, sum(parts), "total", "upheld + corrected + other + pending")
    return [rule.result() for rule in (balance, row_totals, result_sum, review_totals)] + [
        _narrative(tables, prose, year)]
