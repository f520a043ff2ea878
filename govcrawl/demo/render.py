"""Render report tables the way real government sites publish them.

Used by the offline demo portal, the fake web of the tests and benchmarks, and
the round-trip property tests of the table reader: tables in, a page out, in
one of the layouts real sites produce:

* ``html_table``  – the official template as HTML, merged cells as rowspan/colspan;
* ``cell_per_line`` – the table flattened to one cell per line (a blank cell is an empty line);
* ``cell_per_line_spaced`` – one cell per paragraph, paragraphs separated by an
  empty line (a blank cell is a paragraph holding only a no-break space);
* ``pipe`` – one ``cell |`` per line, as copy-paste from the template gives;
* ``markdown`` – a markdown copy (text only): ``#`` headings, ``| a | b |`` rows
  with a ``|---|`` separator under the first row, merged cells written once.

Any layout can also print the tables ``split`` into pieces, as some reports
do: section 三 as one small table per row group, each under a generic header
(``数据1 … 数据7``) or, in the middle, the official header repeated; group
labels (``(三)不予公开``) as rows without numbers; section 四 as a 行政复议 table
and a 行政诉讼 table under their own sub-headings.
"""

from __future__ import annotations

import html as htmlmod
import random
from dataclasses import dataclass

from govcrawl.extract import template as T

LAYOUTS = ("html_table", "cell_per_line", "cell_per_line_spaced", "pipe", "markdown")
TEXT_LAYOUTS = LAYOUTS[1:]
HTML_LAYOUTS = LAYOUTS[:-1]

Cell = tuple  # (text, rowspan, colspan)


def _c(text, rowspan=1, colspan=1) -> Cell:
    return (text, rowspan, colspan)


def _fmt_value(value, *, signed=False) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
    else:
        text = str(value)
    if signed and isinstance(value, (int, float)) and value > 0:
        text = "+" + text
    return text


def _active_grid(tables: dict, fmt: str) -> list[list[Cell]]:
    rows_def = T.ACTIVE[fmt]
    table = tables.get("active_disclosure", {})
    labels = T.ACTIVE_COLUMN_LABELS_2021 if fmt == "2021" else T.ACTIVE_COLUMN_LABELS
    grid: list[list[Cell]] = []
    group = None
    for key, (label, heading, columns) in rows_def.items():
        if heading != group:
            group = heading
            grid.append([_c(heading, 1, 4)])
            header = [_c("信息内容")]
            col_labels = [labels[c] for c in columns]
            unit = table.get(key, {}).get("amount_unit") if key == T.UNIT_ROWS[fmt] else None
            if fmt == "2019" and key == "procurement" and unit:
                col_labels[-1] = f"{col_labels[-1]}({unit})"
            if len(columns) == 1:
                header.append(_c(col_labels[0], 1, 3))
            else:
                header += [_c(x) for x in col_labels]
                header += [_c("")] * (3 - len(columns))
            grid.append(header)
        row = table.get(key, {})
        values = [_fmt_value(row.get(c), signed=(c == "change")) for c in columns]
        cells = [_c(label)]
        if len(columns) == 1:
            cells.append(_c(values[0], 1, 3))
        else:
            cells += [_c(v) for v in values] + [_c("")] * (3 - len(columns))
        grid.append(cells)
    return grid


def _applications_grid(tables: dict, fmt: str) -> list[list[Cell]]:
    table = tables.get("applications", {})
    rows = T.APPLICATION_ROWS[fmt]
    grid: list[list[Cell]] = [
        [_c("(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和)", 3, 3), _c("申请人情况", 1, 7)],
        [_c("自然人", 2), _c("法人或其他组织", 1, 5), _c("总计", 2)],
        [_c(x) for x in T.APPLICANT_COLUMN_LABELS[1:6]],
    ]
    # Sizes of the merged group cells on the left.
    result_rows = sum(1 for _, g, _ in rows if g not in (None,))
    group_sizes: dict[str, int] = {}
    for _, group, _ in rows:
        if group and group != T.RESULT_GROUP:
            group_sizes[group] = group_sizes.get(group, 0) + 1
    seen_groups: set[str] = set()
    result_started = False
    for key, group, label in rows:
        values = [_c(_fmt_value(table.get(key, {}).get(c))) for c in T.APPLICANT_COLUMNS]
        cells: list[Cell] = []
        if group is None:
            cells.append(_c(label, 1, 3))
        else:
            if not result_started:
                cells.append(_c(T.RESULT_GROUP, result_rows))
                result_started = True
            if group == T.RESULT_GROUP:
                cells.append(_c(label, 1, 2))
            else:
                if group not in seen_groups:
                    cells.append(_c(group, group_sizes[group]))
                    seen_groups.add(group)
                cells.append(_c(label))
        grid.append(cells + values)
    return grid


