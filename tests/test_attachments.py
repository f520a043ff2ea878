"""Attachments: sniffing the kind from bytes, and Word table grids with merged cells."""

from __future__ import annotations

import io

import pytest

from govcrawl.extract.attachments import layout_from_docx, sniff_kind
from govcrawl.extract.layout import ROW_END


@pytest.mark.parametrize(
    "body, ctype, url, kind",
    [
        (b"%PDF-1.7\n...", None, "http://x/a.html", "pdf"),  # bytes beat the name
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", None, "http://x/a", "doc"),
        (b"<html><body>x</body></html>", "application/octet-stream", "http://x/a.pdf", "pdf"),
        (b"<!DOCTYPE html><html>", None, "http://x/a", "html"),
        (b"\xe4\xb8\x80\xe3\x80\x81\xe6\x80\xbb\xe4\xbd\x93", "text/plain", "http://x/a.txt", "text"),
        (b"PK\x03\x04not a zip", None, "http://x/a.zip", "binary"),
    ],
)
def test_sniff_kind(body, ctype, url, kind):
    assert sniff_kind(body, ctype, url) == kind


def test_docx_merged_cells_appear_once_and_paragraphs_stay_in_order():
    import docx

    document = docx.Document()
    document.add_paragraph("二、主动公开政府信息情况")
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "第二十条第(五)项"
    table.cell(1, 0).text = "信息内容"
    table.cell(1, 1).merge(table.cell(1, 2)).text = "本年处理决定数量"
    table.cell(2, 0).text = "行政许可"
    table.cell(2, 1).merge(table.cell(2, 2)).text = "550"
    document.add_paragraph("三、收到和处理政府信息公开申请情况")
    out = io.BytesIO()
    document.save(out)
    layout = layout_from_docx(out.getvalue())
    assert layout.tokens == [
        "二、主动公开政府信息情况",
        "第二十条第(五)项", ROW_END,
        "信息内容", "本年处理决定数量", ROW_END,
        "行政许可", "550", ROW_END,
        "三、收到和处理政府信息公开申请情况",
    ]


def test_broken_docx_is_a_warning():
    layout = layout_from_docx(b"PK\x03\x04" + b"\x00" * 100)
    assert layout.tokens == [] and "DOCX could not be opened" in layout.warnings[0]
