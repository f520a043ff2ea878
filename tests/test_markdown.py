"""Tests for govcrawl/extract/markdown.py: markdown copies of reports as rows and cells."""

from govcrawl.extract.layout import ROW_END
from govcrawl.extract.markdown import is_markdown, layout_from_markdown

DOC = """# 清水县人民政府2023年政府信息公开年度报告

**（一）主动公开情况**

## 四、政府信息公开行政复议、行政诉讼情况

| 结果维持 | 结果纠正 | 其他结果 | 尚未审结 | 总计 |
|:---|---:|---|---|---|
| 1 |  | 0 | 0 | 1 |
"""


def test_markdown_by_name_or_by_separator_row():
    assert is_markdown("正文", "https://x.gov.cn/nb/2023.md")
    assert is_markdown("| a | b |\n|---|---|\n| 1 | 2 |")
    assert not is_markdown("规章 |\n0 |\n|||\n0 |\n||", "https://x.gov.cn/a.txt")


def test_pipe_rows_without_a_separator_row_are_markdown():
    # Converters often drop the |---| row; rows with content between outer pipes still make a table.
    text = "二、主动公开政府信息情况\n| 信息内容 | 本年制发件数 |\n| 规章 | 0 |\n| 行政规范性文件 | 3 |"
    assert is_markdown(text, "https://x.gov.cn/a.txt")


def test_pipe_table_rows_are_grid_rows_and_the_separator_is_dropped():
    tokens = layout_from_markdown(DOC).tokens
    start = tokens.index("结果维持")
    assert tokens[start:] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", ROW_END,
                              "1", "", "0", "0", "1", ROW_END]


def test_heading_and_bold_marks_are_removed_and_blank_lines_are_not_cells():
    layout = layout_from_markdown(DOC)
    assert layout.lines[:3] == ["清水县人民政府2023年政府信息公开年度报告", "(一)主动公开情况",
                                "四、政府信息公开行政复议、行政诉讼情况"]
    assert "" not in layout.tokens[:layout.tokens.index("结果维持")]


def test_heading_marks_without_a_space():
    assert layout_from_markdown("##四、政府信息公开行政复议、行政诉讼情况").lines == ["四、政府信息公开行政复议、行政诉讼情况"]
