"""The table reader on small cell streams: values, label variants, padding, hybrids."""

from __future__ import annotations

import pytest

from govcrawl.extract.layout import ROW_END, text_tokens
from govcrawl.extract.tables import parse_value, read_tables


@pytest.mark.parametrize(
    "cell, number, unit",
    [
        ("0", 0, None), ("3985758", 3985758, None), ("+3", 3, None), ("-2", -2, None), ("- 2", -2, None),
        ("96171.6", 96171.6, None), ("39476302.00", 39476302.0, None), ("1,234", 1234, None),
        ("251000元", 251000, "元"), ("12.5万元", 12.5, "万元"), ("7 件", 7, "件"),
        ("", None, None), ("-", None, None), ("/", None, None), ("无", None, None), ("——", None, None),
    ],
)
def test_value_cells(cell, number, unit):
    value = parse_value(cell)
    assert value is not None
    assert (value.number, value.unit) == (number, unit)
    assert type(value.number) is type(number)


@pytest.mark.parametrize("cell", ["规章", "1.属于国家秘密", "(一)予以公开", "2020年", "第二十条第(一)项", "1."])
def test_label_cells_are_not_values(cell):
    assert parse_value(cell) is None


APPS_2019 = """三、收到和处理政府信息公开申请情况
一、本 年 新 收 政 府 信 息 公 开 申 请 数 量
{v}
二、上年结转政府信息公开申请数量
{v}
(一)予以公开
{v}
(二)部分公开
{v}
(三)不予公开
1、属于国家秘密
{v}
2.其他法律行政法规禁止公开
{v}
3.危及三安全一稳定
{v}
4.保护第三方合法权益
{v}
5.属于三类内部事务信息
{v}
6.属于四类过程性信息
{v}
7.属于行政执法案件
{v}
8.属于行政查询事项
{v}
(四)无法提供
1.本机关不掌握相关政府信息
{v}
2.没有现成信息需另行制作
{v}
3.补正后申请内容仍不明确
{v}
(五)不予处理
1.信访举报投诉类申请
{v}
2.重复申请
{v}
3.要求提供公开出版物
{v}
4.无正当理由大量反复申请
{v}
5.要求行政机关确认或重 新出具已获取信息
{v}
(六)其他处理
{v}
(七)总计
{v}
四、结转下年度继续办理
{v}
"""


def test_label_variants_match_their_rows():
    """Spaces inside words, 1、 for 1., 案件 for 案卷, 需另行 for 需要另行, missing quotes."""
    text = APPS_2019.replace("{v}", "1\n0\n0\n0\n0\n0\n1")
    result = read_tables(text_tokens(text.split("\n")))
    apps = result.tables["applications"]
    assert len(apps) == 23
    assert apps["denied_enforcement_files"]["total"] == 1
    assert apps["unavailable_needs_creation"]["natural_person"] == 1
    assert apps["rejected_confirmation"]["total"] == 1
    assert not [w for w in result.warnings if "applications" in w]


def test_rows_out_of_order_are_found_and_put_in_template_order():
    text = APPS_2019.replace("{v}", "0\n0\n0\n0\n0\n0\n0")
    lines = text.split("\n")
    # Move the "(二)部分公开" row (label + 7 values) below "(七)总计".
    i = lines.index("(二)部分公开")
    row = lines[i:i + 8]
    del lines[i:i + 8]
    j = lines.index("四、结转下年度继续办理")
    lines[j:j] = row
    apps = read_tables(text_tokens(lines)).tables["applications"]
    keys = list(apps)
    assert keys.index("partially_granted") == keys.index("granted") + 1


def test_column_header_total_is_not_the_total_row():
    """The header's 总计 followed by blank padding must not be read as (七)总计."""
    tokens = ["三、收到和处理政府信息公开申请情况", "自然人", "总计", "", "", "", "", "", "", "",
              "一、本年新收政府信息公开申请数量", "1", "0", "0", "0", "0", "0", "1"]
    apps = read_tables(tokens).tables["applications"]
    assert "total_handled" not in apps
    assert apps["new_requests"]["total"] == 1


