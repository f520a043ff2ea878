"""Tests for govcrawl/demo/render.py: the split shapes and the markdown layout it prints (read back in test_roundtrip)."""

import random

from govcrawl.demo.render import narrative, pieces, random_tables, render_report_text


def _texts(grid):
    return [text for row in grid for text, _, _ in row]


def test_split_applications_one_table_per_row_group():
    tables = random_tables(random.Random(1), "2021")
    parts = pieces(tables, "2021", split=True)["applications"]
    # 一/二, 予以公开/部分公开, 不予公开, 无法提供, 不予处理, 其他处理, 总计, 结转
    assert len(parts) == 8
    headers = [_texts(grid)[0] for _, grid in parts]
    assert headers.count("信息内容") == 6  # generic 数据1…数据7 headers
    official = "(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和)"
    assert [n for n, h in enumerate(headers) if h == official] == [0, 4]  # and repeated mid-way
    assert "数据7" in _texts(parts[1][1])


def test_split_review_under_two_sub_headings():
    parts = pieces(random_tables(random.Random(2), "2019"), "2019", split=True)["review_litigation"]
    assert [sub for sub, _ in parts] == ["（一）行政复议情况", "（二）行政诉讼情况"]
    assert [len(grid[-1]) for _, grid in parts] == [5, 10]


def test_unsplit_sections_are_one_piece_each():
    assert {k: len(v) for k, v in pieces(random_tables(random.Random(3), "2021"), "2021").items()} == {
        "active_disclosure": 1, "applications": 1, "review_litigation": 1}


def test_markdown_layout_has_headings_and_separator_rows():
    text = render_report_text(random_tables(random.Random(4), "2021"), fmt="2021", title="T", layout="markdown")
    lines = text.splitlines()
    assert lines[0] == "# T" and "## 三、收到和处理政府信息公开申请情况" in lines
    assert sum(1 for ln in lines if ln.startswith("|---")) == 3


def test_narrative_states_the_table_totals():
    tables = random_tables(random.Random(5), "2019")
    total = tables["applications"]["new_requests"]["total"]
    assert f"全年共收到政府信息公开申请{total}件" in narrative(tables, 2020)
