"""Tests for govcrawl/extract/metadata.py: gold seeds, real PDFs, saved pages, and label shapes."""

import html as html_lib
import json
import re
from functools import lru_cache
from pathlib import Path

import pdfplumber
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govcrawl.extract.decode import decode_body
from govcrawl.extract.metadata import _first_lines, extract_metadata
from govcrawl.extract.textfix import repair_text, strip_ruby_html

SHARED = Path("/work/shared")
DATA = Path(__file__).parent / "data" / "metadata"
SEEDS = sorted(p.stem for p in (SHARED / "seeds").glob("*.txt"))
PDFS = sorted(p.stem for p in (SHARED / "real").glob("*.pdf"))
TOP_KEYS = ("title", "agency", "year")


@lru_cache(maxsize=None)
def seed_result(stem: str) -> dict:
    text = (SHARED / "seeds" / f"{stem}.txt").read_text(encoding="utf-8")
    return extract_metadata(repair_text(text))


@lru_cache(maxsize=None)
def pdf_result(stem: str) -> dict:
    with pdfplumber.open(SHARED / "real" / f"{stem}.pdf") as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    return extract_metadata(repair_text(text))


def gold(folder: str, stem: str) -> dict:
    return json.loads((SHARED / folder / f"{stem}.gold.json").read_text(encoding="utf-8"))


def gold_cases(folder: str, stems: list[str]) -> list[tuple[str, str, object]]:
    """(stem, key, expected) for the top-level keys and every provenance key the gold gives."""
    cases = []
    for stem in stems:
        g = gold(folder, stem)
        cases += [(stem, key, g[key]) for key in TOP_KEYS]
        cases += [(stem, f"provenance.{key}", value) for key, value in g["provenance"].items()]
    return cases


def lookup(result: dict, key: str):
    for part in key.split("."):
        result = result[part]
    return result


@pytest.mark.parametrize("stem, key, expected", gold_cases("seeds", SEEDS))
def test_seed_matches_gold(stem, key, expected):
    assert lookup(seed_result(stem), key) == expected


@pytest.mark.parametrize("stem, key, expected", gold_cases("real", PDFS))
def test_pdf_matches_gold(stem, key, expected):
    assert lookup(pdf_result(stem), key) == expected


def test_provenance_always_has_all_six_keys():
    assert set(seed_result(SEEDS[1])["provenance"]) == {
        "index_no", "publisher", "doc_no", "category", "created_date", "published_date"}


def test_empty_category_stops_at_next_label():
    # Seed 000: "法定主动公开分类: 公开方式:主动公开" — 公开方式 is another field.
    assert seed_result("000_81d7a68a0bd34fe9")["provenance"]["category"] is None


def test_title_is_not_taken_from_prose():
    assert seed_result("002_3e7c7203fb80667c")["title"] is None


def test_year_from_body_is_flagged():
    assert seed_result("002_3e7c7203fb80667c")["warnings"] == [
        "no report title found", "year 2020 taken from the most frequent year in the text"]


# --- saved pages ----------------------------------------------------------------------

