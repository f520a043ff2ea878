"""Every seed and real PDF yields its gold exactly: tables cell for cell, metadata, checks."""

from __future__ import annotations

import pytest

from govcrawl.extract import extract_document, is_report
from govcrawl.extract.schema import validate_item
from tests.shared_data import gold_documents

DOCUMENTS = gold_documents()
IDS = [path.name for path, _ in DOCUMENTS]


@pytest.fixture(scope="module", params=DOCUMENTS, ids=IDS)
def extracted(request):
    path, gold = request.param
    return extract_document(path.read_bytes(), f"https://example.gov.cn/{path.name}"), gold


def _same(value, expected) -> bool:
    # 39476302.00 on the page is 39476302.0 in gold: compare numbers as numbers, null as null.
    if expected is None or value is None:
        return value is expected
    return value == expected and isinstance(value, (int, float)) == isinstance(expected, (int, float))


def test_tables_match_gold_cell_for_cell(extracted):
    item, gold = extracted
    assert set(item["tables"]) == set(gold["tables"])
    mismatches = []
    for section, rows in gold["tables"].items():
        assert list(item["tables"][section]) == list(rows), f"{section}: row keys differ"
        for row, cells in rows.items():
            got = item["tables"][section][row]
            assert set(got) == set(cells), f"{section}.{row}: column keys differ"
            mismatches += [
                f"{section}.{row}.{col}: {got[col]!r} != {want!r}"
                for col, want in cells.items() if not _same(got[col], want)
            ]
    assert mismatches == []


@pytest.mark.parametrize("key", ["title", "agency", "year", "format"])
def test_top_level_fields_match_gold(extracted, key):
    item, gold = extracted
    assert item[key] == gold[key]


def test_provenance_matches_gold(extracted):
    item, gold = extracted
    assert {k: item["provenance"][k] for k in gold["provenance"]} == gold["provenance"]


def test_checks_match_gold(extracted):
    item, gold = extracted
    assert [(c["rule"], c["ok"]) for c in item["checks"]] == [(c["rule"], c["ok"]) for c in gold["checks"]]


def test_item_is_a_valid_report(extracted):
    item, _ = extracted
    assert is_report(item)
    assert validate_item(item) == []


def test_failed_check_names_the_rows_and_both_sums():
    path, _ = next((p, g) for p, g in DOCUMENTS if p.name == "hongze_2023.pdf")
    item = extract_document(path.read_bytes(), "https://example.gov.cn/hongze_2023.pdf")
    failed = [c for c in item["checks"] if c["ok"] is False]
    assert [c["rule"] for c in failed] == ["review_litigation_totals"]
    assert "review: total = 0" in failed[0]["detail"] and "= 11" in failed[0]["detail"]
