"""OCR (govcrawl/extract/ocr.py): pictures of known tables in, every cell out.

The pictures are drawn from random template tables (``govcrawl.demo.images``,
Pillow + the CJK font ``make setup`` installs), so the gold is the tables the
picture was drawn from.  Each OCR'd picture costs seconds: the model tests
are few (a clean 2021 三 table, a 2019 image-only PDF, the same in a bold font and in WenQuanYi Zen Hei,
a rotated JPEG, a clean and a turned JPEG scan at 300 dpi) and
the geometry is tested without the model on boxes and drawn lines.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys

import pytest

from govcrawl.demo import images, render
from govcrawl.extract import extract_document, ocr
from govcrawl.extract.attachments import sniff_kind
from govcrawl.extract.layout import ROW_END
from govcrawl.extract.schema import validate_item
from govcrawl.extract import template as T

from tests.conftest import REPO, diff_values


def _valid(item: dict) -> dict:
    assert validate_item(item) == []
    return item


def _all_checks_hold(item: dict) -> None:
    assert item["checks"] and all(c["ok"] is True for c in item["checks"] if c["ok"] is not None), item["checks"]


# --------------------------------------------------------------------------- without the model


@pytest.mark.parametrize("fmt, kind", [("PNG", "png"), ("JPEG", "jpeg"), ("GIF", "gif"), ("BMP", "bmp"),
                                       ("TIFF", "tiff"), ("WEBP", "webp")])
def test_image_kinds_are_sniffed_from_bytes(fmt, kind):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format=fmt)
    body = out.getvalue()
    assert ocr.image_format(body) == kind
    assert sniff_kind(body, "text/html", "http://x/page.html") == "image"  # bytes beat the label


def test_text_starting_with_bm_is_not_a_bitmap():
    assert ocr.image_format("BMW 汽车".encode()) is None
    assert sniff_kind("BM 本年新收政府信息公开申请".encode(), "text/plain", "http://x/a.txt") == "text"


def _draw(lines, size=(600, 300)):
    """A picture of ruling lines only: (x0, y0, x1, y1) segments."""
    import cv2
    import numpy as np

    image = np.full((size[1], size[0]), 255, np.uint8)
    for x0, y0, x1, y1 in lines:
        cv2.line(image, (x0, y0), (x1, y1), 0, 2)
    return image


def test_ruled_table_cells_and_merged_cells_from_lines():
    # 3 rows × 4 columns; row 0 spans all columns; the first column spans rows 1-2.
    xs, ys = [50, 200, 300, 400, 550], [50, 100, 150, 200]
    lines = [(50, y, 550, y) for y in (50, 100, 200)] + [(200, 150, 550, 150)]
    lines += [(50, 50, 50, 200), (550, 50, 550, 200)] + [(x, 100, x, 200) for x in xs[1:-1]]
    tables = ocr._find_tables(_draw(lines), text_height=20)
    assert len(tables) == 1
    table = tables[0]
    assert [round(y) for y in table.rows] == ys and [round(x) for x in table.cols] == xs
    owners = {cell: owner for cell, owner in table.owner.items()}
    assert {owners[(0, c)] for c in range(4)} == {(0, 0)}  # the title row is one cell
    assert owners[(2, 0)] == (1, 0)  # the label spans two rows
    assert owners[(2, 1)] == (2, 1) and owners[(1, 3)] == (1, 3)
    boxes = [ocr._Box(60, 60, 300, 90, "第二十条第(一)项"), ocr._Box(60, 140, 190, 160, "规章"),
             ocr._Box(210, 110, 290, 140, "1"), ocr._Box(410, 160, 540, 190, "11")]
    grid, _ = ocr._table_grid(table, boxes)
    assert grid == [["第二十条第(一)项", None, None, None], ["规章", "1", "", ""], [None, "", "", "11"]]


def test_borderless_rows_keep_blank_cells_in_their_columns():
    def box(x, y, text):
        return ocr._Box(x, y, x + 40, y + 20, text)

    lines = [
        [box(10, 10, "一、总体情况")],
        [box(10, 50, "本年新收"), box(200, 50, "3"), box(300, 50, "1"), box(400, 50, "4")],
        [box(10, 90, "上年结转"), box(200, 90, "2"), box(400, 90, "2")],  # middle cell blank
        [box(10, 130, "办理结果"), box(300, 130, "5"), box(400, 130, "5")],  # first cell blank
        [box(10, 170, "五、存在的主要问题")],
    ]
    blocks = ocr.rows_from_lines(lines)
    assert [(kind, value) for _, kind, value in blocks] == [
        ("text", "一、总体情况"),
        ("grid", [["本年新收", "3", "1", "4"]]),
        ("grid", [["上年结转", "2", "", "2"]]),
        ("grid", [["办理结果", "", "5", "5"]]),
        ("text", "五、存在的主要问题"),
    ]


def test_a_zero_read_as_a_letter_is_a_zero_and_counts_as_unsure():
    cell = ocr._as_number(ocr._Cell("o", 0.9), [ocr._Box(0, 0, 9, 9, "o", 0.9)])
    assert (cell.text, cell.read_as) == ("0", "o") and cell.score < ocr.UNSURE_BELOW
    # a stray dot is a number only when the digits-only decoding of the same scores says so
    dot = ocr._Box(0, 0, 9, 9, "。", 0.97, digits=("0", 0.4))
    cell = ocr._as_number(ocr._Cell("。", 0.97), [dot])
    assert (cell.text, cell.read_as, cell.score) == ("0", "。", 0.4)
    assert ocr._as_number(ocr._Cell("。", 0.97), [ocr._Box(0, 0, 9, 9, "。", 0.97)]).text == "。"
    assert ocr._as_number(ocr._Cell("其他", 0.9), []).text == "其他"


def test_a_cell_with_ink_but_no_number_read_is_read_again_from_its_ink(monkeypatch):
    """A ruled cell read as '。' (or nothing a number) is read once more from its ink alone, with white around
    it; the new reading is kept only when it is a number.  A word, a number and a blank cell are not re-read."""
    import cv2

    xs, y0, y1 = [50, 200, 300, 400, 500, 600], 50, 100
    gray = _draw([(50, y, 600, y) for y in (y0, y1)] + [(x, y0, x, y1) for x in xs])
    for x in xs[:4]:  # a ring in each of the first four cells; the fifth is blank
        cv2.ellipse(gray, ((x + xs[xs.index(x) + 1]) // 2, 75), (5, 8), 0, 0, 360, 0, 2)
    table = ocr._find_tables(gray, text_height=20)[0]
    image = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)

    def box(x, text, digits=None):
        return ocr._Box(x + 35, 62, x + 65, 90, text, 0.9, room=table.inside(table.cell_of(x + 50, 75)),
                        digits=digits)

    crops, rereads = [], {1: "0", 2: "。"}  # column → what the ink alone reads as

    def fake_read(box, crop):
        crops.append(crop)
        column = table.cell_of(box.cx, box.cy)[1]
        box.text, box.score, box.digits = rereads.get(column, "?"), 0.93, None

    monkeypatch.setattr(ocr, "_scores_alone", lambda crop: crop)
    monkeypatch.setattr(ocr, "_read_into", fake_read)
    boxes = [box(50, "规章"), box(200, "。"), box(300, "。"), box(400, "12")]
    grid, _ = ocr._table_grid(table, ocr._reread_from_ink(image, gray, table, boxes, text_height=20))
    assert grid == [["规章", "0", "。", "12", ""]]
    assert len(crops) == 2  # only the two cells read as no number
    for crop in crops:  # the ring (19 × 13 px) and white around it, no piece of a ruling line
        assert crop[0].min() == crop[-1].min() == crop[:, 0].min() == crop[:, -1].min() == 255
        assert 19 < crop.shape[0] < 35 and 13 < crop.shape[1] < 30, crop.shape


def test_a_thin_digit_is_ink_and_a_speck_or_a_piece_of_ruling_line_is_not():
    import numpy as np

    inside = (0, 0, 60, 40)  # a cell's inside; text lines 28 px high

    def cell(*strokes):
        gray = np.full((40, 60), 255, np.uint8)
        for x0, y0, x1, y1 in strokes:
            gray[y0:y1, x0:x1] = 0
        return gray

    seven = cell((25, 13, 33, 14), (31, 14, 32, 27))  # a light 7 at 150 dpi: 21 pixels, 14 high
    assert ocr._ink_bounds(seven, inside, 28) == (25, 13, 33, 27)
    assert ocr._ink_bounds(cell((28, 18, 32, 21)), inside, 28) is None  # a speck of 12 pixels
    assert ocr._ink_bounds(cell((2, 10, 3, 30)), inside, 28) is None  # a sliver of ruling line at the side
    assert ocr._ink_bounds(cell(), inside, 28) is None


def test_ocr_off_keeps_todays_warnings(monkeypatch):
    monkeypatch.setenv("GOVCRAWL_OCR", "0")
    picture = images.png(images.section_image(_tables("2021", 3), fmt="2021", section="review_litigation", dpi=60))
    item = _valid(extract_document(picture, "http://127.0.0.1/r.png"))
    assert item["tables"] == {} and any("OCR is off" in w for w in item["warnings"])
    scan = images.image_pdf([images.section_image(_tables("2021", 3), fmt="2021", section="review_litigation",
                                                  dpi=60)], dpi=60)
    item = _valid(extract_document(scan, "http://127.0.0.1/r.pdf"))
    assert item["tables"] == {} and any("no text layer" in w for w in item["warnings"])


def test_content_images_of_a_report_page_in_page_order():
    from scrapy.http import HtmlResponse

    from govcrawl.report_images import content_image_urls

    html = """<html><body><div class="header"><img src="/img/logo.png"></div>
      <div class="nav"><img src="/img/banner1.jpg"></div>
      <div class="content"><div class="article"><h1>某县2023年政府信息公开工作年度报告（图片版）</h1>
        <div class="TRS_Editor"><p><img src="./W1.png"></p><p><img src="/img/ewm.png"></p>
        <p><img data-src="W2.jpg" src="loading.gif"></p><p><img src="W3.png" width="16" height="16"></p>
        <p><img src="./W1.png"></p></div></div>
        <div class="side"><img src="/ad/side.jpg"></div></div></body></html>"""
    response = HtmlResponse("http://127.0.0.1/xxgk/t1.html", body=html.encode(), encoding="utf-8")
    assert content_image_urls(response) == ["http://127.0.0.1/xxgk/W1.png", "http://127.0.0.1/xxgk/W2.jpg"]
    assert content_image_urls(response, limit=1) == ["http://127.0.0.1/xxgk/W1.png"]


# --------------------------------------------------------------------------- with the model


def _tables(fmt: str, seed: int, blanks: bool = False) -> dict:
    return render.random_tables(random.Random(seed), fmt, blanks=blanks)


def _wrong_cells(expected: dict, actual: dict) -> list[tuple[str, str, str]]:
    """(section, row, column) of every cell that differs."""
    out = []
    for section, rows in expected.items():
        for row, cells in rows.items():
            for column, value in cells.items():
                if (actual.get(section) or {}).get(row, {}).get(column, "missing") != value:
                    out.append((section, row, column))
    return out


def test_clean_2021_applications_picture_every_cell_right():
    tables = _tables("2021", 11)
    only = {"applications": tables["applications"]}
    picture = images.png(images.section_image(tables, fmt="2021", section="applications"))
    item = _valid(extract_document(picture, "http://127.0.0.1/apps.png"))
    assert diff_values(only, item["tables"]) == []
    assert item["provenance"]["reader"] == "ocr"
    assert any(w.startswith("tables read by OCR from 1 image in ") and "lowest cell confidence" in w
               for w in item["warnings"]), item["warnings"]
    _all_checks_hold(item)


def test_image_only_pdf_of_a_2019_report_reads_every_cell(tmp_path):
    tables = _tables("2019", 5, blanks=True)  # blank cells: fewer boxes to read, and blanks must stay null
    pages = images.report_pages(tables, fmt="2019", title="示例市人民政府2020年政府信息公开工作年度报告", dpi=150)
    assert len(pages) == 2  # the 三 table goes on over the second page
    scan = images.image_pdf(pages, dpi=150)
    path = tmp_path / "scan.pdf"
    path.write_bytes(scan)
    # the CLI reads a scan the same way as the crawl
    proc = subprocess.run([sys.executable, "-m", "govcrawl.extract", str(path), "--compact"], cwd=REPO,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    item = _valid(json.loads(proc.stdout))
    assert item["format"] == "2019" and item["year"] == 2020
    assert diff_values(tables, item["tables"]) == []
    assert item["provenance"]["reader"] == "ocr"
    assert any("PDF has no text layer (2 pages): read by OCR" in w for w in item["warnings"])
    assert any(w.startswith("tables read by OCR from 2 PDF pages") for w in item["warnings"])
    _all_checks_hold(item)


@pytest.mark.parametrize("font, seed", [("sans-bold", 11), ("zenhei", 7)])
def test_clean_scan_in_another_font_every_cell_right(font, seed):
    """Bold and WenQuanYi glyphs of a lone 0 or a thin 7 the recogniser called 。 or nothing (cells lost
    before the ink of such a cell was read again alone); a 2019 report at 150 dpi, every cell right."""
    tables = _tables("2019", seed)
    pages = images.report_pages(tables, fmt="2019", title="示例县人民政府2020年政府信息公开工作年度报告", dpi=150,
                                font=font)
    item = _valid(extract_document(images.image_pdf(pages, dpi=150), f"http://127.0.0.1/{font}.pdf"))
    assert _wrong_cells(tables, item["tables"]) == [], item["warnings"]
    _all_checks_hold(item)


def test_rotated_jpeg_every_cell_right_or_flagged():
    tables = _tables("2021", 23)
    picture = images.degrade(images.section_image(tables, fmt="2021", section="applications"),
                             angle=0.8, jpeg_quality=55)
    item = _valid(extract_document(images.jpeg(picture, quality=90), "http://127.0.0.1/scan.jpg"))
    unsure = " ".join(w for w in item["warnings"] if w.startswith("OCR unsure") or w.startswith("applications."))
    labels = {key: label for key, _, label in T.APPLICATION_ROWS["2021"]}
    for _, row, column in _wrong_cells({"applications": tables["applications"]}, item["tables"]):
        # a wrong cell is named in the warnings by its row: the row label OCR read, or the row key
        assert labels[row][2:8] in unsure or f"applications.{row}" in unsure, (row, column, item["warnings"])
    assert item["provenance"]["reader"] == "ocr"
    assert {c["rule"] for c in item["checks"]} >= {"applications_balance", "applications_row_totals"}


def test_image_only_pdf_at_300_dpi_every_cell_right():
    """A clean 300 dpi scan (a 2021 三 table, 2480 px wide) reads like the 150 dpi ones."""
    tables = _tables("2021", 31)
    only = {"applications": tables["applications"]}
    scan = images.image_pdf([images.section_image(tables, fmt="2021", section="applications", dpi=300)], dpi=300)
    item = _valid(extract_document(scan, "http://127.0.0.1/scan300.pdf"))
    assert diff_values(only, item["tables"]) == []
    assert item["provenance"]["reader"] == "ocr"
    _all_checks_hold(item)


def test_turned_jpeg_scan_in_an_image_only_pdf_at_300_dpi_right_or_flagged():
    """Pages turned on the glass and saved as lossy JPEG, then put in a PDF at 300 dpi.  The issue asks
    "right or flagged"; at 300 dpi every cell of this scan is right, so that is what is asserted (a
    wrong cell must at least be named in the warnings, which the message shows)."""
    tables = _tables("2019", 41)
    pages = [images.degrade(page, angle=-0.6, jpeg_quality=60)
             for page in images.report_pages(tables, fmt="2019", title="示例县人民政府2020年政府信息公开工作年度报告",
                                             dpi=300)]
    item = _valid(extract_document(images.image_pdf(pages, dpi=300), "http://127.0.0.1/turned300.pdf"))
    assert item["provenance"]["reader"] == "ocr" and item["format"] == "2019"
    assert _wrong_cells(tables, item["tables"]) == [], item["warnings"]
    assert any(w.startswith("tables read by OCR from 2 PDF pages") for w in item["warnings"])
    _all_checks_hold(item)


def test_page_cap_stops_ocr_and_says_so(monkeypatch):
    monkeypatch.setenv("GOVCRAWL_OCR_MAX_PAGES", "1")
    tables = _tables("2021", 3, blanks=True)
    small = [images.png(images.section_image(tables, fmt="2021", section="review_litigation")),
             images.png(images.section_image(tables, fmt="2021", section="active_disclosure"))]
    layout = ocr.layout_from_images(small)
    assert any("cap of 1 image" in w and "1 not read" in w for w in layout.warnings), layout.warnings
    assert "行政复议" in layout.tokens and "行政许可" not in layout.tokens
    assert layout.tokens.count(ROW_END) >= 4


def _mixed_pdf(tables: dict, fmt: str) -> tuple[bytes, int]:
    """A text PDF of sections 二 and 三 with a scanned page of section 四 after it; (PDF, the scan's page number)."""
    import pypdfium2 as pdfium

    from tests.pdf_reports import report_pdf

    text = report_pdf({k: v for k, v in tables.items() if k != "review_litigation"}, fmt=fmt,
                      title="示例县人民政府2022年政府信息公开工作年度报告")
    scan = images.image_pdf([images.section_image(tables, fmt=fmt, section="review_litigation")], dpi=150)
    document = pdfium.PdfDocument(text)
    document.import_pages(pdfium.PdfDocument(scan))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), len(document)


