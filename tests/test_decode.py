"""Tests for govcrawl/extract/decode.py on raw bytes saved in their original encodings."""

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govcrawl.extract.decode import Decoded, decode_body

DATA = Path(__file__).parent / "data" / "decode"


def load(name: str) -> tuple[bytes, dict[bytes, list[bytes]] | None]:
    """Body bytes plus, when saved, its response headers shaped like Scrapy's ``Headers``."""
    body = (DATA / f"{name}.html").read_bytes()
    headers_file = DATA / f"{name}.headers"
    if not headers_file.exists():
        return body, None
    headers: dict[bytes, list[bytes]] = {}
    for line in headers_file.read_bytes().splitlines()[1:]:  # skip the status line
        key, _, value = line.partition(b":")
        headers.setdefault(key.strip(), []).append(value.strip())
    return body, headers


# --- gb2312 label over GBK-only characters ---------------------------------

def test_gb2312_label_decodes_gbk_only_characters():
    body, headers = load("gb2312_label_gbk_chars")
    assert "联系人：王喆、李堃" in decode_body(body, headers).text


def test_gb2312_label_reports_gb18030():
    body, headers = load("gb2312_label_gbk_chars")
    assert decode_body(body, headers).encoding == "gb18030"


def test_gb2312_label_is_not_a_warning():
    body, headers = load("gb2312_label_gbk_chars")
    assert decode_body(body, headers).warnings == []


def test_gb2312_label_has_no_replacement_characters():
    body, headers = load("gb2312_label_gbk_chars")
    assert "\ufffd" not in decode_body(body, headers).text


# --- no charset anywhere ------------------------------------------------------

def test_short_gbk_page_without_charset_is_detected():
    body, headers = load("no_charset_short_gbk")
    assert "全年主动公开政府信息48条" in decode_body(body, headers).text


def test_short_gbk_page_without_charset_reports_gb18030():
    body, headers = load("no_charset_short_gbk")
    assert decode_body(body, headers).encoding == "gb18030"


@pytest.mark.parametrize("phrase", ["关于", "政府信息公开", "本年新收政府信息公开申请数量"])
def test_tiny_gbk_bodies_are_detected(phrase):
    assert decode_body(phrase.encode("gbk")).text == phrase


@pytest.mark.parametrize("phrase", ["中文", "政府信息公开", "本年新收政府信息公开申请数量"])
def test_tiny_utf8_bodies_are_detected(phrase):
    assert decode_body(phrase.encode("utf-8")).text == phrase


# --- the header lies ------------------------------------------------------------

def test_lying_utf8_header_over_gbk_body_decodes_correctly():
    body, headers = load("lying_header_gbk")
    assert "2020年梅河口市商务局政府信息公开工作年度报告" in decode_body(body, headers).text


def test_lying_utf8_header_is_reported():
    body, headers = load("lying_header_gbk")
    assert decode_body(body, headers).warnings == [
        "declared charset 'utf-8' (header) was wrong; decoded as gb18030"]


def test_lying_gbk_header_over_utf8_body_decodes_correctly():
    text = "2020年梅河口市商务局政府信息公开工作年度报告"
    decoded = decode_body(text.encode("utf-8"), {"Content-Type": "text/html; charset=GBK"})
    assert (decoded.text, decoded.encoding) == (text, "utf-8")


def test_latin1_label_over_gbk_body_decodes_correctly():
    body, _ = load("lying_header_gbk")
    decoded = decode_body(body, {"content-type": "text/html; charset=ISO-8859-1"})
    assert "梅河口市商务局" in decoded.text


def test_meta_overrides_a_lying_header_when_meta_is_right():
    body, _ = load("meta_http_equiv_gbk")
    decoded = decode_body(body, {"Content-Type": "text/html; charset=utf-8"})
    assert decoded.encoding == "gb18030"


# --- BOM, <meta> ----------------------------------------------------------------

def test_utf8_bom_page_decodes_without_bom():
    body, _ = load("utf8_bom")
    assert decode_body(body).text.startswith("<html><head><title>南充市科学技术局")


def test_utf8_bom_page_reports_utf8():
    body, _ = load("utf8_bom")
    assert decode_body(body).encoding == "utf-8"


def test_utf16_bom_wins_over_a_contradicting_header():
    body = "\ufeff索引号".encode("utf-16-le")
    assert decode_body(body, {"Content-Type": "text/html; charset=gbk"}).text == "索引号"