def _applications_header() -> list[list[Cell]]:
    return _applications_grid({}, "2019")[:3]


def _applications_pieces(tables: dict, fmt: str) -> list[tuple[str | None, list[list[Cell]]]]:
    """Section 三 as one table per row group: official header first, generic ones after, the official one again mid-way."""
    table = tables.get("applications", {})
    groups: list[tuple[str | None, list]] = []
    for key, group, label in T.APPLICATION_ROWS[fmt]:
        heading = group if group not in (None, T.RESULT_GROUP) else (T.RESULT_GROUP if key == "granted" else None)
        if key in ("total_handled", "carried_forward") or not groups or (heading and heading != groups[-1][0]):
            groups.append((heading, []))
        groups[-1][1].append((key, label))
    generic = [[_c("信息内容")] + [_c(f"数据{n}") for n in range(1, 8)]]
    pieces = []
    for n, (heading, rows) in enumerate(groups):
        if n == 0:
            grid = _applications_header()
        elif n == len(groups) // 2:
            grid = _applications_header()  # repeated mid-way: a header row without numbers
        else:
            grid = [list(generic[0])]
        if heading:
            grid.append([_c(heading, 1, 8)])
        for key, label in rows:
            grid.append([_c(label)] + [_c(_fmt_value(table.get(key, {}).get(c))) for c in T.APPLICANT_COLUMNS])
        pieces.append((None, grid))
    return pieces


def _review_pieces(tables: dict) -> list[tuple[str | None, list[list[Cell]]]]:
    """Section 四 as a 行政复议 table and a 行政诉讼 table, each under its sub-heading."""
    table = tables.get("review_litigation", {})
    labels = T.REVIEW_COLUMN_LABELS

    def values(rows):
        return [_c(_fmt_value(table.get(r, {}).get(c))) for r in rows for c in T.REVIEW_COLUMNS]

    return [
        ("（一）行政复议情况", [[_c(x) for x in labels], values(T.REVIEW_ROWS[:1])]),
        ("（二）行政诉讼情况", [[_c("未经复议直接起诉", 1, 5), _c("复议后起诉", 1, 5)],
                         [_c(x) for x in labels] * 2, values(T.REVIEW_ROWS[1:])]),
    ]


def _review_grid(tables: dict) -> list[list[Cell]]:
    table = tables.get("review_litigation", {})
    labels = T.REVIEW_COLUMN_LABELS
    values = [
        _c(_fmt_value(table.get(r, {}).get(c))) for r in T.REVIEW_ROWS for c in T.REVIEW_COLUMNS
    ]
    return [
        [_c("行政复议", 1, 5), _c("行政诉讼", 1, 10)],
        [_c(x, 2) for x in labels] + [_c("未经复议直接起诉", 1, 5), _c("复议后起诉", 1, 5)],
        [_c(x) for x in labels] * 2,
        values,
    ]


