"""extract_document on the inputs the gold files do not cover, and on inputs that must not break it."""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcrawl.demo.render import random_tables, render_report_html
from govcrawl.demo.site import docx_report
from govcrawl.extract import NOT_A_REPORT, extract_document, is_report
from govcrawl.extract.schema import validate_item
from tests.shared_data import SHARED

DATA = Path(__file__).parent / "data" / "extract"
REPO = Path(__file__).resolve().parents[1]


def _valid(item: dict) -> dict:
    assert validate_item(item) == []
    return item


# --------------------------------------------------------------------------- layouts and encodings


def test_official_2021_html_template_in_gbk_reads_tables_and_metadata():
    expected = json.loads((DATA / "template_2021_gbk.expected.json").read_text(encoding="utf-8"))
    body = (DATA / "template_2021_gbk.html").read_bytes()
    item = _valid(extract_document(body, "http://127.0.0.1/a.html", {"Content-Type": "text/html; charset=gb2312"}))
    assert item["tables"] == expected["tables"]
    assert item["format"] == "2021"
    assert (item["year"], item["agency"]) == (expected["year"], expected["agency"])
    assert {k: item["provenance"][k] for k in expected["provenance"]} == expected["provenance"]
    assert item["provenance"]["encoding"] == "gb18030"


@pytest.mark.parametrize("name, reader", [
    ("seeds/000_81d7a68a0bd34fe9.txt", "text"), ("real/hongze_2024.pdf", "pdf")])
def test_reader_names_the_document_kind_and_archive_is_off(name, reader):
    item = _valid(extract_document((SHARED / name).read_bytes(), f"https://example.gov.cn/{name}"))
    assert (item["provenance"]["reader"], item["provenance"]["archive"]) == (reader, None)


def test_reader_is_null_without_tables():
    item = _valid(extract_document("<p>2023年政府信息公开工作年度报告</p>".encode(), "https://x.gov.cn/a.html"))
    assert (item["tables"], item["provenance"]["reader"]) == ({}, None)


# Hand-built pages in the shapes real portals use; the expected values are the ones the pages were built from.
# jiangsu_grid_split_2023.html: Hanweb-style page, provenance in a 4-column label/value grid (blank 文号 and
# 关键词), <title> with a "-站点" suffix, the 工作报告 wording, section 三 as six row-group tables with generic
# 数据1…数据6 headers and a misleading header row in the middle, section 四 as a 行政复议 and a 行政诉讼 table
# under sub-headings, prose that agrees with the tables.
# county_report_2023.md: a markdown copy with a 6-column metadata grid, "# " title without 工作, pipe tables,
# the split shapes, and prose whose 办结 figure disagrees with the table.
FIXTURES = {
    "jiangsu_grid_split_2023.html": "https://www.shuyang.gov.cn/syfgj/xxgknb/content/art_1.html",
    "county_report_2023.md": "https://www.qingshui.gov.cn/xxgk/nb/2023.md",
}


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def fixture_page(request):
    name = request.param
    expected = json.loads((DATA / name).with_suffix(".expected.json").read_text(encoding="utf-8"))
    return _valid(extract_document((DATA / name).read_bytes(), FIXTURES[name])), expected


def test_fixture_metadata(fixture_page):
    item, expected = fixture_page
    fields = ("title", "agency", "year", "format")
    got = {k: item[k] for k in fields} | {"provenance": {k: item["provenance"][k] for k in expected["provenance"]}}
    assert got == {k: expected[k] for k in (*fields, "provenance")}


def test_fixture_tables_from_every_piece(fixture_page):
    item, expected = fixture_page
    assert item["tables"] == expected["tables"]
    assert item["warnings"] == []


def test_fixture_arithmetic_checks_hold(fixture_page):
    item, _ = fixture_page
    assert [c["ok"] for c in item["checks"][:4]] == [True, True, True, True]


def test_narrative_agreeing_with_split_tables():
    item = extract_document((DATA / "jiangsu_grid_split_2023.html").read_bytes(), FIXTURES["jiangsu_grid_split_2023.html"])
    check = item["checks"][-1]
    assert check["ok"] is True
    assert "“全年共收到政府信息公开申请749件” 749, applications.new_requests.total = 749" in check["detail"]
    assert "review_litigation.litigation_direct.total + litigation_after_review.total = 2" in check["detail"]


def test_narrative_disagreeing_in_markdown_is_reported_not_fixed():
    item = extract_document((DATA / "county_report_2023.md").read_bytes(), FIXTURES["county_report_2023.md"])
    assert item["checks"][-1] == {"rule": "narrative_matches_tables", "ok": False,
                                  "detail": "“办结388件” 388, applications.total_handled.total = 387"}
    assert item["tables"]["applications"]["total_handled"]["total"] == 387