def test_grid_padding_and_blank_label_half_are_trimmed():
    tokens = ["三、收到和处理政府信息公开申请情况",
              "一、本年新收政府信息公开申请数量", "2", "0", "0", "0", "0", "0", "2", "", "", ROW_END,
              "(六)其他处理", "", "0", "0", "0", "0", "0", "0", "0", ROW_END]
    apps = read_tables(tokens).tables["applications"]
    assert apps["new_requests"]["total"] == 2
    assert apps["other_handling"] == dict.fromkeys(apps["other_handling"], 0)


def test_missing_values_are_null_never_zero_and_warned():
    tokens = ["二、主动公开政府信息情况", "信息内容", "采购项目数量", "采购总金额",
              "政府集中采购", "24", "三、收到和处理政府信息公开申请情况"]
    result = read_tables(tokens)
    assert result.tables["active_disclosure"]["procurement"] == {"items": 24, "amount": None, "amount_unit": None}
    assert any("procurement" in w and "null" in w for w in result.warnings)


def test_2021_hybrid_single_other_handling_row_and_unit_from_header():
    tokens = ["二、主动公开政府信息情况", "第二十条第(八)项", ROW_END,
              "信息内容", "本年收费金额(单位:万元)", ROW_END, "行政事业性收费", "7730.28", ROW_END,
              "三、收到和处理政府信息公开申请情况",
              "(六)其他处理", "0", "0", "0", "0", "0", "0", "0", ROW_END]
    result = read_tables(tokens)
    assert result.format == "2021"
    assert result.tables["active_disclosure"]["fees"] == {"amount": 7730.28, "amount_unit": "万元"}
    assert "other_handling" in result.tables["applications"]


def test_2021_other_rows_with_bare_other_label():
    tokens = ["三、收到和处理政府信息公开申请情况", "(六)其他处理",
              "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", *"1000001",
              "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", *"0000000",
              "其他", *"2000002"]
    apps = read_tables(tokens).tables["applications"]
    assert apps["other_no_correction"]["total"] == 1
    assert apps["other_other"]["total"] == 2
    assert "other_handling" not in apps


@pytest.mark.parametrize("lines", [
    # the group's label on the line of the values, between two pieces of the row's
    ["2.申请人逾期未按收费通知要求缴纳费", "(六)其他处理 用、行政机关不再处理其政府信息公开 0 5 16 0 0 0 21", "申请"],
    # the group's label alone with the values, the row's label above and below
    ["2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息", "(六)其他处理 0 5 16 0 0 0 21", "公开申请"],
    # the group's label on a line of its own, the values beside the label's second piece
    ["2.申请人逾期未按收费通知要求缴纳", "(六)其他处理", "费用、行政机关不再处理其政府信息 0 5 16 0 0 0 21", "公开申请"],
])
def test_a_row_label_wrapped_round_its_values_and_its_group_label(lines):
    """A table without column rules read as text lines: the 2021 其他处理 rows' long labels wrap, and
    (六)其他处理, centred on its three rows, lands on the middle one.  The values are the row's, and
    (六)其他处理 (a row of 2019's template) takes none of them."""
    text = ["三、收到和处理政府信息公开申请情况",
            "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请 1 0 0 0 0 0 1",
            *lines, "3.其他 2 0 0 0 0 0 2"]
    result = read_tables(text_tokens(text))
    apps = result.tables["applications"]
    assert list(apps) == ["other_no_correction", "other_fee_unpaid", "other_other"]
    assert list(apps["other_fee_unpaid"].values()) == [0, 5, 16, 0, 0, 0, 21]
    assert (apps["other_no_correction"]["total"], apps["other_other"]["total"]) == (1, 2)


