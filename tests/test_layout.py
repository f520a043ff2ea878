"""Flattening documents into cells: merged HTML cells, block structure, blank cells, repair."""

from __future__ import annotations

from govcrawl.extract.layout import ROW_END, layout_from_html, layout_from_text


def _rows(tokens):
    rows, row = [], []
    for t in tokens:
        if t == ROW_END:
            rows.append(row)
            row = []
        else:
            row.append(t)
    return rows


def test_rowspan_and_colspan_cells_appear_once():
    html = """<table>
      <tr><td rowspan="2">三、本年度办理结果</td><td colspan="2">(一)予以公开</td><td>1</td></tr>
      <tr><td rowspan="2">(三)不予公开</td><td>1.属于国家秘密</td><td>2</td></tr>
      <tr><td>x</td><td>2.其他法律行政法规禁止公开</td><td>3</td></tr>
    </table>"""
    assert _rows(layout_from_html(html).tokens) == [
        ["三、本年度办理结果", "(一)予以公开", "1"],
        ["(三)不予公开", "1.属于国家秘密", "2"],
        ["x", "2.其他法律行政法规禁止公开", "3"],
    ]


def test_cell_text_joins_paragraphs_and_drops_scripts():
    html = "<table><tr><td><p>本年新收</p><p>申请数量</p><script>var a=1;</script></td><td> 5 </td></tr></table>"
    assert _rows(layout_from_html(html).tokens) == [["本年新收 申请数量", "5"]]


def test_only_leaf_tables_are_grids():
    html = "<table><tr><td>导航</td><td><table><tr><td>规章</td><td>1</td></tr></table></td></tr></table>"
    layout = layout_from_html(html)
    assert layout.tokens == ["导航", "规章", "1", ROW_END]  # the layout cell is text, the leaf table a row


def test_empty_and_nbsp_paragraphs_are_blank_cells():
    html = "<div><p>规章</p><p>1</p><p></p><p>&nbsp;</p><p>行政许可</p></div>"
    assert layout_from_html(html).tokens == ["规章", "1", "", "", "行政许可"]


def test_text_and_cells_are_repaired():
    html = "<table><tr><td>規範性文件</td><td>１２</td></tr></table><p>當(dāng)前位置</p>"
    layout = layout_from_html(html)
    assert _rows(layout.tokens) == [["规范性文件", "12"]]
    assert "当前位置" in layout.lines


def test_table_rows_become_metadata_lines():
    html = "<table><tr><td>索 引 号:</td><td>014109971/2020-00001</td></tr></table>"
    assert layout_from_html(html).lines == ["索 引 号: 014109971/2020-00001"]


def test_empty_html_and_garbage_span_attributes():
    assert layout_from_html("").tokens == []
    html = "<table><tr><td rowspan='x' colspan='-3'>规章</td><td colspan='99999'>1</td></tr></table><p"
    assert layout_from_html(html).tokens == ["规章", "1", ROW_END]


def test_text_layout_keeps_pipe_runs_blank_cells():
    layout = layout_from_text("政府集中采购 |\n24 |\n |\n")
    assert layout.tokens == ["政府集中采购", "24", ""]


def test_comments_and_unknown_elements_do_not_break_a_line():
    html = "<DIV>全年<!-- 统计 -->收到<X-Note>政府信息</X-Note><?php echo 1 ?>公开申请<font>12</font>件</DIV><p>二</p>"
    assert layout_from_html(html).lines == ["全年收到政府信息公开申请12件", "二"]


def test_line_and_skipped_elements_by_tag():
    html = ("<div>一<span>二</span><br>三<li>四</li><h2>五</h2><select><option>导航</option></select>"
            "<pre>六\n七</pre><textarea>x</textarea><TITLE>八</TITLE>九</div>")
    assert layout_from_html(html).lines == ["一二", "三", "四", "五", "六", "七", "八", "九"]  # <title> in the body is a line


def test_text_lines_blank_cells_after_repair_of_exotic_spaces():
    # U+200B is not whitespace to str.split but becomes a space in repair: still a blank cell, not a line.
    layout = layout_from_text("规章\n\u200b\n1\n")
    assert layout.tokens == ["规章", "", "1"]
    assert layout.lines == ["规章", "1"]


def _expanded_rows(table) -> list[list[str]]:
    """The plain reading of a table: merged cells expanded on a grid, covered positions then left out."""
    from govcrawl.extract.layout import _cell_text

    def span(value):
        try:
            return max(1, min(int(str(value).strip() or 1), 200))
        except ValueError:
            return 1

    grid, covered = [], set()
    for r, tr in enumerate(table.iter("tr")):
        row, col = [], 0
        for cell in tr:
            if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
                continue
            while (r, col) in covered:
                row.append(None)
                col += 1
            rowspan, colspan = span(cell.get("rowspan", 1)), span(cell.get("colspan", 1))
            row += [_cell_text(cell)] + [None] * (colspan - 1)
            covered.update((r + dr, col + dc) for dr in range(1, rowspan) for dc in range(colspan))
            col += colspan
        grid.append(row)
    return [[c for c in row if c is not None] for row in grid]


def test_table_rows_are_the_expanded_grid_without_covered_positions():
    """The reader takes each <tr>'s cells as they come (spans unread, common cells inline):
    the same cells as expanding the merged cells and dropping what they cover, on varied markup."""
    import random

    from lxml import etree

    from govcrawl.extract.layout import _html_table_rows

    wrappers = ["{t}", "<p>{t}</p>", " <span>{t}</span>\n", "<P>{t}</P>", "<font>{t}</font>tail", "head<b>{t}</b>",
                "<p><span>{t}</span></p>", "{t}<br>x", "<!-- c -->{t}", "<script>s</script>{t}", "&nbsp;{t}&nbsp;",
                "<p>&nbsp;</p>", "", "<div>{t}</div><p>{t}</p>", "<ruby>报<rt>bào</rt></ruby>{t}", "<o:p>{t}</o:p>"]
    spans = ["", "", "", " rowspan=2", " colspan=3", " rowspan='x'", " colspan=0", " rowspan=3 colspan=2", " ROWSPAN=2"]
    rng = random.Random(5)
    checked = 0
    for _ in range(300):
        rows = []
        for r in range(rng.randint(1, 8)):
            cells = "".join(
                f"<{tag}{rng.choice(spans)}>{rng.choice(wrappers).format(t=rng.choice(['规章', '0', '12 件', '本年 新收']))}"
                f"</{tag}>" for tag in rng.choices(["td", "th", "TD"], k=rng.randint(0, 6)))
            rows.append(f"<tr>{cells}</tr>" if rng.random() < 0.9 else f"<TR>{cells}")
        for table in etree.HTML(f"<table>{''.join(rows)}</table>").iter("table"):
            assert _html_table_rows(table) == _expanded_rows(table)
            checked += 1
    assert checked >= 300
