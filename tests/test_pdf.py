"""The PDF reader (govcrawl/extract/pdf.py) on PDFs generated here: grids, merged cells, page breaks, fonts.

The real PDFs are covered cell for cell by test_gold.py; these PDFs vary one
thing each (how the CJK font is embedded, page rotation, rules inside a form
XObject, scanned pages) on reports whose tables we know.  The table finder's
ruling-line rules (snap, join, reach of a crossing, merged cells) are tested on
rules given directly.
"""

from __future__ import annotations

import dataclasses
import random

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from govcrawl.demo.render import random_tables
from govcrawl.demo.site import PdfLook, pdf_report
from govcrawl.extract import extract_document, is_report
from govcrawl.extract.layout import ROW_END
from govcrawl.extract.pdf import _find_tables, _page_edges, _PageText, _realign, _upright, layout_from_pdf
from tests.pdf_reports import EMBEDDINGS, grid_pdf, report_pdf, scanned_pdf

TITLE = "某县人民政府2022年政府信息公开工作年度报告"


def _page_texts(body: bytes) -> list[str]:
    document = pdfium.PdfDocument(body)
    return [page.get_textpage().get_text_range() for page in document]


@pytest.mark.parametrize("fmt", ["2019", "2021"])
@pytest.mark.parametrize("embedding", EMBEDDINGS)
def test_report_reads_back_its_tables_whatever_the_font_embedding(embedding, fmt):
    tables = random_tables(random.Random(len(embedding) + int(fmt)), fmt, blanks=True)
    body = report_pdf(tables, fmt=fmt, title=TITLE, embedding=embedding, split_before="三、本年度办理结果")
    pages = _page_texts(body)
    # The applications table starts on one page and goes on at the top of the next.
    split = next(i for i, text in enumerate(pages) if "上年结转" in text)
    assert "予以公开" not in pages[split] and "予以公开" in pages[split + 1]

    item = extract_document(body, "http://127.0.0.1/r.pdf")
    assert item["tables"] == tables
    assert (item["title"], item["agency"], item["year"], item["format"]) == (TITLE, "某县人民政府", 2022, fmt)
    assert item["warnings"] == []


def test_tables_read_back_on_pages_laid_out_many_ways():
    """Page size, margins, type size, padding, rule weight, a heavier frame and column widths drawn at random:
    the tables come back cell for cell, and no two of these PDFs put their grid on the same lines."""
    first_rules = set()
    for i in range(12):
        rng = random.Random(f"look-{i}")
        look = PdfLook.random(rng)
        fmt = "2021" if i % 2 else "2019"
        tables = random_tables(rng, fmt, blanks=i % 3 == 0)
        body = pdf_report(tables, fmt=fmt, title=TITLE, font="embedded" if i % 4 else "cid", look=look)
        item = extract_document(body, "http://127.0.0.1/r.pdf")
        assert item["tables"] == tables, look
        assert item["format"] == fmt and item["warnings"] == [], look
        page = pdfium.PdfDocument(body)[0]
        xs = sorted({round(obj.get_bounds()[0], 1) for obj in page.get_objects([pdfium_c.FPDF_PAGEOBJ_PATH])})
        first_rules.add((round(page.get_width()), tuple(xs[:3])))
    assert len(first_rules) == 12


@pytest.mark.parametrize("look", [
    PdfLook(open_sides=True),
    PdfLook(open_sides=True, box_width=1.5, centered=True, margins=(50, 40, 60, 40), column_weights=(1.2, 0.9)),
    # a grey header band draws its own two ends: the rows below it have none
    PdfLook(open_sides=True, fills="header", rule_width=0.25),
    # rules drawn as rectangles, the frame's 1.5 pt ones ending outside the row rules' 0.5 pt ones
    PdfLook(open_sides=True, borders="rects", fills="header", box_width=1.5),
])
@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_tables_without_rules_at_their_left_and_right_ends_read_like_closed_ones(look, fmt):
    """两边无边框: row rules and the rules between columns, none at the table's two ends."""
    tables = random_tables(random.Random(17), fmt, blanks=True)
    item = extract_document(pdf_report(tables, fmt=fmt, title=TITLE, font="embedded", look=look), "http://127.0.0.1/r.pdf")
    assert item["tables"] == tables and item["warnings"] == []