@dataclass(frozen=True)
class HtmlLook:
    """How an HTML report page marks its tables up: who wrote the HTML, and its habits.

    ``HtmlLook()`` is the plain markup the demo has always drawn.  Real pages come from an
    editor: Word pasted into the CMS (``MsoNormal`` paragraphs, ``<span>`` runs with
    ``mso-`` styles, ``<o:p>``, a zero-height row of column widths at the end), WPS
    (``<span lang="EN-US">`` around numbers), Excel (``<col>``, ``x:num`` cells, no
    paragraphs), or the CMS's own editor (``word-break`` styles, ``<br/>`` in blank cells).
    """

    editor: str = "plain"     # plain, word, wps, excel, cms
    header: str = "td"        # td, or th: the header rows as <th> in a <thead>
    blank: str = ""           # what an empty cell holds: "", "&nbsp;", "<br/>", "-", "/"
    split_runs: bool = False  # text cut into several <span> runs at random places
    wrap_labels: bool = False  # long labels as two paragraphs (or a <br/>) in their cell
    wrapper: str = "none"     # none, div (a scrolling <div>), layout (the table inside a one-cell table)
    seed: int = 0             # for the random places of runs and breaks

    EDITORS = ("plain", "word", "wps", "excel", "cms")
    BLANKS = ("", "&nbsp;", "<br/>", "-", "/")
    WRAPPERS = ("none", "div", "layout")

    def __post_init__(self):
        for name, allowed in (("editor", self.EDITORS), ("header", ("td", "th")), ("blank", self.BLANKS),
                              ("wrapper", self.WRAPPERS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"HtmlLook.{name} must be one of {allowed}, not {getattr(self, name)!r}")

    @classmethod
    def random(cls, rng: random.Random) -> "HtmlLook":
        return cls(editor=rng.choice(cls.EDITORS), header=rng.choice(("td", "th")), blank=rng.choice(cls.BLANKS),
                   split_runs=rng.random() < 0.5, wrap_labels=rng.random() < 0.5,
                   wrapper=rng.choice(cls.WRAPPERS), seed=rng.randrange(1 << 30))


def _runs(text: str, look: HtmlLook, rng: random.Random) -> list[str]:
    """``text`` as the runs an editor leaves, each escaped: cut at one or two random places when ``split_runs``."""
    if not look.split_runs or len(text) < 2:
        return [htmlmod.escape(text)]
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.choice((1, 2)))))
    return [htmlmod.escape(text[a:b]) for a, b in zip([0, *cuts], [*cuts, len(text)])]


