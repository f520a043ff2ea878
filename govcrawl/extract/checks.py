"""The spec's four arithmetic checks, reported on the item and never "fixed".

A null cell counts as 0 (templates leave "none" blank).  A comparison
``sum(A) == sum(B)`` is assessable only when A and B each hold at least one
non-null value.  ``ok`` is False when any assessable comparison fails, True
when all assessable ones hold, None when none is assessable.
"""

from __future__ import annotations

from govcrawl.extract import template as T


def _side(cells: list) -> tuple[bool, float]:
    present = [c for c in cells if c is not None]
    return bool(present), sum(present)


class _Rule:
    def __init__(self, name: str):
        self.name = name
        self.assessed = 0
        self.failures: list[str] = []

    def compare(self, where: str, left: list, right: list, left_name: str, right_name: str) -> None:
        has_left, a = _side(left)
        has_right, b = _side(right)
        if not (has_left and has_right):
            return
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


def run_checks(tables: dict) -> list[dict]:
    apps = tables.get("applications") or {}
    review = tables.get("review_litigation") or {}

    def cell(row: str, col: str):
        return (apps.get(row) or {}).get(col)

    balance = _Rule("applications_balance")
    row_totals = _Rule("applications_row_totals")
    result_sum = _Rule("applications_result_sum")
    results = [k for k in T.RESULT_ROW_KEYS if k in apps]
    for col in T.APPLICANT_COLUMNS:
        balance.compare(
            col,
            [cell("new_requests", col), cell("carried_over", col)],
            [cell("total_handled", col), cell("carried_forward", col)],
            "new_requests + carried_over", "total_handled + carried_forward",
        )
        result_sum.compare(
            col, [cell("total_handled", col)], [cell(k, col) for k in results],
            "total_handled", "sum of result rows",
        )
    for row in apps:
        row_totals.compare(
            row, [cell(row, "total")], [cell(row, c) for c in T.APPLICANT_COLUMNS[:6]],
            "total", "sum of applicant columns",
        )
    review_totals = _Rule("review_litigation_totals")
    for row in T.REVIEW_ROWS:
        cells = review.get(row) or {}
        review_totals.compare(
            row, [cells.get("total")], [cells.get(c) for c in T.REVIEW_COLUMNS[:4]],
            "total", "upheld + corrected + other + pending",
        )
    return [rule.result() for rule in (balance, row_totals, result_sum, review_totals)]