def test_a_row_label_with_no_values_takes_none_from_the_next_row():
    """A row named on a line with no values (all its cells empty) leaves the next row's values alone,
    the bare 其他 after 2021's fee row too, which is still read as 3.其他."""
    text = ["三、收到和处理政府信息公开申请情况", "(一)予以公开", "(二)部分公开 3 0 0 0 0 0 3",
            "(三)不予公开", "1.属于国家秘密 1 0 0 0 0 0 1",
            "(六)其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请 1 0 0 0 0 0 1",
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "其他 2 0 0 0 0 0 2"]
    apps = read_tables(text_tokens(text)).tables["applications"]
    assert "granted" not in apps and "other_fee_unpaid" not in apps
    assert (apps["partially_granted"]["total"], apps["denied_state_secret"]["total"]) == (3, 1)
    assert apps["other_other"]["total"] == 2  # and 其他 is still 3.其他


def test_prose_numbers_before_the_tables_are_not_rows():
    tokens = ["一、总体情况", "全年办理行政许可", "550", "件", "行政许可", "12",
              "二、主动公开政府信息情况", "第二十条第(五)项", "信息内容", "本年处理决定数量", "行政许可", "550"]
    result = read_tables(tokens)
    assert result.tables["active_disclosure"]["licensing"] == {"decisions": 550}


def test_review_row_after_padded_pipe_headers():
    lines = ["四、政府信息公开行政复议、行政诉讼情况", "行政复议 |", "行政诉讼 |", "|||||||||||||",
             "结果维持 |", "总计 |", "|||||"] + [f"{n} |" for n in (1, 0, 0, 0, 1, 2, 0, 0, 0, 2, 0, 0, 0, 3, 3)] \
            + ["五、存在的主要问题及改进情况"]
    review = read_tables(text_tokens(lines)).tables["review_litigation"]
    assert review["review"] == {"upheld": 1, "corrected": 0, "other": 0, "pending": 0, "total": 1}
    assert review["litigation_after_review"]["total"] == 3


def test_text_layouts_tokenize_blank_cells():
    assert text_tokens(["a |", "0 |", " |", "||"]) == ["a", "0", "", "", ""]
    assert text_tokens(["a", "", "0", "", "\u00a0", "", "b"]) == ["a", "0", "", "b"]
    assert text_tokens(["a", "0", "", "1", "b"]) == ["a", "0", "", "1", "b"]
    assert text_tokens(["规章 1 0 11"]) == ["规章", "1", "0", "11"]


def test_no_tables_means_no_format():
    result = read_tables(["市政府召开常务会议", "会议指出"])
    assert result.tables == {} and result.format is None


def test_review_table_without_its_section_heading():
    tokens = ["三、收到和处理政府信息公开申请情况",
              "一、本年新收政府信息公开申请数量", *"1000001", ROW_END,
              "四、结转下年度继续办理", *"0000000", ROW_END,
              "行政复议", "行政诉讼", ROW_END, "结果维持", "总计", ROW_END,
              *"100012000230000", ROW_END]
    result = read_tables(tokens)
    assert result.tables["review_litigation"]["review"] == {"upheld": 1, "corrected": 0, "other": 0, "pending": 0, "total": 1}
    assert result.tables["review_litigation"]["litigation_after_review"]["total"] == 0
    assert result.tables["applications"]["carried_forward"]["total"] == 0


REVIEW_HEADING = "四、政府信息公开行政复议、行政诉讼情况"
COLUMNS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


def _review(tokens):
    return read_tables([REVIEW_HEADING, *tokens, "五、存在的主要问题及改进情况"]).tables["review_litigation"]