@pytest.mark.parametrize("borders", ["rows", "none"])
@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_tables_without_column_rules_keep_their_empty_cells(borders, fmt):
    """Rules between the rows only (三线表-like), or none: nothing marks an empty cell, and read as text a row's
    numbers after a gap would move left.  Placed under the columns of a fuller row near them, or of the column
    heads above them, they stay put."""
    tables = random_tables(random.Random(23), fmt, blanks=True)
    blanks = [(key, row) for key, rows in tables["applications"].items() for row, v in rows.items() if v is None]
    assert len(blanks) >= 5
    # 四 has one data row, so no fuller row: its column heads place its numbers
    review = tables["review_litigation"]
    review["review"]["corrected"] = review["litigation_direct"]["pending"] = None
    for look in (PdfLook(borders=borders), PdfLook(borders=borders, centered=True, margins=(60, 40, 50, 50)),
                 # a shaded header band: its fills make a grid of the heads, 四's row goes by that grid's columns
                 PdfLook(borders=borders, fills="header")):
        item = extract_document(pdf_report(tables, fmt=fmt, title=TITLE, font="embedded", look=look),
                                "http://127.0.0.1/r.pdf")
        assert item["tables"] == tables and item["warnings"] == [], look


# Looks of tables without column rules that read wrong until the reader learnt the class each shows
# (found by sweeping seeded random looks; what each PDF shows is asserted too, so a generator that
# stops drawing it fails here rather than passing without testing anything).
RULE_LESS_CLASSES = [
    # a row's label wraps round its values, and the group's label (六)其他处理 shares their line
    ("nr2-5003", "rows", None, lambda t, p: "(六)其他处理 用、行政机关不再处理其政府信息公开 0 5 16 0 0 21" in t),
    ("nr2-5203", "none", None, lambda t, p: "(六)其他处理 0 0 10 0 8 0 18\n公开申请" in t),
    ("nr3-6101", "rows", "cells", lambda t, p: "缴纳\n(六)其他处理\n费用、行政机关不再处理其政府信息 0 0 0 10 10" in t),
    # 四's header rows end a page and its one data row begins the next (column heads, or a shaded band)
    ("nr2-5181", "rows", None, lambda t, p: " ".join(p[-1].split()).startswith("0 7 8 0 15 0")),
    ("nr3-6063", "rows", "header", lambda t, p: " ".join(p[-1].split()).startswith("0 6 9 15 4")),
    # 行政诉讼, centred over its ten columns, falls in the gap between two of their heads
    ("nr2-5685", "rows", None, lambda t, p: "行政复议 行政诉讼\n" in t),
    # a row of one value: its label wraps round it (that 0 is no page number), or on one line
    ("nr3-6967", "rows", None, lambda t, p: "逾期不补正、行政机关不再处理其政\n0\n府信息公开申请" in t),
    ("nr2-5085", "rows", None, lambda t, p: "四、结转下年度继续办理 0\n" in t),
]


@pytest.mark.parametrize("seed, borders, fills, shows", RULE_LESS_CLASSES, ids=[c[0] for c in RULE_LESS_CLASSES])
def test_rule_less_tables_read_back_in_looks_that_broke_them(seed, borders, fills, shows):
    rng = random.Random(seed)
    look = dataclasses.replace(PdfLook.random(rng), borders=borders, fills=fills, open_sides=False)
    fmt = "2021" if int(seed[-4:]) % 2 else "2019"
    tables = random_tables(rng, fmt, blanks=True)
    body = pdf_report(tables, fmt=fmt, title=TITLE, font="embedded", look=look)
    assert shows(layout_from_pdf(body).text, _page_texts(body)), "the generator no longer draws what this case is about"
    item = extract_document(body, "http://127.0.0.1/r.pdf")
    assert item["tables"] == tables and item["warnings"] == [], look


def test_punctuation_hanging_past_the_end_of_a_cell_stays_in_its_cell():
    """With little padding, the 、 that ends a wrapped line of a label (it may not start the next line) reaches over
    the column rule into the first number's cell; it ends the label, and the number stays a number."""
    look = PdfLook(margins=(40.5, 38.8, 37.8, 34.9), text_size=10.5, cell_size=6.5, padding=(1.93, 2.26),
                   rule_width=0.75, column_weights=(1.124, 1.157, 0.838, 1.230), intro_paragraphs=0, repeat_header=True)
    tables = random_tables(random.Random(3), "2021", blanks=True)
    item = extract_document(pdf_report(tables, fmt="2021", title=TITLE, font="embedded", look=look), "http://127.0.0.1/r.pdf")
    assert item["tables"]["applications"]["other_fee_unpaid"] == tables["applications"]["other_fee_unpaid"]
    assert item["tables"] == tables and item["warnings"] == []