@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_docx_word_tables_with_merged_cells(fmt):
    tables = random_tables(random.Random(7), fmt, blanks=True)
    body = docx_report(tables, fmt=fmt, title=f"某县人民政府{2020 if fmt == '2019' else 2022}年政府信息公开工作年度报告")
    item = _valid(extract_document(body, "http://127.0.0.1/report.docx"))
    assert item["tables"] == tables
    assert item["format"] == fmt
    assert item["provenance"]["encoding"] is None  # not decoded from bytes as text
    assert item["provenance"]["reader"] == "docx"


def test_traditional_page_with_ruby_markup_reads_like_simplified():
    import opencc

    tables = random_tables(random.Random(11), "2019")
    html = render_report_html(tables, fmt="2019", title="某市商务局2020年政府信息公开工作年度报告")
    html = opencc.OpenCC("s2t").convert(html)
    # Pinyin annotations as real sites emit them, on the labels the reader matches.
    html = html.replace("處理", "<ruby>處<rp>(</rp><rt>chǔ</rt><rp>)</rp></ruby><ruby>理<rp>(</rp><rt>lǐ</rt><rp>)</rp></ruby>")
    html = html.replace("當", "<ruby>當<rt>dāng</rt></ruby>")
    assert "<ruby>" in html and "處" in html
    item = _valid(extract_document(html.encode("utf-8"), "http://127.0.0.1/r.html"))
    assert item["tables"] == tables
    assert item["title"] == "某市商务局2020年政府信息公开工作年度报告"


def test_literal_pinyin_residue_in_text_is_removed_but_numbered_items_stay():
    tables = random_tables(random.Random(3), "2019")
    html = render_report_html(tables, fmt="2019", title="某区2020年政府信息公开工作年度报告", layout="cell_per_line")
    html = html.replace("申请", "申(shēn)请(qǐng)")
    item = _valid(extract_document(html.encode("utf-8"), "http://127.0.0.1/r.html"))
    assert item["tables"] == tables


def test_table_split_over_several_html_tables():
    tables = random_tables(random.Random(5), "2021")
    html = render_report_html(tables, fmt="2021", title="某市2022年政府信息公开工作年度报告")
    # Cut the applications table in two after its 10th row, as CMS editors and page breaks do.
    start = html.index("<table", html.index("三、收到和处理"))
    rows = [m.end() for m in re.finditer(r"</tr>", html[start:])]
    cut = start + rows[9]
    html = html[:cut] + "</tbody></table><p>(续表)</p><table><tbody>" + html[cut:]
    item = _valid(extract_document(html.encode("utf-8"), "http://127.0.0.1/r.html"))
    assert item["tables"] == tables


def test_page_with_no_charset_anywhere_in_gbk():
    tables = random_tables(random.Random(9), "2019")
    html = render_report_html(tables, fmt="2019", title="某镇2020年政府信息公开工作年度报告")
    html = html.replace('<meta http-equiv="Content-Type" content="text/html; charset=utf-8">', "")
    item = _valid(extract_document(html.encode("gbk"), "http://127.0.0.1/r.html", {"Content-Type": "text/html"}))
    assert item["tables"] == tables
    assert item["provenance"]["encoding"] == "gb18030"


def test_real_pdf_keeps_its_tables_when_served_without_a_pdf_name():
    body = (SHARED / "real" / "huaian_2024.pdf").read_bytes()
    gold = json.loads((SHARED / "real" / "huaian_2024.gold.json").read_text(encoding="utf-8"))
    item = _valid(extract_document(body, "http://127.0.0.1/download?id=1", {"Content-Type": "application/octet-stream"}))
    assert item["tables"] == gold["tables"]


# --------------------------------------------------------------------------- inputs that must not break it