def page_text(html: str) -> str:
    """Just enough HTML -> text for these fixtures: one text node per line."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S | re.I)
    return repair_text(html_lib.unescape(re.sub(r"<[^>]+>", "\n", html)))


def load_page(name: str) -> tuple[str, str]:
    html = decode_body((DATA / name).read_bytes()).text
    return page_text(strip_ruby_html(html)), html


@pytest.fixture(scope="module")
def meta_page() -> dict:
    text, html = load_page("meta_tags_only.html")
    return extract_metadata(text, html=html, url="https://www.taizhou.gov.cn/art/2021/1/28/art_1_1.html")


@pytest.fixture(scope="module")
def ruby_page() -> dict:
    text, html = load_page("ruby_traditional_table.html")
    return extract_metadata(text, html=html)


def test_meta_page_title_from_article_title(meta_page):
    assert meta_page["title"] == "泰州市审计局2020年度政府信息公开工作年度报告"


def test_meta_page_agency(meta_page):
    assert meta_page["agency"] == "泰州市审计局"


def test_meta_page_year(meta_page):
    assert meta_page["year"] == 2020


def test_meta_page_published_date_from_pubdate(meta_page):
    assert meta_page["provenance"]["published_date"] == "2021-01-28"


def test_meta_page_publisher_from_content_source(meta_page):
    assert meta_page["provenance"]["publisher"] == "市审计局"


def test_meta_page_has_no_index_no(meta_page):
    assert meta_page["provenance"]["index_no"] is None


def test_meta_page_no_warnings(meta_page):
    assert meta_page["warnings"] == []


def test_ruby_page_index_no(ruby_page):
    assert ruby_page["provenance"]["index_no"] == "014109971/2020-00001"


def test_ruby_page_publisher_simplified(ruby_page):
    assert ruby_page["provenance"]["publisher"] == "市事管局"


def test_ruby_page_category_simplified(ruby_page):
    assert ruby_page["provenance"]["category"] == "综合政务"


def test_ruby_page_empty_doc_no_is_null(ruby_page):
    assert ruby_page["provenance"]["doc_no"] is None


def test_ruby_page_created_date_from_chinese_date(ruby_page):
    assert ruby_page["provenance"]["created_date"] == "2020-01-17"


def test_ruby_page_published_date_from_slashed_date(ruby_page):
    assert ruby_page["provenance"]["published_date"] == "2020-01-17"


def test_ruby_page_title_without_pinyin(ruby_page):
    assert ruby_page["title"] == "常州市机关事务管理局2019年政府信息公开工作年度报告"


def test_ruby_page_agency(ruby_page):
    assert ruby_page["agency"] == "常州市机关事务管理局"


# --- label shapes ----------------------------------------------------------------------

def prov(text: str, **kwargs) -> dict:
    return extract_metadata(repair_text(text), **kwargs)["provenance"]


@pytest.mark.parametrize("line, expected", [
    ("索 引 号:014109971/2020-00001", "014109971/2020-00001"),
    ("索引号：11320800014036829W/2024-00123", "11320800014036829W/2024-00123"),
    ("索\u2002引\u2002号：000014349/2020-12345 文 号:", "000014349/2020-12345"),
    ("索取号: 000014349/2020-12345", "000014349/2020-12345"),
])
def test_index_no_shapes(line, expected):
    assert prov(line)["index_no"] == expected


@pytest.mark.parametrize("value, expected", [
    ("2020-1-7", "2020-01-07"),
    ("2020/01/17", "2020-01-17"),
    ("2020年1月17日", "2020-01-17"),
    ("2020.01.17", "2020-01-17"),
    ("2020-01-17 10:24:00", "2020-01-17"),
])
def test_published_date_formats(value, expected):
    assert prov(f"发布日期:{value}")["published_date"] == expected


def test_several_fields_on_one_line():
    assert prov("文件编号: 发布机构:市事管局") == {
        "index_no": None, "publisher": "市事管局", "doc_no": None, "category": None,
        "created_date": None, "published_date": None}


def test_byline_time_and_source():
    p = prov("时间:2020-01-21 17:24:17 | 来源:市科技局")
    assert (p["published_date"], p["publisher"]) == ("2020-01-21", "市科技局")


def test_value_stops_at_unknown_label():
    assert prov("信息来源:市统计局 字体:[大 中 小]")["publisher"] == "市统计局"


def test_doc_no_value():
    assert prov("发文字号:常政办发〔2020〕12号")["doc_no"] == "常政办发〔2020〕12号"


def test_label_and_value_in_separate_cells():
    assert prov("成文日期\n2020-01-07\n主题分类\n发布机构\n市政府办公室")["created_date"] == "2020-01-07"


def test_empty_cell_value_is_null():
    assert prov("主题分类\n发布机构\n市政府办公室")["category"] is None


def test_words_ending_in_a_label_are_not_labels():
    assert prov("统计时间:2020-01-01")["published_date"] is None


def test_published_date_from_url_is_flagged():
    result = extract_metadata("正文", url="http://www.example.gov.cn/zwgk/202101/t20210115_123.html")
    assert result["warnings"][0] == "published_date 2021-01-15 taken from the URL"


# --- title, agency, year ----------------------------------------------------------------

def meta(text: str, **kwargs) -> dict:
    return extract_metadata(repair_text(text), **kwargs)


def test_two_line_pdf_title_is_joined():
    assert meta("洪泽区人民政府\n2023 年政府信息公开工作年度报告\n本报告")["title"] == (
        "洪泽区人民政府2023年政府信息公开工作年度报告")


def test_agency_after_year():
    assert meta("2020年梅河口市商务局政府信息公开工作年度报告")["agency"] == "梅河口市商务局"


def test_agency_before_year():
    assert meta("常州市机关事务管理局2019年政府信息公开工作年度报告")["agency"] == "常州市机关事务管理局"


def test_title_with_year_in_brackets_gives_year():
    assert meta("常州市统计局政府信息公开工作年度报告(2019年度)\n正文")["year"] == 2019


def test_title_with_year_in_brackets_gives_agency():
    assert meta("常州市统计局政府信息公开工作年度报告(2019年度)\n正文")["agency"] == "常州市统计局"


def test_title_from_html_title_drops_site_suffix():
    html = "<html><head><title>2020年某某县民政局政府信息公开工作年度报告_某某县人民政府</title></head></html>"
    assert meta("正文", html=html)["title"] == "2020年某某县民政局政府信息公开工作年度报告"


def test_html_title_without_report_is_ignored():
    assert meta("正文", html="<title>某某县人民政府</title>")["title"] is None


def test_sentence_mentioning_a_report_is_not_a_title():
    assert meta("2023年政府信息公开工作年度报告已于近日发布,欢迎查阅。")["title"] is None


def test_year_from_statistics_period():
    assert meta("报告所列数据统计期限自 2024 年 1 月 1 日起至 2024 年 12 月 31 日止。2025年")["year"] == 2024


def test_years_in_document_names_are_ignored():
    text = "根据《2019年工作要点》《2019年计划》(国办函〔2019〕60号),2020年我镇。2020年以来。"
    assert meta(text)["year"] == 2020


def test_year_from_published_date_is_flagged():
    result = meta("发布日期:2021-01-15\n正文")
    assert (result["year"], result["warnings"][-1]) == (
        2020, "year 2020 guessed as published_date year - 1")


def test_nothing_found_gives_nulls():
    assert meta("")["title"] is None and meta("")["year"] is None


def test_letter_spaced_pdf_title_is_found():
    assert meta("淮 安 市 人 民 政 府\n2024 年 政 府 信 息 公 开 工 作 年 度 报 告")["title"] == (
        "淮安市人民政府2024年政府信息公开工作年度报告")


def test_prose_after_a_label_is_not_a_value():
    assert prov("来源:" + "根据市政府统一部署,我局认真做好各项工作" * 5)["publisher"] is None


# --- label/value grids, definition lists, bylines (through the HTML layout, as pages give them) -------------

def html_meta(body: str, head: str = "") -> dict:
    from govcrawl.extract.layout import layout_from_html

    html = f"<html><head>{head}</head><body>{body}</body></html>"
    return extract_metadata(layout_from_html(html).text, html=html)


def grid(*rows) -> str:
    return "<table>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows) + "</table>"


def test_two_column_grid():
    p = html_meta(grid(["索 引 号", "014314799/2024-00002"], ["发文机关", "沭阳县发展和改革局"],
                       ["成文日期", "2024-01-15"], ["文号", ""]))["provenance"]
    assert (p["index_no"], p["publisher"], p["created_date"], p["doc_no"]) == (
        "014314799/2024-00002", "沭阳县发展和改革局", "2024-01-15", None)


def test_four_column_grid_with_blank_values():
    p = html_meta(grid(["索引号", "014314799/2024-00002", "分类", "信息公开年报 其他 报告"],
                       ["发布机构", "沭阳县发展和改革局", "公开日期", "2024-01-17"],
                       ["文号", "", "关键词", ""]))["provenance"]
    assert p == {"index_no": "014314799/2024-00002", "publisher": "沭阳县发展和改革局", "doc_no": None,
                 "category": "信息公开年报 其他 报告", "created_date": None, "published_date": "2024-01-17"}


def test_six_column_grid():
    p = html_meta(grid(["索引号:", "000014349/2024-00518", "信息来源:", "福清市人民政府", "发布日期:", "2024-01-30"],
                       ["文号", "", "主题分类", "综合政务", "生成日期", "2024-01-29"]))["provenance"]
    assert (p["index_no"], p["publisher"], p["published_date"], p["doc_no"], p["category"], p["created_date"]) == (
        "000014349/2024-00518", "福清市人民政府", "2024-01-30", None, "综合政务", "2024-01-29")


def test_definition_list():
    p = html_meta("<dl><dt>索引号：</dt><dd>FJ00123/2024-00007</dd><dt>发布日期：</dt><dd>2024年1月25日</dd></dl>")
    assert (p["provenance"]["index_no"], p["provenance"]["published_date"]) == ("FJ00123/2024-00007", "2024-01-25")


def test_byline_source_and_publish_time():
    p = html_meta("<div class='info'>来源：南平市生态环境局 发布时间：2024-01-19 09:30 浏览次数：12</div>")["provenance"]
    assert (p["publisher"], p["published_date"]) == ("南平市生态环境局", "2024-01-19")


def test_name_cell_is_the_title_and_gives_the_agency():
    m = html_meta(grid(["名称", "沭阳县发展和改革局2023年度政府信息公开工作报告"], ["索引号", "014314799/2024-00002"]),
                  head="<title>政府信息公开年报-沭阳县发改局</title>")
    assert (m["title"], m["agency"]) == ("沭阳县发展和改革局2023年度政府信息公开工作报告", "沭阳县发展和改革局")


def test_agency_from_publisher_when_the_title_names_none():
    m = html_meta(grid(["发布机构", "建瓯市人民政府"]) + "<h1>2023年政府信息公开工作年度报告</h1>")
    assert (m["title"], m["agency"]) == ("2023年政府信息公开工作年度报告", "建瓯市人民政府")


# --- titles: <title> suffixes, wordings, markdown ----------------------------------------------------------

@pytest.mark.parametrize("page_title", [
    "沭阳县发改局2023年政府信息公开工作年度报告-沭阳县发改局",
    "沭阳县发改局2023年政府信息公开工作年度报告_宿迁市人民政府",
    "沭阳县发改局2023年政府信息公开工作年度报告 - 中国沭阳",
    "沭阳县发改局2023年政府信息公开工作年度报告|沭阳县人民政府",
])
def test_page_title_loses_its_site_suffix(page_title):
    m = meta("正文", html=f"<html><head><title>{page_title}</title></head></html>")
    assert (m["title"], m["agency"]) == ("沭阳县发改局2023年政府信息公开工作年度报告", "沭阳县发改局")


def test_heading_in_content_beats_page_title():
    html = "<html><head><title>信息公开年报_福州市人民政府</title></head></html>"
    assert meta("福州市司法局2023年度政府信息公开工作报告\n正文", html=html)["title"] == (
        "福州市司法局2023年度政府信息公开工作报告")


@pytest.mark.parametrize("title, agency", [
    ("福州市司法局2023年政府信息公开工作年度报告", "福州市司法局"),
    ("福州市司法局2023年政府信息公开年度报告", "福州市司法局"),
    ("福州市司法局2023年度政府信息公开工作报告", "福州市司法局"),
    ("2023年度福州市司法局政府信息公开工作年度报告", "福州市司法局"),
    ("福州市司法局政府信息公开工作年度报告(2023年度)", "福州市司法局"),
    ("福州市司法局2023年政务公开工作年度报告", "福州市司法局"),
    ("福州市司法局2023年政府信息公开年报", "福州市司法局"),
])
def test_every_report_wording_is_a_title(title, agency):
    m = meta(f"{title}\n一、总体情况")
    assert (m["title"], m["agency"], m["year"]) == (title, agency, 2023)


def test_markdown_heading_mark_is_not_part_of_the_title():
    assert meta("# 清水县人民政府2023年政府信息公开年度报告\n## 一、总体情况")["title"] == (
        "清水县人民政府2023年政府信息公开年度报告")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["索引号", "x" * 3000, " ", "\u3000", "\n", "\r", "\r\n", "\n\n", "\x0c", "\u2028"]),
                max_size=80),
       st.integers(min_value=1, max_value=90))
def test_first_lines_are_the_first_non_blank_lines(pieces, n):
    text = "".join(pieces)
    assert _first_lines(text, n) == [ln for ln in text.splitlines() if ln.strip()][:n]