def _cell_html(text: str, look: HtmlLook, rng: random.Random, numeric: bool) -> str:
    """The inside of one cell as ``look``'s editor writes it."""
    if not text:
        blank = look.blank
        if look.editor == "word":
            return f'<p class="MsoNormal" align="center"><span>{blank or "&nbsp;"}</span><o:p></o:p></p>'
        return blank if look.editor in ("excel", "cms") else f"<p>{blank}</p>"
    pieces = [text]  # escaped run by run (_runs)
    if look.wrap_labels and not numeric and len(text) > 12:
        cut = rng.randrange(len(text) // 3, 2 * len(text) // 3)
        pieces = [text[:cut], text[cut:]]
    editor = look.editor
    if editor == "word":
        span = '<span style="font-size:10.5pt;font-family:宋体;mso-bidi-font-family:宋体">'
        paras = ["".join(f"{span}{r}</span>" for r in _runs(p, look, rng)) for p in pieces]
        return "".join(f'<p class="MsoNormal" align="center" style="text-align:center">{p}<o:p></o:p></p>'
                       for p in paras)
    if editor == "wps":
        span = '<span lang="EN-US">' if numeric else '<span style="font-family:仿宋_GB2312">'
        return "".join(f"<p>{''.join(f'{span}{r}</span>' for r in _runs(p, look, rng))}</p>" for p in pieces)
    if editor == "excel":
        return "<br/>".join("".join(_runs(p, look, rng)) for p in pieces)
    if editor == "cms":
        return "<br/>".join("".join(f"<span>{r}</span>" for r in _runs(p, look, rng)) for p in pieces)
    return "".join(f'<p style="text-align:center">{"".join(_runs(p, look, rng))}</p>' for p in pieces)


def _grid_html(grid: list[list[Cell]], look: HtmlLook | None = None) -> str:
    if look is None or look == HtmlLook():  # the markup the demo and the fixtures have always had
        out = ['<table border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse">', "<tbody>"]
        for row in grid:
            out.append("<tr>")
            for text, rowspan, colspan in row:
                attrs = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
                out.append(f'<td{attrs} valign="center"><p style="text-align:center">{htmlmod.escape(text)}</p></td>')
            out.append("</tr>")
        out.append("</tbody></table>")
        return "\n".join(out)
    rng = random.Random(f"{look.seed}-{len(grid)}-{grid[0][0][0] if grid and grid[0] else ''}")
    _, _, n_cols = place(grid)
    first_data = header_rows(grid, len(grid))
    attrs_table = {
        "word": ' class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse;'
                'border:none;mso-border-alt:solid windowtext .5pt"',
        "wps": ' border="1" cellspacing="0" style="border-collapse:collapse;width:100%"',
        "excel": ' border="0" cellpadding="0" cellspacing="0" width="640" style="border-collapse:collapse;'
                 'table-layout:fixed"',
        "cms": ' style="width: 100%;" border="1"',
        "plain": ' border="1"',
    }[look.editor]
    out = [f"<table{attrs_table}>"]
    if look.editor == "excel":
        out.append("".join(f'<col width="{rng.choice((64, 72, 80, 96))}">' for _ in range(n_cols)))
    heads = first_data if look.header == "th" else 0  # rows of <th> in a <thead>
    for r, row in enumerate(grid):
        head = r < heads
        if r == 0:
            out.append("<thead>" if head else "<tbody>")
        elif r == heads and heads:
            out.append("</thead><tbody>")
        tr = ' style="height:21.75pt"' if look.editor in ("word", "excel") else ""
        out.append(f"<tr{tr}>")
        for text, rowspan, colspan in row:
            numeric = _is_number(text)
            attrs = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
            if look.editor == "word":
                attrs += f' width="{rng.choice((48, 57, 64, 96))}" valign="center" style="border:solid windowtext 1.0pt"'
            elif look.editor == "excel":
                attrs += (f' class="xl{rng.choice((65, 66, 67))}"' + (f' x:num="{text}"' if numeric else " x:str"))
            elif look.editor == "cms":
                attrs += ' style="word-break: break-all;" valign="middle" align="center"'
            tag = "th" if head else "td"
            out.append(f"<{tag}{attrs}>{_cell_html(text, look, rng, numeric)}</{tag}>")
        out.append("</tr>")
    if look.editor == "word":  # Word's row of column widths, for browsers that misalign merged columns
        out.append("<![if !supportMisalignedColumns]><tr height=\"0\">"
                   + "".join(f'<td width="{rng.choice((48, 57, 64))}" style="border:none"></td>' for _ in range(n_cols))
                   + "</tr><![endif]>")
    out.append("</tbody></table>")
    table = "\n".join(out)
    if look.wrapper == "div":
        return f'<div style="overflow-x:auto;">{table}</div>'
    if look.wrapper == "layout":
        return f'<table width="100%" border="0"><tr><td align="center">{table}</td></tr></table>'
    return table


def _is_number(text: str) -> bool:
    return bool(text) and text.replace(".", "", 1).replace("-", "", 1).replace("+", "", 1).isdigit()


def header_rows(grid: list[list[Cell]], default: int) -> int:
    """How many header rows the grid has: the rows before the first that holds a number (``default`` if none)."""
    return next((r for r, row in enumerate(grid) if any(_is_number(text) for text, _, _ in row)), default)


def _grid_lines(grid: list[list[Cell]], layout: str) -> list[str]:
    if layout == "markdown":
        rows = [f"| {' | '.join(text for text, _, _ in row)} |" for row in grid]
        return rows[:1] + [f"|{'---|' * len(grid[0])}"] + rows[1:]
    lines: list[str] = []
    for row in grid:
        for text, _, _ in row:
            if layout == "pipe":
                lines.append(f"{text} |")
            elif layout == "cell_per_line_spaced":
                lines += [text or "\u00a0", ""]
            else:
                lines.append(text)
    return lines


def place(grid: list[list[Cell]]) -> tuple[list[tuple[int, int, int, int, str]], int, int]:
    """A rowspan/colspan grid laid out on a rectangle: (row, col, rowspan, colspan, text) per cell,
    the number of rows and of columns (for renderers that draw cells, not HTML rows)."""
    placed: list[tuple[int, int, int, int, str]] = []
    taken: set[tuple[int, int]] = set()
    for r, row in enumerate(grid):
        c = 0
        for text, rowspan, colspan in row:
            while (r, c) in taken:
                c += 1
            placed.append((r, c, rowspan, colspan, text))
            taken.update((r + dr, c + dc) for dr in range(rowspan) for dc in range(colspan))
            c += colspan
    return placed, max(r for r, _ in taken) + 1, max(c for _, c in taken) + 1


def grids(tables: dict, fmt: str) -> dict[str, list[list[Cell]]]:
    """Each section's table as the official template lays it out: rows of (text, rowspan, colspan)."""
    out = {}
    if "active_disclosure" in tables:
        out["active_disclosure"] = _active_grid(tables, fmt)
    if "applications" in tables:
        out["applications"] = _applications_grid(tables, fmt)
    if "review_litigation" in tables:
        out["review_litigation"] = _review_grid(tables)
    return out


def pieces(tables: dict, fmt: str, *, split: bool = False) -> dict[str, list[tuple[str | None, list[list[Cell]]]]]:
    """Each section as (sub-heading or None, grid) pieces: one piece, or with ``split`` the split shapes."""
    out = {key: [(None, grid)] for key, grid in grids(tables, fmt).items()}
    if split and "applications" in out:
        out["applications"] = _applications_pieces(tables, fmt)
    if split and "review_litigation" in out:
        out["review_litigation"] = _review_pieces(tables)
    return out


def narrative(tables: dict, year: int) -> str:
    """Sentences stating the key figures in the common phrasings, as real reports write them."""
    apps = tables.get("applications", {})
    review = tables.get("review_litigation", {})

    def total(section, row):
        return (section.get(row) or {}).get("total") or 0

    lawsuits = total(review, "litigation_direct") + total(review, "litigation_after_review")
    return (f"{year}年，全年共收到政府信息公开申请{total(apps, 'new_requests')}件，"
            f"办结{total(apps, 'total_handled')}件，结转下年度继续办理{total(apps, 'carried_forward')}件。"
            f"因政府信息公开申请引发行政复议{total(review, 'review')}件，行政诉讼{lawsuits}起。")


INTRO = (
    "根据《中华人民共和国政府信息公开条例》(以下简称《条例》)规定,现公布本年度政府信息公开工作年度报告。"
    "报告中所列数据的统计期限自1月1日起至12月31日止。"
)


def render_report_text(
    tables: dict, *, fmt: str, title: str, layout: str = "cell_per_line", split: bool = False,
    prose: str | None = None,
) -> str:
    """The report as plain text (or markdown), tables flattened in a text layout; ``prose`` after the intro."""
    if layout not in TEXT_LAYOUTS:
        raise ValueError(f"text layouts are {TEXT_LAYOUTS}, not {layout!r}")
    md = layout == "markdown"

    def heading(text: str, level: int) -> str:
        return f"{'#' * level} {text}" if md else text

    lines = [heading(title, 1), heading("一、总体情况", 2), INTRO] + ([prose] if prose else [])
    for key, parts in pieces(tables, fmt, split=split).items():
        lines.append(heading(T.SECTION_TITLES[key], 2))
        for sub, grid in parts:
            lines += ([heading(sub, 3)] if sub else []) + ([""] if md else [])
            lines += _grid_lines(grid, layout) + ([""] if md else [])
    lines += [heading("五、存在的主要问题及改进情况", 2), "无。", heading("六、其他需要报告的事项", 2), "无。"]
    return "\n".join(lines) + "\n"


def meta_block(meta: dict) -> str:
    """The 索引号/发布机构/… metadata table that CMS pages put above the article."""
    labels = (
        ("index_no", "索 引 号"),
        ("publisher", "发布机构"),
        ("category", "主题分类"),
        ("doc_no", "文号"),
        ("created_date", "生成日期"),
        ("published_date", "公开日期"),
    )
    cells = [
        f"<td>{name}:</td><td>{htmlmod.escape(str(meta.get(key) or ''))}</td>" for key, name in labels
    ]
    rows = "".join(f"<tr>{cells[i]}{cells[i + 1]}</tr>" for i in range(0, len(cells), 2))
    return f'<table class="xxgk_table">{rows}</table>'


def render_report_html(
    tables: dict, *, fmt: str, title: str, layout: str = "html_table", meta: dict | None = None,
    charset: str = "utf-8", split: bool = False, prose: str | None = None, look: HtmlLook | None = None,
) -> str:
    """A whole report page (str); encode it with ``charset``, which the page declares in <meta>.

    ``look``: how its tables are marked up (:class:`HtmlLook`; the plain markup without).
    """
    if layout not in HTML_LAYOUTS:
        raise ValueError(f"layout must be one of {HTML_LAYOUTS}, not {layout!r}")
    parts = [
        "<!DOCTYPE html>",
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">',
        f"<title>{htmlmod.escape(title)}</title></head><body>",
    ]
    if meta:
        parts.append(meta_block(meta))
    parts.append(f'<div class="article"><h1>{htmlmod.escape(title)}</h1><div class="TRS_Editor">')
    parts.append(f"<p>一、总体情况</p><p>{INTRO}</p>")
    if prose:
        parts.append(f"<p>{htmlmod.escape(prose)}</p>")
    for key, section in pieces(tables, fmt, split=split).items():
        parts.append(f"<p><strong>{T.SECTION_TITLES[key]}</strong></p>")
        for sub, grid in section:
            if sub:
                parts.append(f"<p>{htmlmod.escape(sub)}</p>")
            if layout == "html_table":
                parts.append(_grid_html(grid, look))
            else:
                parts += [f"<p>{htmlmod.escape(line)}</p>" for line in _grid_lines(grid, layout)]
    parts.append("<p>五、存在的主要问题及改进情况</p><p>无。</p><p>六、其他需要报告的事项</p><p>无。</p>")
    parts.append("</div></div></body></html>")
    return "\n".join(parts)


def random_tables(rng: random.Random, fmt: str, *, blanks: bool = False) -> dict:
    """Random tables of one template whose totals are consistent (every check holds).

    With ``blanks`` some zero cells are left blank (``None``), as many sites do.
    """
    def n(hi=30):
        return rng.choice([0, 0, rng.randint(0, hi)])

    def maybe_blank(v):
        return None if blanks and v == 0 and rng.random() < 0.3 else v

    active = {}
    for key, (_, _, columns) in T.ACTIVE[fmt].items():
        row = {}
        for c in columns:
            if c == "change":
                row[c] = rng.randint(-5, 5)
            elif c == "amount":
                row[c] = round(rng.uniform(0, 99999), rng.choice([0, 1, 2]))
                if row[c] == int(row[c]):
                    row[c] = int(row[c])
            else:
                row[c] = n(5000)
        if key == T.UNIT_ROWS[fmt]:
            row["amount_unit"] = "万元" if fmt == "2021" else rng.choice(["元", "万元", None])
        active[key] = row

    keys = [k for k, _, _ in T.APPLICATION_ROWS[fmt]]
    results = [k for k in keys if k in T.RESULT_ROW_KEYS]
    apps: dict[str, dict] = {k: {} for k in keys}
    for col in T.APPLICANT_COLUMNS[:6]:
        for k in results + ["carried_forward"]:
            apps[k][col] = n(20)
        handled = sum(apps[k][col] for k in results)
        apps["total_handled"][col] = handled
        apps["carried_over"][col] = min(n(10), handled + apps["carried_forward"][col])
        apps["new_requests"][col] = handled + apps["carried_forward"][col] - apps["carried_over"][col]
    for k in keys:
        apps[k]["total"] = sum(apps[k][c] for c in T.APPLICANT_COLUMNS[:6])
        for c in T.APPLICANT_COLUMNS:
            apps[k][c] = maybe_blank(apps[k][c])

    review = {}
    for r in T.REVIEW_ROWS:
        row = {c: n(10) for c in T.REVIEW_COLUMNS[:4]}
        row["total"] = sum(row.values())
        review[r] = {c: maybe_blank(v) for c, v in row.items()}
    return {"active_disclosure": active, "applications": apps, "review_litigation": review}