def test_review_split_into_one_table_per_row_in_any_order():
    # Row labels name each piece; the 复议后起诉 table comes before the direct one.
    tokens = ["行政复议", *COLUMNS, ROW_END, *"10001", ROW_END,
              "复议后起诉", *COLUMNS, ROW_END, *"00303", ROW_END,
              "未经复议直接起诉", *COLUMNS, ROW_END, *"02002", ROW_END]
    review = _review(tokens)
    assert [review[r]["total"] for r in ("review", "litigation_direct", "litigation_after_review")] == [1, 2, 3]


def test_review_pieces_under_sub_headings_with_a_ten_value_litigation_row():
    tokens = ["(一)行政复议情况", *COLUMNS, ROW_END, *"21003", ROW_END,
              "(二)行政诉讼情况", "未经复议直接起诉", "复议后起诉", ROW_END, *COLUMNS, *COLUMNS, ROW_END,
              *"1000100101", ROW_END]
    review = _review(tokens)
    assert review["review"] == {"upheld": 2, "corrected": 1, "other": 0, "pending": 0, "total": 3}
    assert (review["litigation_direct"]["total"], review["litigation_after_review"]["total"]) == (1, 1)


def test_incomplete_review_pieces_are_not_guessed():
    # Only the 行政复议 piece: no litigation piece to assemble, so the old reading (with its warning) stands.
    result = read_tables([REVIEW_HEADING, "(一)行政复议情况", *COLUMNS, ROW_END, *"21003", ROW_END])
    assert result.tables["review_litigation"]["litigation_direct"]["total"] is None
    assert any("review_litigation: only 5 of 15" in w for w in result.warnings)


# --- section-local reading: pages of navigation and prose around the sections ----------


def _report_tokens(fmt: str = "2021", *, problems_heading: bool = True) -> list[str]:
    import random

    from govcrawl.demo.render import random_tables, render_report_html
    from govcrawl.extract.layout import layout_from_html

    html = render_report_html(random_tables(random.Random(3), fmt), fmt=fmt, title="某县2023年政府信息公开工作年度报告")
    if not problems_heading:
        html = html.replace("<p>五、存在的主要问题及改进情况</p>", "")
    return layout_from_html(html).tokens


_NAV = [f"栏目{i}政务公开" for i in range(2000)] + [ROW_END]
_PROSE = [f"第{i}段：全市持续深化政务公开，推进决策、执行、管理、服务、结果公开，回应社会关切{i}次。"
          for i in range(3000)]


@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_tables_are_found_after_navigation_and_a_long_prose_section(fmt):
    plain = read_tables(_report_tokens(fmt), year=2023)
    assert len(plain.tables) == 3
    padded = read_tables(_NAV + _PROSE + _report_tokens(fmt) + _PROSE, year=2023)
    assert (padded.tables, padded.format, padded.warnings) == (plain.tables, plain.format, plain.warnings)


def test_review_table_is_read_before_a_long_prose_tail_without_a_section_five_heading():
    plain = read_tables(_report_tokens(problems_heading=False), year=2023)
    padded = read_tables(_report_tokens(problems_heading=False) + _PROSE + ["回应关切3件", "12"], year=2023)
    assert padded.tables["review_litigation"] == plain.tables["review_litigation"]


def test_heading_scans_leave_navigation_and_prose_cells_unread(monkeypatch):
    from govcrawl.extract import tables

    read: list[str] = []  # every cell a reader asks for as a label or a value

    def recording(read_cell):
        def wrapper(token):
            read.append(token)
            return read_cell(token)
        return wrapper

    monkeypatch.setattr(tables, "_label", recording(tables._label))
    monkeypatch.setattr(tables, "parse_value", recording(tables.parse_value))
    report = _report_tokens()
    stream = tables._Stream(_NAV + _PROSE + report + _PROSE)
    zones = tables._zones(stream)
    start = len(_NAV) + len(_PROSE)
    assert zones["active_disclosure"][0] >= start and zones["review_litigation"][1] <= start + len(report)
    assert read and set(read).isdisjoint(set(_NAV + _PROSE) - {ROW_END})
