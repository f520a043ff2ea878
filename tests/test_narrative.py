"""Tests for govcrawl/extract/narrative.py: the figures a report's prose states, in the common phrasings."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govcrawl.extract.narrative import _RELEVANT, _SENTENCE_END, _WRAPPED_LINE_BREAK, _spaced_sentences, prose_figures


def figures(text: str, year: int | None = 2023) -> list[tuple[str, int]]:
    return [(f.key, f.value) for f in prose_figures(text, year)]


@pytest.mark.parametrize("text, expected", [
    ("全年共收到政府信息公开申请749件，办结718件，结转下年度31件。",
     [("new_requests", 749), ("total_handled", 718), ("carried_forward", 31)]),
    ("2023年，我局共受理政府信息公开申请 21 件，均在法定期限内答复。", [("new_requests", 21)]),
    ("本年度新收政府信息公开申请12件，已全部办结。", [("new_requests", 12)]),
    ("共收到35件政府信息公开申请。", [("new_requests", 35)]),
    ("政府信息公开申请答复 3050 件（含上年度结转申请 34 件，另有 103 件顺延到下年度答复）。",
     [("total_handled", 3050), ("carried_forward", 103)]),
    ("发生政府信息公开行政复议3件，行政诉讼2起。", [("review", 3), ("litigation", 2)]),
    ("因政府信息公开被申请行政复议1件、提起行政诉讼4件。", [("review", 1), ("litigation", 4)]),
])
def test_common_phrasings(text, expected):
    assert figures(text) == expected


@pytest.mark.parametrize("text", [
    "其中，予以公开的申请15件。",  # a part of the total
    "区政府办代表区政府受理政府信息公开申请17件。",  # one office's share
    "收到申请数量同比增长12件。",  # a comparison
    "2022年共收到政府信息公开申请40件。",  # another year
    "上年结转政府信息公开申请2件。",  # carried over, not carried forward
    "收到和处理政府信息公开行政复议、行政诉讼0条。",  # one figure for two things
    "全年主动公开政府信息973条。",  # not about requests
    "一、本年新收政府信息公开申请数量 21 0 0 0 0 0 21",  # a table row: numbers without a unit
    "接收到两例依申请公开请求。",  # not a plain figure
    "全年受理行政许可申请120件,均已办结。",  # requests, but not for information
])
def test_figures_not_stated_plainly_are_left_out(text):
    assert figures(text) == []


def test_pdf_line_wrapped_inside_a_sentence():
    text = "着力强化与申请人的直接沟通，提高答复的及时性和针对性。2024 年，全市共受理政府信息公开申请 3119 件，答\n复 3050 件。"
    assert figures(text, 2024) == [("new_requests", 3119), ("total_handled", 3050)]


def test_short_lines_are_not_joined():
    # A heading and a table cell on their own lines: no sentence runs across them.
    assert figures("行政复议\n3件") == []


def test_clause_is_quoted():
    [figure] = prose_figures("全年共收到政府信息公开申请749件，均已答复。", 2023)
    assert figure.clause == "全年共收到政府信息公开申请749件"


def test_review_and_lawsuit_figures_in_one_clause():
    assert figures("全年因政府信息公开引发行政复议3件、行政诉讼2起。") == [("review", 3), ("litigation", 2)]


def test_a_heading_after_a_long_line_starts_a_new_sentence():
    text = "索引号 0001/2024-00031 发布机构 县政府办公室 发布日期 2024-01-22\n(二)依申请公开情况\n2023年,共受理政府信息公开申请 3 件。"
    assert figures(text) == [("new_requests", 3)]


def test_a_date_in_another_year_does_not_move_the_sentence():
    assert figures("2023年共收到政府信息公开申请5件,截至2024年1月10日已全部办结。") == [("new_requests", 5)]


@pytest.mark.parametrize("text, expected", [
    ("2023年,我局未收到政府信息公开申请。", [("new_requests", 0)]),
    ("全年未接到信息公开申请;未发生因政府信息公开引起的行政复议和行政诉讼。",
     [("new_requests", 0), ("review", 0), ("litigation", 0)]),
    ("本年度没有发生行政诉讼。", [("litigation", 0)]),
    ("全年未收到行政许可申请。", []),
])
def test_stated_zeros(text, expected):
    assert figures(text) == expected


@pytest.mark.parametrize("text", ["未经复议直接起诉的行政诉讼结果维持", "确保无一例行政复议被纠错"])
def test_negations_that_are_not_zero_counts(text):
    assert figures(text) == []


def test_thousands_separator():
    assert figures("全市共受理政府信息公开申请3,119件,答复3050件。") == [("new_requests", 3119), ("total_handled", 3050)]


# --- sentences: found from the relevant words outward ---------------------------------

_PIECES = ["申请", "复议", "诉讼", "下年", "下一年度", "政务公开" * 80, "收到", "12", " ", "件",
           "。", "；", ";", "！", "?", "\n", "\n一、", "\n(二)", "\n3.", "行政", "公开"]


def _sentences_by_split(text: str) -> list[str]:
    """The definition: every sentence of the joined text, kept if it names what a figure counts."""
    joined = _WRAPPED_LINE_BREAK.sub("", "\n".join(ln.strip() for ln in text.splitlines()))
    return [s for s in _SENTENCE_END.split(joined) if _RELEVANT.search(s)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=60))
def test_sentences_are_the_relevant_pieces_of_a_split(pieces):
    text = "".join(pieces)
    assert _spaced_sentences(text) == _sentences_by_split(text)


def test_wrapped_line_break_joins_only_long_unfinished_lines():
    assert _WRAPPED_LINE_BREAK.sub("", "全年共收到政府信息公开申请数量为\n749件。") == "全年共收到政府信息公开申请数量为749件。"
    assert _WRAPPED_LINE_BREAK.sub("", "短行\n749件。") == "短行\n749件。"
    assert _WRAPPED_LINE_BREAK.sub("", "全年共收到政府信息公开申请数量为。\n749件") == "全年共收到政府信息公开申请数量为。\n749件"
    assert _WRAPPED_LINE_BREAK.sub("", "全年共收到政府信息公开申请数量为\n二、主动公开") == "全年共收到政府信息公开申请数量为\n二、主动公开"
    assert re.search(r"\n", _WRAPPED_LINE_BREAK.sub("", "\n" * 3)) is not None


def test_figures_are_found_after_pages_of_other_prose():
    prose = "".join(f"第{i}段：全市持续深化政务公开，回应社会关切{i}次。\n" for i in range(3000))
    text = prose + "全年共收到政府信息公开申请749件，办结718件，结转下年度31件。\n" + prose
    assert figures(text) == [("new_requests", 749), ("total_handled", 718), ("carried_forward", 31)]