def test_empty_file_is_not_a_report():
    item = _valid(extract_document(b"", "http://127.0.0.1/empty.html"))
    assert not is_report(item)
    assert item["tables"] == {} and item["format"] is None
    assert "empty document" in item["warnings"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_give_a_valid_item(body):
    item = _valid(extract_document(body, "http://127.0.0.1/x"))
    assert item["warnings"], "random bytes are never a clean report"


@pytest.mark.parametrize("prefix", [b"%PDF-1.7\n", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_random_bytes_behind_a_document_signature(prefix):
    body = prefix + random.Random(1).randbytes(5000)
    item = _valid(extract_document(body, "http://127.0.0.1/x"))
    assert not is_report(item) and item["warnings"]


def test_truncated_pdf_gives_a_warning_not_an_exception():
    body = (SHARED / "real" / "hongze_2024.pdf").read_bytes()
    item = _valid(extract_document(body[: len(body) // 3], "http://127.0.0.1/r.pdf"))
    assert any("PDF" in w for w in item["warnings"])


def test_image_only_pdf_says_it_has_no_text_layer():
    # A one-page PDF whose only content is a filled rectangle: what a scan looks like to a text reader.
    content = b"0 0 1 rg 100 100 400 600 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    item = _valid(extract_document(out.getvalue(), "http://127.0.0.1/scan.pdf"))
    assert any("no text layer" in w and "OCR" in w for w in item["warnings"])
    assert not is_report(item)


def test_legacy_doc_is_read_best_effort_with_a_warning():
    text = "某县2021年政府信息公开工作年度报告\r二、主动公开政府信息情况\r".encode("utf-16-le")
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512 + text + b"\x00" * 64
    item = _valid(extract_document(body, "http://127.0.0.1/r.doc"))
    assert item["title"] == "某县2021年政府信息公开工作年度报告"
    assert any("legacy .doc" in w for w in item["warnings"])


def test_fifty_megabyte_page_is_read_up_to_the_limit():
    tables = random_tables(random.Random(50), "2021")
    page = render_report_html(tables, fmt="2021", title="某市2023年政府信息公开工作年度报告").encode("utf-8")
    filler = "<p>政务公开 filler paragraph</p>\n".encode("utf-8") * 1_600_000
    body = page.replace(b"</body>", filler + b"</body>")
    assert len(body) > 50_000_000
    item = _valid(extract_document(body, "http://127.0.0.1/big.html"))
    assert item["tables"] == tables
    assert any("only the first" in w for w in item["warnings"])


def test_page_that_is_not_a_report():
    html = ("<html><head><meta charset='utf-8'><title>市政府召开常务会议</title></head><body>"
            "<h1>市政府召开常务会议</h1><p>会议研究了2024年政务公开工作要点。</p><p>行政许可 12 件</p></body></html>")
    item = _valid(extract_document(html.encode("utf-8"), "http://127.0.0.1/news.html"))
    assert not is_report(item)
    assert item["warnings"][0] == NOT_A_REPORT


# --------------------------------------------------------------------------- CLI


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govcrawl.extract", *args], cwd=REPO, input=stdin,
                          capture_output=True, timeout=120)


def test_cli_prints_readable_json_for_a_report():
    path = SHARED / "seeds" / "004_4e03c627188b75d8.txt"
    done = _cli(str(path), "--url", "https://www.nanchong.gov.cn/r.html")
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode("utf-8")
    assert "南充市科学技术局" in out and "\\u" not in out
    item = json.loads(out)
    assert item["url"] == "https://www.nanchong.gov.cn/r.html" and item["year"] == 2019


def test_cli_exit_codes_for_non_report_and_missing_file(tmp_path):
    page = tmp_path / "news.html"
    page.write_text("<html><body><p>通知</p></body></html>", encoding="utf-8")
    done = _cli(str(page), "--compact")
    assert done.returncode == 3
    assert json.loads(done.stdout)["warnings"][0] == NOT_A_REPORT
    missing = _cli(str(tmp_path / "nope.pdf"))
    assert missing.returncode == 2 and b"no such file" in missing.stderr


def test_pdf_title_metadata_in_utf16le_is_repaired():
    from govcrawl.extract.pdf import layout_from_pdf

    body = (SHARED / "real" / "hongze_2023.pdf").read_bytes()
    assert b"/Title (\\377\\376" in body  # UTF-16LE with a BOM, which the PDF spec does not allow
    assert layout_from_pdf(body).document_title == "洪泽区人民政府2023年政府信息公开工作年度报告"


def test_pdf_title_metadata_is_a_fallback_only_for_a_report_title():
    from govcrawl.extract.metadata import extract_metadata

    text = "一、总体情况\n本年度我区政务公开工作……"
    meta = extract_metadata(text, document_title="洪泽区人民政府2023年政府信息公开工作年度报告")
    assert (meta["title"], meta["agency"], meta["year"]) == ("洪泽区人民政府2023年政府信息公开工作年度报告", "洪泽区人民政府", 2023)
    assert extract_metadata(text, document_title="政府信息公开工作年度报告")["title"] is None


def test_report_tables_nested_in_a_page_layout_table():
    """Old CMS templates put the whole article in a layout <table>; only leaf tables are data."""
    tables = random_tables(random.Random(13), "2021", blanks=True)
    html = render_report_html(tables, fmt="2021", title="某县人民政府2022年政府信息公开工作年度报告")
    body_start = html.index("<body>") + len("<body>")
    body_end = html.index("</body>")
    html = (html[:body_start] + '<table width="100%"><tr><td class="nav">首页 &gt; 信息公开</td></tr><tr><td>'
            + html[body_start:body_end] + "</td></tr></table>" + html[body_end:])
    item = _valid(extract_document(html.encode("utf-8"), "http://127.0.0.1/r.html"))
    assert item["tables"] == tables