def test_meta_http_equiv_gbk_page_decodes():
    body, _ = load("meta_http_equiv_gbk")
    assert "发布机构：</TD><TD>市事管局" in decode_body(body).text


def test_meta_http_equiv_gbk_page_reports_gb18030():
    body, _ = load("meta_http_equiv_gbk")
    assert decode_body(body).encoding == "gb18030"


def test_meta_charset_attribute_is_read():
    body = '<meta charset="big5"><p>政府資訊公開年度報告，總計</p>'.encode("big5")
    assert decode_body(body).encoding == "big5hkscs"


# --- header shapes ----------------------------------------------------------------

def test_plain_dict_headers_are_case_insensitive():
    body, _ = load("gb2312_label_gbk_chars")
    assert decode_body(body, {"CONTENT-TYPE": "text/html; charset=gb2312"}).encoding == "gb18030"


def test_scrapy_style_bytes_headers_are_read():
    text = "政府資訊公開"
    body = text.encode("big5")
    assert decode_body(body, {b"Content-Type": [b"text/html; charset=big5"]}).text == text


def test_unknown_charset_label_warns_and_decodes():
    body, _ = load("no_charset_short_gbk")
    decoded = decode_body(body, {"Content-Type": "text/html; charset=x-klingon"})
    assert (decoded.encoding, decoded.warnings) == (
        "gb18030", ["unknown charset label 'x-klingon' (header) ignored"])


# --- hostile input ---------------------------------------------------------------

def test_empty_body_warns():
    assert decode_body(b"") == Decoded("", "utf-8", ["empty body"])


def test_random_bytes_give_text_and_a_warning():
    body = random.Random(20240101).randbytes(4096)
    decoded = decode_body(body, {"Content-Type": "text/html; charset=utf-8"})
    assert isinstance(decoded.text, str) and decoded.warnings


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([None, {}, {"Content-Type": "text/html; charset=gbk"},
                                                 {b"content-type": [b"text/html; charset=bogus"]}]))
def test_decode_body_never_raises(body, headers):
    assert isinstance(decode_body(body, headers).text, str)


def test_real_scrapy_headers_object_is_read():
    from scrapy.http import Headers

    headers = Headers({"Content-Type": "text/html; charset=utf-8"})
    assert decode_body("梅河口市商务局政府信息公开".encode("gbk"), headers).encoding == "gb18030"


# --- long pages: judged on a sample --------------------------------------------

_PROSE = "全市持续深化政务公开，推进决策、执行、管理、服务、结果公开，回应社会关切。"


def test_long_gbk_page_under_lying_utf8_header_decodes_correctly():
    page = "<html><body>" + "".join(f"<p>第{i}段：{_PROSE}</p>" for i in range(8000)) + "</body></html>"
    decoded = decode_body(page.encode("gbk"), {"Content-Type": "text/html; charset=utf-8"})
    assert decoded.text == page
    assert decoded.encoding == "gb18030"
    assert any("was wrong" in w for w in decoded.warnings)


def test_long_utf8_page_under_lying_gbk_meta_decodes_correctly():
    page = ('<html><head><meta charset="gbk"></head><body>'
            + "".join(f"<p>第{i}段：{_PROSE}</p>" for i in range(8000)) + "</body></html>")
    decoded = decode_body(page.encode("utf-8"))
    assert decoded.text == page
    assert decoded.encoding == "utf-8"


def test_undeclared_page_is_judged_on_chinese_after_a_long_ascii_preamble():
    # 150 KB of script before the first Chinese: the sample is searched for far enough.
    page = "<html><head><script>" + "var x = 1;\n" * 15000 + "</script></head><body><p>" + _PROSE * 20 + "</p></body></html>"
    decoded = decode_body(page.encode("gbk"))
    assert decoded.text == page
    assert decoded.encoding == "gb18030"


def test_plausibility_counts_common_hanzi_and_the_rest():
    from govcrawl.extract.decode import plausibility

    assert plausibility(_PROSE * 2000) == 1.0
    assert plausibility("") == 0.0 and plausibility("abc <p>") == 0.0
    # one U+FFFD (-5) among nine common hanzi (+1 each): (9 - 5) / 10
    assert plausibility("政府信息公开年度报\ufffd") == pytest.approx(0.4)