def test_scanned_page_of_a_text_pdf_is_read_by_ocr_where_it_stands():
    tables = _tables("2021", 31, blanks=True)
    body, scan_page = _mixed_pdf(tables, "2021")
    item = _valid(extract_document(body, "http://127.0.0.1/mixed.pdf"))
    assert diff_values(tables, item["tables"]) == []
    assert item["provenance"]["reader"] == "ocr"  # a table came from the scanned page
    assert f"PDF page {scan_page} of {scan_page} only images, no text layer: read by OCR" in item["warnings"]
    assert any(w.startswith("tables read by OCR from 1 PDF page in ") for w in item["warnings"]), item["warnings"]
    _all_checks_hold(item)


def test_scanned_page_of_a_text_pdf_with_ocr_off_is_named(monkeypatch):
    monkeypatch.setenv("GOVCRAWL_OCR", "0")
    tables = _tables("2021", 31, blanks=True)
    body, scan_page = _mixed_pdf(tables, "2021")
    item = _valid(extract_document(body, "http://127.0.0.1/mixed.pdf"))
    assert "review_litigation" not in item["tables"] and item["tables"]["applications"] == tables["applications"]
    assert item["provenance"]["reader"] == "pdf"
    assert any(f"PDF page {scan_page} of {scan_page} only images" in w and "OCR is off" in w
               for w in item["warnings"]), item["warnings"]