def test_merged_cells_appear_once_and_text_around_the_grid_keeps_its_place():
    grid = [
        [("第二十条第(五)项", 1, 3)],
        [("信息内容", 2, 1), ("本年处理决定数量", 1, 2)],
        [("上半年", 1, 1), ("下半年", 1, 1)],
        [("行政许可", 1, 1), ("3,985,758", 1, 1), ("", 1, 1)],
    ]
    layout = layout_from_pdf(grid_pdf(grid, before="二、主动公开政府信息情况", after="三、收到和处理政府信息公开申请情况"))
    assert layout.tokens == [
        "二、主动公开政府信息情况",
        "第二十条第(五)项", ROW_END,
        "信息内容", "本年处理决定数量", ROW_END,
        "上半年", "下半年", ROW_END,
        "行政许可", "3,985,758", "", ROW_END,
        "三、收到和处理政府信息公开申请情况",
    ]
    assert layout.warnings == []


def test_table_across_two_pages_reads_as_one_stream_without_page_numbers():
    grid = [[("信息内容", 1, 1), ("件数", 1, 1)]] + [[(f"事项{n}", 1, 1), (str(n * 7), 1, 1)] for n in range(60)]
    body = grid_pdf(grid, before="二、主动公开政府信息情况")
    assert len(pdfium.PdfDocument(body)) == 2
    expected = ["二、主动公开政府信息情况"]
    for row in grid:
        expected += [text for text, _, _ in row] + [ROW_END]
    assert layout_from_pdf(body).tokens == expected  # "- 1 -" at the foot of page 1 is not a cell


@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_a_last_row_alone_on_the_next_page_keeps_its_blank_cells(fmt):
    """A table broken right before its last row leaves a grid of one row atop the next page."""
    tables = random_tables(random.Random(61), fmt)
    row = tables["applications"]["carried_forward"]
    row["commercial_enterprise"] = row["research_institution"] = None
    body = report_pdf(tables, fmt=fmt, title=TITLE, embedding="reportlab-ttf", split_before="四、结转下年度继续办理")
    pages = _page_texts(body)
    label_page = next(i for i, text in enumerate(pages) if "四、结转下年度继续办理" in text)
    assert label_page > 0 and pages[label_page].startswith("四、结转下年度继续办理")
    item = extract_document(body, "http://127.0.0.1/r.pdf")
    assert item["tables"]["applications"]["carried_forward"] == row
    assert item["tables"] == tables and item["warnings"] == []


def test_rotated_pages_read_as_displayed():
    tables = random_tables(random.Random(90), "2019", blanks=True)
    body = report_pdf(tables, fmt="2019", title=TITLE, rotate=True)
    assert {page.get_rotation() for page in pdfium.PdfDocument(body)} == {90}
    item = extract_document(body, "http://127.0.0.1/r.pdf")
    assert item["tables"] == tables and item["title"] == TITLE


def test_table_rules_inside_a_form_xobject_are_placed_with_its_matrix():
    tables = random_tables(random.Random(11), "2021")
    body = report_pdf(tables, fmt="2021", title=TITLE, rules="form")
    first = pdfium.PdfDocument(body)[0]
    kinds = {obj.type for obj in first.get_objects(max_depth=1)}
    assert pdfium_c.FPDF_PAGEOBJ_FORM in kinds and pdfium_c.FPDF_PAGEOBJ_PATH not in kinds
    assert extract_document(body, "http://127.0.0.1/r.pdf")["tables"] == tables


@pytest.mark.parametrize("embedding", ["reportlab-ttf", "fpdf2-ttf"])
def test_table_rules_drawn_as_thin_filled_rectangles(embedding):
    """Word's PDF export draws borders as filled rectangles: two edges each, snapped into one rule."""
    tables = random_tables(random.Random(17), "2021", blanks=True)
    body = report_pdf(tables, fmt="2021", title=TITLE, embedding=embedding, rules="rects")
    first = pdfium.PdfDocument(body)[1]
    segments = {pdfium_c.FPDFPath_CountSegments(obj.raw) for obj in first.get_objects()
                if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH}
    assert segments and segments <= {4, 5}  # rectangles only, no stroked lines
    assert extract_document(body, "http://127.0.0.1/r.pdf")["tables"] == tables


def test_white_shapes_are_not_rules_and_shaded_ones_are():
    """Word and WPS put a white rectangle behind every cell: on the white page it draws nothing, so it is no rule.
    A grey band, or a line of any colour, is."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(400, 400))
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(50, 300, 100, 20, stroke=0, fill=1)  # white: nothing to see
    canvas.setFillColorRGB(0.85, 0.85, 0.85)
    canvas.rect(50, 200, 100, 20, stroke=0, fill=1)  # grey: its four sides show
    canvas.setStrokeColorRGB(1, 1, 1)
    canvas.line(50, 100, 150, 100)  # a white line is still drawn as a line (it may cross something)
    canvas.save()
    page = pdfium.PdfDocument(out.getvalue())[0]
    h_edges, v_edges, _ = _page_edges(page.raw, _upright)
    assert sorted(round(y) for y, _, _ in h_edges) == [-220, -200, -100]
    assert sorted(round(x) for x, _, _ in v_edges) == [50, 150]


def test_scanned_pdf_says_it_has_no_text_layer():
    item = extract_document(scanned_pdf([None, None]), "http://127.0.0.1/scan.pdf")
    assert any("no text layer (2 pages" in w and "OCR" in w for w in item["warnings"])
    assert not is_report(item)


def test_scanned_pages_in_a_text_pdf_are_named_when_ocr_is_off(monkeypatch):
    monkeypatch.setenv("GOVCRAWL_OCR", "0")
    layout = layout_from_pdf(scanned_pdf([TITLE, None, "六、其他需要报告的事项", None]))
    assert layout.lines == [TITLE, "六、其他需要报告的事项"]
    assert len(layout.warnings) == 1
    assert "PDF pages 2, 4 of 4 only images" in layout.warnings[0] and "OCR is off" in layout.warnings[0]


def test_scanned_pages_past_the_ocr_cap_are_named(monkeypatch):
    monkeypatch.setenv("GOVCRAWL_OCR_MAX_PAGES", "0")
    layout = layout_from_pdf(scanned_pdf([TITLE, None, "六、其他需要报告的事项", None]))
    assert layout.lines == [TITLE, "六、其他需要报告的事项"] and layout.ocr_tokens == []
    assert layout.warnings == ["OCR stopped at the cap of 0 PDF pages (GOVCRAWL_OCR_MAX_PAGES); "
                               "PDF pages 2, 4 of 4 not read, tables there not read"]


def test_not_a_pdf_behind_the_magic_is_a_warning():
    layout = layout_from_pdf(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert layout.tokens == [] and layout.warnings[0].startswith("PDF could not be opened")



# --------------------------------------------------------------------------- ruling lines → cells


def _rules(xs: list[float], ys: list[float]) -> tuple[list[tuple], list[tuple]]:
    """The rules of a full grid: horizontal (y, x0, x1) and vertical (x, top, bottom)."""
    return [(y, xs[0], xs[-1]) for y in ys], [(x, ys[0], ys[-1]) for x in xs]


def test_grid_rules_make_one_table_of_its_cells():
    h, v = _rules([0, 50, 100], [0, 20, 40])
    assert _find_tables(h, v) == [[(0, 0, 50, 20), (0, 20, 50, 40), (50, 0, 100, 20), (50, 20, 100, 40)]]


def test_a_table_without_rules_at_its_ends_is_closed_by_its_row_rules():
    h, v = _rules([0, 50, 100], [0, 20, 40])
    inner = [edge for edge in v if edge[0] == 50]  # 两边无边框: only the rule between the columns
    assert _find_tables(h, inner) == _find_tables(h, v)


def test_open_sides_close_each_table_not_the_gap_between_two():
    """Two open-sided tables of one width with a heading between: each is closed, the gap between them is no cell;
    a header and a footer rule with nothing between them are no table."""
    h = [(0, 0, 100), (20, 0, 100), (40, 0, 100), (80, 0, 100), (100, 0, 100)]
    v = [(50, 0, 40), (30, 80, 100)]
    assert _find_tables(h, v) == [[(0, 0, 50, 20), (0, 20, 50, 40), (50, 0, 100, 20), (50, 20, 100, 40)],
                                  [(0, 80, 30, 100), (30, 80, 100, 100)]]
    assert _find_tables([(0, 0, 100), (700, 0, 100)], [(300, 300, 400)]) == []


def test_open_sides_are_completed_where_a_side_is_drawn_for_some_rows_only():
    """A shaded header band draws its own two ends: the rows below it are closed all the same."""
    h = [(y, 0, 100) for y in (0, 20, 40, 60)]
    band = [(0, 0, 20), (100, 0, 20)]
    assert _find_tables(h, [(50, 0, 60)] + band) == _find_tables(*_rules([0, 50, 100], [0, 20, 40, 60]))


def test_open_sides_group_row_rules_whose_ends_differ_by_less_than_the_tolerance():
    """A heavier frame's rules end a little outside the row rules' (64.43 against 64.81: they round apart on a
    3 pt grid), and no column rule runs from the top rule to the bottom one: one table all the same, every row
    closed."""
    h = [(0, 64.43, 300.2), (20, 64.81, 299.8), (40, 64.81, 299.8), (60, 64.43, 300.2)]
    v = [(150, 0, 20), (100, 20, 40), (200, 40, 60)]
    assert _find_tables(h, v) == _find_tables(h, v + [(64.43, 0, 60), (300.2, 0, 60)])


def test_a_side_rule_moved_by_snapping_is_no_missing_side():
    """Snapping averages the rules near one position over the whole page, so a column rule can land ~3 pt from
    where the row rules end: it is their side, and no second side is added beside it (a sliver of a cell)."""
    h = [(y, 153.53, 300) for y in (0, 20, 40)]
    v = [(156.61, 0, 40), (200, 0, 40), (300, 0, 40)]
    assert _find_tables(h, v) == [[(156.61, 0, 200, 20), (156.61, 20, 200, 40), (200, 0, 300, 20), (200, 20, 300, 40)]]


def _value_row(k: int, label: str, xs: list[float], headings: int = 0) -> tuple:
    return (k, [(10.0, 60.0, label)], [(x - 4, x + 4, str(n)) for n, x in enumerate(xs, 1)], headings)


def test_a_short_row_takes_the_columns_of_a_fuller_row_across_a_page_break_not_across_a_heading():
    columns = [200, 240, 280, 320, 360]
    full = _PageText([], [], [], [_value_row(0, "总计", columns)], 0)
    short = _PageText([], [], [], [_value_row(0, "结转", [200, 280, 360])], 0)
    assert _realign(short, full, None) == {0: ["结转", "1", "", "2", "", "3"]}  # the fuller row on the page before
    assert _realign(short, None, full) == {0: ["结转", "1", "", "2", "", "3"]}  # or after
    # a section heading (四、…情况) between them: another table, whose columns are not this row's
    after_heading = _PageText([], [], [], [_value_row(3, "结转", [200, 280, 360], headings=1)], 1)
    assert _realign(after_heading, full, None) == {}
    # values that sit under no column of the fuller row: left as they are
    assert _realign(_PageText([], [], [], [_value_row(0, "x", [200, 300])], 0), full, None) == {}


def test_a_rule_missing_over_one_row_merges_its_cells():
    h, v = _rules([0, 100], [0, 20, 40])
    v.append((50, 20, 40))
    assert _find_tables(h, v) == [[(0, 0, 100, 20), (0, 20, 50, 40), (50, 20, 100, 40)]]


def test_rule_pieces_snap_to_their_mean_and_join_across_small_gaps():
    # The rule at y≈20: two pieces with a 2 pt gap, one drawn 0.5 pt lower, one drawn twice.
    h = [(0, 0, 100), (20, 0, 48), (20.5, 50, 100), (20, 60, 100), (40, 0, 100)]
    v = [(0, 0, 40), (50, 0, 40), (100, 0, 40)]
    y = (20 + 20 + 20.5) / 3  # each edge counts, duplicates included (pdfplumber's snap)
    assert _find_tables(h, v) == [[(0, 0, 50, y), (0, y, 50, 40), (50, 0, 100, y), (50, y, 100, 40)]]


def test_a_crossing_within_tolerance_of_two_pieces_connects_to_both():
    # The middle rule is broken where it crosses y=20 (a 5 pt gap: not joined, but 3 pt of reach each side).
    h, v = _rules([0, 100], [0, 20, 40])
    v += [(50, 0, 18), (50, 23, 40)]
    assert _find_tables(h, v) == [[(0, 0, 50, 20), (0, 20, 50, 40), (50, 0, 100, 20), (50, 20, 100, 40)]]


def test_tables_come_top_first_whatever_the_order_of_their_rules():
    low_h, low_v = _rules([0, 50, 100], [300, 320, 340])
    high_h, high_v = _rules([10, 60], [0, 20, 40])
    tables = _find_tables(low_h + high_h, low_v + high_v)
    assert [len(cells) for cells in tables] == [2, 4]
    assert tables[0] == [(10, 0, 60, 20), (10, 20, 60, 40)]
