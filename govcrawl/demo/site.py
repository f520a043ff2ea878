"""Build fake government portals (TRS, Hanweb, JS-only lists) as :class:`Site` objects.

The pieces real portals are made of — TRS list pages paginated by
``createPageHTML(N, i, "index", "html")``, Hanweb column pages with a
``<datastore>`` data island and ``dataproxy.jsp`` paging, lists that only
JavaScript fills, report pages (``render.render_report_html``) and DOCX
attachments — so that tests (``tests/sites/build.py``), the offline demo
(``python -m govcrawl.demo``) and the benchmark (``bench/crawl_bench.py``)
assemble their webs from one place.

Each builder writes into a :class:`govcrawl.demo.server.Site` and returns the
*expected* reports as ``{path: {"tables", "format", "year", "source"}}``
where ``source`` is the path of the document holding the tables.

``generate_bench_site(n_reports, ...)`` makes a large web for benchmarks
(also used by the incremental-recrawl benchmark), a third of its reports in
PDF/DOCX attachments by default; ``cached_bench_site`` keeps a built one on
disk, since building the PDFs takes most of the time.
"""

from __future__ import annotations

import hashlib
import html as htmlmod
import inspect
import io
import itertools
import json
import os
import random
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from govcrawl.demo import render
from govcrawl.demo.server import Site, JPageProxy, JPAGE_PATH, guess_content_type

# Python codec for a declared charset: sites declare gb2312 and send GBK.
_CODECS = {"gb2312": "gbk", "gbk": "gbk", "gb18030": "gb18030", "utf-8": "utf-8"}


def encode(text: str, charset: str) -> bytes:
    return text.encode(_CODECS.get(charset.lower(), charset), "xmlcharrefreplace")


def html_headers(charset: str | None) -> dict:
    """Content-Type for an HTML page; ``charset=None`` sends none (the page's <meta> must tell)."""
    return {"Content-Type": f"text/html; charset={charset}" if charset else "text/html"}


def _page(title: str, body: str, charset: str) -> str:
    return (f'<!DOCTYPE html>\n<html><head><meta http-equiv="Content-Type" '
            f'content="text/html; charset={charset}">\n<title>{htmlmod.escape(title)}</title></head>\n'
            f'<body>\n<div class="header"><a href="/">首页</a></div>\n{body}\n'
            '<div class="footer">版权所有 政府门户网站 网站标识码：0000000000</div>\n</body></html>')


def _links(links: list[tuple[str, str]]) -> str:
    return "\n".join(f'<li><a href="{htmlmod.escape(h)}" target="_blank">{htmlmod.escape(t)}</a></li>'
                     for h, t in links)


# --------------------------------------------------------------------- entries
@dataclass
class ListEntry:
    """One line of a list page."""

    title: str
    href: str
    date: str = "2024-01-15"

    def li(self) -> str:
        return (f'<li><a href="{htmlmod.escape(self.href)}" title="{htmlmod.escape(self.title)}" '
                f'target="_blank">{htmlmod.escape(self.title)}</a><span>{self.date}</span></li>')


@dataclass
class Report:
    """A report to publish: tables rendered in a page, or in an attachment."""

    path: str                     # the report page
    title: str
    year: int
    fmt: str                      # "2019" | "2021"
    tables: dict
    layout: str = "html_table"
    charset: str = "utf-8"
    header_charset: str | None = "same"   # "same" → charset; None → no charset in Content-Type
    meta: dict | None = None
    attachment: str | None = None  # path of a .docx/.pdf holding the tables
    attachment_body: bytes | None = None
    traditional: bool = False      # Traditional characters + <ruby> pinyin, as some sites serve
    extra: dict = field(default_factory=dict)

    def expected(self) -> dict:
        return {"tables": self.tables, "format": self.fmt, "year": self.year,
                "source": self.attachment or self.path}


def publish(site: Site, report: Report) -> None:
    """Add the report page (and its attachment) to ``site``."""
    hcs = report.charset if report.header_charset == "same" else report.header_charset
    if report.attachment:
        name = report.title + Path(report.attachment).suffix
        body = (f'<div class="article"><h1>{htmlmod.escape(report.title)}</h1>'
                f'<div class="TRS_Editor"><p>{htmlmod.escape(report.title)}全文详见附件。</p></div>'
                f'<div class="fj">附件：<a href="{htmlmod.escape(Path(report.attachment).name)}" '
                f'oldsrc="{htmlmod.escape(Path(report.attachment).name)}">{htmlmod.escape(name)}</a></div></div>')
        if report.meta:
            body = render.meta_block(report.meta) + body
        text = _page(report.title, body, report.charset)
        site.add(report.attachment, report.attachment_body or docx_report(report.tables, fmt=report.fmt,
                                                                              title=report.title))
    else:
        text = render.render_report_html(report.tables, fmt=report.fmt, title=report.title,
                                         layout=report.layout, meta=report.meta, charset=report.charset)
    if report.traditional:
        text = traditional_with_ruby(text)
    site.add(report.path, encode(text, report.charset), html_headers(hcs))


# ------------------------------------------------------------ traditional/ruby
# A few characters get <ruby> pinyin, the way some sites annotate their pages.
RUBY = {"報": "bào", "開": "kāi", "県": "xiàn", "縣": "xiàn", "請": "qǐng"}
_TEXT = re.compile(r">([^<]+)<")


def traditional_with_ruby(page: str) -> str:
    """Simplified → Traditional text (OpenCC), some characters wrapped in ``<ruby>`` pinyin."""
    import opencc

    conv = opencc.OpenCC("s2t")

    def fix(m: re.Match) -> str:
        text = conv.convert(m.group(1))
        text = "".join(f"<ruby>{ch}<rp>(</rp><rt>{RUBY[ch]}</rt><rp>)</rp></ruby>" if ch in RUBY else ch
                       for ch in text)
        return f">{text}<"

    head, sep, body = page.partition("<body>")
    if not sep:
        return _TEXT.sub(fix, page)
    # The <title> too (Traditional, no ruby: <title> cannot hold markup).
    head = re.sub(r"<title>([^<]*)</title>", lambda m: f"<title>{conv.convert(m.group(1))}</title>", head)
    return head + sep + _TEXT.sub(fix, body)


# ------------------------------------------------------------------------ DOCX
def docx_report(tables: dict, *, fmt: str, title: str) -> bytes:
    """The report as a Word document: the official template tables with merged cells."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_paragraph("一、总体情况")
    document.add_paragraph(render.INTRO)
    docx_sections(document, tables, fmt)
    document.add_paragraph("五、存在的主要问题及改进情况")
    document.add_paragraph("无。")
    document.core_properties.title = title
    out = io.BytesIO()
    document.save(out)
    return _stable_zip(out.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """The same zip with fixed entry dates, so a rebuilt fixture is byte-identical."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), src.read(info),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def docx_sections(container, tables: dict, fmt: str) -> None:
    """Sections 二 to 四, each title then its table, into a python-docx document or table cell."""
    for key, grid in render.grids(tables, fmt).items():
        container.add_paragraph(render.T.SECTION_TITLES[key])
        _docx_table(container, grid)


def _docx_table(document, grid) -> None:
    # Lay the rowspan/colspan grid out on a rectangle, then merge.
    placed, n_rows, n_cols = render.place(grid)
    table = document.add_table(rows=n_rows, cols=n_cols)
    table.style = "Table Grid"
    # ``table.cell(r, c)`` walks the whole table each call (1.6 s a report); the placed regions do
    # not overlap, so cells looked up once before any merge stay valid for the merges that follow.
    cells = table._cells
    for r, c, rowspan, colspan, text in placed:
        cell = cells[r * n_cols + c]
        if rowspan > 1 or colspan > 1:
            cell = cell.merge(cells[(r + rowspan - 1) * n_cols + c + colspan - 1])
        cell.text = text


# ------------------------------------------------------------------------- PDF
# A TrueType CJK font whose subsets the "embedded" PDFs carry (Debian's fonts-wqy-zenhei, which `make setup` installs).
EMBEDDED_FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
PDF_FONTS = ("cid", "embedded")
BENCH_PDF_FONTS = (*PDF_FONTS, "mixed")  # generate_bench_site(pdf_fonts=...): "mixed" alternates them


@dataclass(frozen=True)
class PdfLook:
    """How a generated report PDF is laid out: page, margins, type sizes, cell padding, rules, column widths.

    Real reports come out of Word, WPS and many templates, so no two agencies' tables sit on the same
    ruling lines.  The default: A4, 30 pt margins, 6 pt cell text left-aligned with reportlab's padding,
    0.5 pt rules all round, no header repeated; :meth:`random` draws a look within what reports exported from an
    office suite show (A4, Letter or 16K pages).
    """

    page: tuple[float, float] | None = None  # points; None: reportlab's A4
    margins: tuple[float, float, float, float] = (30, 30, 30, 30)  # left, right, top, bottom
    text_size: float = 10
    cell_size: float = 6
    padding: tuple[float, float] = (6, 3)  # left/right, top/bottom inside each cell (reportlab's own)
    rule_width: float = 0.5
    box_width: float | None = None  # a heavier outer frame, as many templates draw it
    column_weights: tuple[float, ...] = ()  # each column's width × its weight (cycled), then fitted to the page
    intro_paragraphs: int = 1
    repeat_header: bool = False  # a table broken across pages repeats its header rows, as Word's option does
    centered: bool = False  # cell text centred, as most agencies' templates have it
    open_sides: bool = False  # no rule at the table's left and right ends (两边无边框), as many Chinese documents have
    # "lines": each rule a stroked line; "rects": a filled rectangle the rule's width thick (square ends),
    # as LibreOffice and some Word versions export borders; "rows": rules between the rows only, no column
    # rules (三线表-like); "none": no rules at all.  random() draws the first two only (tables without
    # column rules are rare in these reports; the discovery world and the benchmarks keep their looks).
    borders: str = "lines"
    # None; "cells": a white filled rectangle behind every cell (Word and WPS export cell shading so: the
    # real PDFs in ../shared/real have one per cell); "header": grey behind the header rows only
    fills: str | None = None

    BORDERS = ("lines", "rects", "rows", "none")
    FILLS = (None, "cells", "header")

    def __post_init__(self):
        if self.borders not in self.BORDERS or self.fills not in self.FILLS:
            raise ValueError(f"PdfLook: borders must be lines, rects, rows or none and fills None, cells or header, "
                             f"not {self.borders!r} and {self.fills!r}")

    @classmethod
    def random(cls, rng: random.Random) -> PdfLook:
        return cls(
            page=rng.choice([None, (595.0, 842.0), (612.0, 792.0), (609.4488, 864.5669)]),  # A4, Letter, 16K
            margins=(rng.uniform(28, 70), rng.uniform(28, 70), rng.uniform(28, 100), rng.uniform(28, 80)),
            text_size=rng.choice([9, 10, 10.5, 12]),
            cell_size=rng.choice([5.5, 6, 6, 6.5]),
            padding=(rng.uniform(1.5, 5), rng.uniform(1, 4)),
            rule_width=rng.choice([0.25, 0.5, 0.5, 0.75, 1.0]),
            box_width=rng.choice([None, None, 1.0, 1.5]),
            column_weights=tuple(rng.uniform(0.8, 1.25) for _ in range(rng.randint(2, 5))),
            intro_paragraphs=rng.randint(0, 3),
            repeat_header=rng.random() < 0.5,
            centered=rng.random() < 0.6,
            open_sides=rng.random() < 0.25,
            borders=rng.choice(["lines", "lines", "rects"]),
            fills=rng.choice([None, None, "cells", "header"]),
        )


def _column_widths(base: list[float], weights: tuple[float, ...], width: float) -> list[float]:
    if not weights:
        return base
    weighted = [w * weights[i % len(weights)] for i, w in enumerate(base)]
    return [w * width / sum(weighted) for w in weighted]


def pdf_report(tables: dict, *, fmt: str, title: str, font: str = "cid", look: PdfLook | None = None) -> bytes:
    """The report as a PDF with ruled tables and merged cells (reportlab).

    ``font``: ``"cid"`` names Adobe's STSong CJK font without embedding it (no font file
    needed; a reader substitutes a system font, as for PDFs made by some older tools);
    ``"embedded"`` embeds subsets of a TrueType CJK font (:data:`EMBEDDED_FONT_FILE`), as
    Word/WPS-made PDFs do, which is how real reports come (every font of the three real
    PDFs in ``../shared/real`` is an embedded subset).
    ``look``: page, margins, type and rules (:class:`PdfLook`; its default when omitted).
    Deterministic (``invariant``), so a rebuilt web is byte-identical.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if font == "cid":
        font = "STSong-Light"
        if font not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(font))
    elif font == "embedded":
        font = "WenQuanYiZenHei"
        if font not in pdfmetrics.getRegisteredFontNames():
            if not EMBEDDED_FONT_FILE.is_file():
                raise FileNotFoundError(f"{EMBEDDED_FONT_FILE} is missing (Debian's fonts-wqy-zenhei; `make setup` "
                                        "installs it); font='cid' needs no font file")
            from reportlab.pdfbase.ttfonts import TTFont

            pdfmetrics.registerFont(TTFont(font, str(EMBEDDED_FONT_FILE), subfontIndex=0))
    else:
        raise ValueError(f"font must be one of {PDF_FONTS}, not {font!r}")
    look = look or PdfLook()
    text_style = ParagraphStyle("text", fontName=font, fontSize=look.text_size, leading=look.text_size * 1.4,
                                wordWrap="CJK")
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=look.cell_size, leading=look.cell_size * 1.25,
                                wordWrap="CJK", alignment=1 if look.centered else 0)
    out = io.BytesIO()
    page = look.page or A4
    left, right, top, bottom = look.margins
    doc = SimpleDocTemplate(out, pagesize=page, invariant=1, title=title, leftMargin=left, rightMargin=right,
                            topMargin=top, bottomMargin=bottom)
    story = [Paragraph(htmlmod.escape(title), ParagraphStyle("h", parent=text_style, fontSize=14, leading=20)),
             Paragraph("一、总体情况", text_style)]
    story += [Paragraph(render.INTRO, text_style)] * look.intro_paragraphs + [Spacer(1, 8)]
    pad_x, pad_y = look.padding
    for key, grid in render.grids(tables, fmt).items():
        placed, n_rows, n_cols = render.place(grid)
        data = [["" for _ in range(n_cols)] for _ in range(n_rows)]
        commands = [("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), pad_x), ("RIGHTPADDING", (0, 0), (-1, -1), pad_x),
                    ("TOPPADDING", (0, 0), (-1, -1), pad_y), ("BOTTOMPADDING", (0, 0), (-1, -1), pad_y)]
        if look.borders in ("rows", "none"):
            if look.borders == "rows":
                commands += [("LINEABOVE", (0, 0), (-1, 0), look.box_width or look.rule_width, colors.black),
                             ("LINEBELOW", (0, 0), (-1, -1), look.rule_width, colors.black)]
        elif look.open_sides:  # rules between the columns and rows, and above and below the table; none at its ends
            frame = look.box_width or look.rule_width
            commands += [("INNERGRID", (0, 0), (-1, -1), look.rule_width, colors.black),
                         ("LINEABOVE", (0, 0), (-1, 0), frame, colors.black),
                         ("LINEBELOW", (0, -1), (-1, -1), frame, colors.black)]
        else:
            commands.append(("GRID", (0, 0), (-1, -1), look.rule_width, colors.black))
            if look.box_width:
                commands.append(("BOX", (0, 0), (-1, -1), look.box_width, colors.black))
        header_rows = render.header_rows(grid, 0)
        for r, c, rowspan, colspan, text in placed:
            data[r][c] = Paragraph(htmlmod.escape(text), cell_style) if text else ""
            if rowspan > 1 or colspan > 1:
                commands.append(("SPAN", (c, r), (c + colspan - 1, r + rowspan - 1)))
            if look.fills == "cells" or (look.fills == "header" and r < header_rows):
                commands.insert(0, ("BACKGROUND", (c, r), (c + colspan - 1, r + rowspan - 1),
                                    colors.white if look.fills == "cells" else colors.Color(0.85, 0.85, 0.85)))
        width = page[0] - left - right
        # the 三 table: three label columns, seven number columns; it must fit one page (merged cells do not split)
        if key == "applications":  # label columns narrowed only where the numbers would not fit
            labels = [w * min(1.0, (width - 7 * 32) / 270) for w in (60, 60, 150)]
            base = labels + [(width - sum(labels)) / 7] * 7
        else:
            base = [width / n_cols] * n_cols
        widths = _column_widths(base, look.column_weights, width)
        story += [Paragraph(render.T.SECTION_TITLES[key], text_style), Spacer(1, 4),
                  Table(data, colWidths=widths, style=TableStyle(commands),
                        repeatRows=header_rows if look.repeat_header else 0), Spacer(1, 8)]
    story += [Paragraph("五、存在的主要问题及改进情况", text_style), Paragraph("无。", text_style)]
    doc.build(story, **({"canvasmaker": _rect_rule_canvas()} if look.borders == "rects" else {}))
    return out.getvalue()


def _rect_rule_canvas():
    """A reportlab canvas that draws every horizontal or vertical line as a filled rectangle (square ends)."""
    from reportlab.pdfgen.canvas import Canvas

    class RectRuleCanvas(Canvas):
        def line(self, x1, y1, x2, y2):
            half = self._lineWidth / 2
            if y1 != y2 and x1 != x2:
                return super().line(x1, y1, x2, y2)
            left, right, bottom, top = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
            self.saveState()
            self.setFillColor(self._strokeColorObj)
            self.rect(left - half, bottom - half, right - left + 2 * half, top - bottom + 2 * half, stroke=0, fill=1)
            self.restoreState()

    return RectRuleCanvas


# ------------------------------------------------------------------------- TRS
TRS_PAGER_JS = """<script language="javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
  if(_nPageCount == null || _nPageCount<=1){ return; }
  var nCurrIndex = _nCurrIndex || 0;
  if(nCurrIndex == 0) document.write("<span>首页</span> ");
  else document.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">首页</a> ");
  if(nCurrIndex > 0){
    var prev = nCurrIndex - 1;
    document.write("<a href=\\""+_sPageName+(prev==0?"":"_"+prev)+"."+_sPageExt+"\\">上一页</a> ");
  }
  if(nCurrIndex + 1 < _nPageCount)
    document.write("<a href=\\""+_sPageName+"_"+(nCurrIndex+1)+"."+_sPageExt+"\\">下一页</a> ");
  document.write("<a href=\\""+_sPageName+"_"+(_nPageCount-1)+"."+_sPageExt+"\\">尾页</a>");
}
</script>"""


def trs_list_page(column_title: str, entries: list[ListEntry], index: int, count: int,
                  charset: str, site_title: str) -> str:
    items = "\n".join(e.li() for e in entries)
    body = (f'<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="../">政府信息公开</a> &gt; '
            f'{htmlmod.escape(column_title)}</div>\n{TRS_PAGER_JS}\n'
            f'<div class="list"><ul class="list_ul">\n{items}\n</ul></div>\n'
            f'<div class="page"><script>createPageHTML({count}, {index}, "index", "html");</script></div>')
    return _page(f"{column_title}_{site_title}", body, charset)


def trs_portal(site: Site, *, site_title: str, pages: list[list[ListEntry]], charset: str = "gb2312",
               column_path: str = "/zfxxgk/ndbg/", column_title: str = "政府信息公开年报",
               header_charsets: dict[str, str | None] | None = None) -> list[str]:
    """Homepage → 政府信息公开 → the 年报 column paginated over ``index.html``, ``index_1.html``, ...

    ``header_charsets`` overrides the Content-Type charset per path (``None`` = no charset).
    Returns the list page paths.
    """
    header_charsets = header_charsets or {}
    gk = column_path.rstrip("/").rsplit("/", 1)[0] + "/"

    def add(path: str, text: str) -> None:
        site.add(path, encode(text, charset), html_headers(header_charsets.get(path, charset)))

    add("/index.html", _page(site_title, (
        '<div class="nav"><ul>'
        + _links([("/", "首页"), ("/zwdt/", "政务动态"), (gk, "政府信息公开"),
                  ("/hdjl/", "互动交流"), ("/bsfw/", "办事服务")])
        + '</ul></div>\n<div class="news"><ul>'
        + _links([("/zwdt/202401/t20240110_501.html", f"{site_title}召开常务会议"),
                  ("/zwdt/202401/t20240108_502.html", "我市开展安全生产大检查")])
        + "</ul></div>"), charset))
    add("/zwdt/index.html", _page("政务动态", '<ul class="list_ul">' + _links(
        [("./202401/t20240110_501.html", f"{site_title}召开常务会议")]) + "</ul>", charset))
    add("/zwdt/202401/t20240110_501.html", _page(f"{site_title}召开常务会议",
                                                 "<p>会议研究了近期工作。</p>", charset))
    add("/zwdt/202401/t20240108_502.html", _page("我市开展安全生产大检查", "<p>检查覆盖全市。</p>", charset))
    add(gk + "index.html", _page(f"政府信息公开_{site_title}", (
        '<div class="gk_nav"><ul>'
        + _links([("./zn/", "政府信息公开指南"), ("./zd/", "政府信息公开制度"),
                  ("./fdzdgknr/", "法定主动公开内容"), (column_path.removeprefix(gk) or "./", column_title),
                  ("./ysqgk/", "依申请公开")])
        + "</ul></div>"), charset))
    for sub, title in (("zn", "政府信息公开指南"), ("zd", "政府信息公开制度"), ("fdzdgknr", "法定主动公开内容"),
                       ("ysqgk", "依申请公开")):
        add(f"{gk}{sub}/index.html", _page(title, f"<p>{title}。</p>", charset))
    paths = []
    for i, entries in enumerate(pages):
        path = column_path + ("index.html" if i == 0 else f"index_{i}.html")
        add(path, trs_list_page(column_title, entries, i, len(pages), charset, site_title))
        paths.append(path)
    return paths


def text_page(site: Site, path: str, title: str, paragraphs: list[str], charset: str = "utf-8",
              header_charset: str | None = "same") -> None:
    """A plain article page (the noise a report crawler must not take for a report)."""
    body = f'<div class="article"><h1>{htmlmod.escape(title)}</h1>' + "".join(
        f"<p>{htmlmod.escape(p)}</p>" for p in paragraphs) + "</div>"
    site.add(path, encode(_page(title, body, charset), charset),
             html_headers(charset if header_charset == "same" else header_charset))


# --------------------------------------------------------------------- generic
def generic_portal(site: Site, *, site_title: str, pages: list[list[ListEntry]], charset: str = "utf-8",
                   header_charset: str | None = "same", list_path: str = "/xxgk/ndbg/list.jsp") -> list[str]:
    """Homepage → 信息公开 → a list paged by ``?page=N`` with 上一页/下一页 links only (no 尾页).

    Returns the list page URLs (paths with their query).
    """
    hcs = charset if header_charset == "same" else header_charset
    gk = list_path.rstrip("/").rsplit("/", 2)[0] + "/"

    def add(path: str, text: str) -> None:
        site.add(path, encode(text, charset), html_headers(hcs))

    add("/index.html", _page(site_title, '<div class="nav"><ul>' + _links([
        ("/", "首页"), (gk + "index.html", "信息公开"), ("/news/list.jsp?page=1", "新闻动态")]) + "</ul></div>", charset))
    add("/news/list.jsp?page=1", _page("新闻动态", "<p>暂无信息</p>", charset))
    add(gk + "index.html", _page(f"信息公开_{site_title}", '<ul class="gk">' + _links([
        (gk + "zn.html", "政府信息公开指南"), (f"{list_path}?page=1", "政府信息公开工作年度报告")]) + "</ul>",
        charset))
    add(gk + "zn.html", _page("政府信息公开指南", "<p>指南全文。</p>", charset))
    name = list_path.rsplit("/", 1)[1]
    paths = []
    for i, entries in enumerate(pages, 1):
        pager = []
        if i > 1:
            pager.append(f'<a href="{name}?page={i - 1}">上一页</a>')
        pager.append(f"<span>第{i}页</span>")
        if i < len(pages):
            pager.append(f'<a href="{name}?page={i + 1}">下一页</a>')
        body = ('<div class="position">当前位置：首页 &gt; 信息公开 &gt; 政府信息公开工作年度报告</div>\n'
                '<table class="list">' + "".join(
                    f'<tr><td><a href="{htmlmod.escape(e.href)}">{htmlmod.escape(e.title)}</a></td>'
                    f"<td>{e.date}</td></tr>" for e in entries)
                + '</table>\n<div class="pager">' + " ".join(pager) + "</div>")
        path = f"{list_path}?page={i}"
        add(path, _page(f"政府信息公开工作年度报告_{site_title}", body, charset))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------- Hanweb
def hanweb_record(href: str, title: str, date: str) -> str:
    return (f'<li><a href="{htmlmod.escape(href)}" target="_blank" title="{htmlmod.escape(title)}">'
            f'{htmlmod.escape(title)}</a><span>{date}</span></li>')


def hanweb_portal(site: Site, *, site_title: str, records: list[str], perpage: int = 15,
                  first: int | None = None, columnid: int = 1234, unitid: int = 5678, webid: int = 12,
                  column_title: str = "政府信息公开年报") -> str:
    """Homepage → 信息公开 → ``/col/col{columnid}/index.html``: jpage list over ``records``.

    The page's data island holds the first ``first`` records (default one page);
    the rest come from ``dataproxy.jsp``.  Returns the column path.
    """
    first = perpage if first is None else first
    col_path = f"/col/col{columnid}/index.html"

    def add(path: str, text: str) -> None:
        site.add(path, text.encode("utf-8"), html_headers("utf-8"))

    add("/index.html", _page(site_title, '<div class="nav"><ul>' + _links([
        ("/", "首页"), ("/col/col100/index.html", "政务公开"), ("/col/col200/index.html", "新闻中心")])
        + "</ul></div>", "utf-8"))
    add("/col/col200/index.html", _page("新闻中心", "<p>暂无信息</p>", "utf-8"))
    add("/col/col100/index.html", _page(f"政府信息公开_{site_title}", '<ul class="gk">' + _links([
        ("/col/col101/index.html", "政府信息公开指南"), (col_path, column_title),
        ("/col/col102/index.html", "政府信息公开制度")]) + "</ul>", "utf-8"))
    add("/col/col101/index.html", _page("政府信息公开指南", "<p>指南全文。</p>", "utf-8"))
    add("/col/col102/index.html", _page("政府信息公开制度", "<p>制度全文。</p>", "utf-8"))
    total = len(records)
    pages = (total + perpage - 1) // perpage
    nextgroup = (f'<a href="{JPAGE_PATH}?page=1&appid=1&webid={webid}&path=/&columnid={columnid}'
                 f'&unitid={unitid}&webname={htmlmod.escape(site_title)}&permissiontype=0"></a>')
    island = "\n".join(f"<record><![CDATA[{r}]]></record>" for r in records[:first])
    body = (f'<div class="position">当前位置：首页 &gt; 政务公开 &gt; {htmlmod.escape(column_title)}</div>\n'
            f'<div id="{unitid}"><script type="text/xml"><datastore>\n'
            f'<nextgroup><![CDATA[{nextgroup}]]></nextgroup>\n'
            f"<totalrecord>{total}</totalrecord>\n<totalpage>{pages}</totalpage>\n"
            f"<recordset>\n{island}\n</recordset></datastore></script></div>\n"
            '<script language="javascript" src="/module/jslib/jquery/jpage/jquery.jpage.js"></script>\n'
            "<script>$(function(){$('#%d').jpage({dataStore:dataStore,perPage:%d,totalRecord:%d,"
            "proxyUrl:'%s',groupSize:3,barPosition:'bottom',dataBefore:'<ul class=\"list\">',"
            "dataAfter:'</ul>',ajaxParam:{col:1,appid:1,webid:%d,path:'/',columnid:%d,"
            "sourceContentType:1,unitid:%d,webname:'%s',permissiontype:0}});});</script>"
            % (unitid, perpage, total, JPAGE_PATH, webid, columnid, unitid, htmlmod.escape(site_title)))
    add(col_path, _page(f"{column_title}_{site_title}", body, "utf-8"))
    site.add_jpage(columnid, records)
    return col_path


# ------------------------------------------------------------------- JS lists
def js_list_portal(site: Site, *, site_title: str, entries: list[ListEntry],
                   column_path: str = "/xxgk/ndbg/", api_path: str = "/api/ndbg.json") -> str:
    """Homepage → 信息公开 → a 年度报告 list whose ``<ul id="list">`` only JavaScript fills."""

    def add(path: str, text: str) -> None:
        site.add(path, text.encode("utf-8"), html_headers("utf-8"))

    gk = column_path.rstrip("/").rsplit("/", 1)[0] + "/"
    add("/index.html", _page(site_title, '<div class="nav"><ul>' + _links([
        ("/", "首页"), (gk, "政府信息公开"), ("/news/", "要闻动态")]) + "</ul></div>", "utf-8"))
    add("/news/index.html", _page("要闻动态", "<p>暂无信息</p>", "utf-8"))
    add(gk + "index.html", _page(f"政府信息公开_{site_title}", '<ul class="gk">' + _links([
        ("./zn/", "政府信息公开指南"), (column_path.removeprefix(gk), "政府信息公开年度报告")]) + "</ul>", "utf-8"))
    add(gk + "zn/index.html", _page("政府信息公开指南", "<p>指南全文。</p>", "utf-8"))
    body = ('<div class="position">当前位置：首页 &gt; 政府信息公开 &gt; 政府信息公开年度报告</div>\n'
            '<ul id="list"></ul>\n'
            "<script>\n"
            f"fetch('{api_path}').then(function(r){{return r.json();}}).then(function(data){{\n"
            "  var ul = document.getElementById('list');\n"
            "  data.items.forEach(function(it){\n"
            "    var li = document.createElement('li'); var a = document.createElement('a');\n"
            "    a.href = it.url; a.textContent = it.title; li.appendChild(a);\n"
            "    var s = document.createElement('span'); s.textContent = it.date; li.appendChild(s);\n"
            "    ul.appendChild(li);\n"
            "  });\n"
            "});\n</script>")
    add(column_path + "index.html", _page(f"政府信息公开年度报告_{site_title}", body, "utf-8"))
    data = {"items": [{"title": e.title, "url": e.href, "date": e.date} for e in entries]}
    site.add(api_path, json.dumps(data, ensure_ascii=False).encode("utf-8"),
             {"Content-Type": "application/json; charset=utf-8"})
    return column_path + "index.html"


# ------------------------------------------------------------- saving to disk
def save_site(site: Site, directory: str | Path, *, content_types: dict | None = None) -> None:
    """Write ``site`` as files + ``manifest.json`` so that ``Site.from_dir`` loads it back."""
    root = Path(directory)
    content_types = content_types or {}
    manifest: dict = {"content_types": content_types, "files": {}, "redirects": {}, "jpage": []}
    for path in site.paths():
        res = site.resources[path]
        if res.status in (301, 302, 303, 307, 308):
            manifest["redirects"][path] = {"location": res.headers["Location"], "status": res.status}
            continue
        spec = {}
        if "?" in path:  # no file name can say it: a hidden file named in the manifest
            bare, query = path.split("?", 1)
            rel = "_query/" + re.sub(r"[^\w.=-]+", "_", bare.strip("/") + "_" + query)
            if not rel.endswith(".html") and guess_content_type(bare) == "text/html":
                rel += ".html"
            spec["file"] = rel
            file = root / rel
        else:
            file = root / path.lstrip("/")
            if path.endswith("/"):
                file = file / "index.html"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(res.body)
        inferred = content_types.get(file.suffix.lower(), guess_content_type(path))
        if res.headers.get("Content-Type") != inferred or len(res.headers) > 1:
            spec["headers"] = res.headers
        if res.status != 200:
            spec["status"] = res.status
        if spec:
            manifest["files"][path] = spec
    for path, handler in site.handlers.items():
        if not isinstance(handler, JPageProxy):
            raise ValueError(f"cannot save handler at {path}")
        for columnid, records in handler.columns.items():
            rel = f"_jpage/{columnid}.json"
            (root / "_jpage").mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", "utf-8")
            manifest["jpage"].append({"columnid": columnid, "records": rel, "path": path})
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", "utf-8")


# --------------------------------------------------------- demo & benchmark
def build_demo_site(seed: int = 2024) -> tuple[Site, dict]:
    """The small portal of ``python -m govcrawl.demo``: 6 reports over 2 TRS list pages, plus noise."""
    rng = random.Random(seed)
    site = Site()
    name = "示例市人民政府"
    reports = []
    for i, (agency, year) in enumerate([("示例市人民政府", 2024), ("示例市人民政府", 2023),
                                        ("示例市教育局", 2023), ("示例市财政局", 2022),
                                        ("示例市人民政府", 2020), ("示例市交通运输局", 2019)]):
        fmt = "2021" if year >= 2021 else "2019"
        path = f"/zfxxgk/ndbg/{year + 1}01/t{year + 1}0115_{100 + i}.html"
        reports.append(Report(path=path, title=f"{agency}{year}年政府信息公开工作年度报告", year=year,
                              fmt=fmt, tables=render.random_tables(rng, fmt), charset="gb2312",
                              meta={"index_no": f"000000000/{year + 1}-0000{i}", "publisher": agency,
                                    "published_date": f"{year + 1}-01-15", "created_date": f"{year + 1}-01-14"},
                              attachment=(f"/zfxxgk/ndbg/{year + 1}01/P0{year + 1}0115000000{i}.docx"
                                          if i == 3 else None)))
    for r in reports:
        publish(site, r)
    noise = [("示例市人民政府2023年政府信息公开工作年度报告解读", "/zfxxgk/ndbg/202401/t20240116_201.html"),
             ("关于报送2023年度政府信息公开工作年度报告的通知", "/zfxxgk/ndbg/202312/t20231201_202.html")]
    for title, path in noise:
        text_page(site, path, title, ["本文为解读与通知，不含统计表。"], charset="gb2312")
    entries = [ListEntry(r.title, r.path, f"{r.year + 1}-01-15") for r in reports]
    entries += [ListEntry(t, p, "2024-01-16") for t, p in noise]
    trs_portal(site, site_title=name, pages=[entries[:4], entries[4:]])
    return site, {r.path: r.expected() for r in reports}


BENCH_ATTACHMENT_KINDS = ("pdf", "docx", "pdf", "pdf_list")
"""How attachment reports of the bench web cycle: half PDFs behind a report page, a quarter DOCX behind a
report page, a quarter PDFs linked straight from the list (its gold key is then the PDF's own path)."""


def bench_report_kinds(n_reports: int, attachment_share: float, seed: int) -> list[str]:
    """``"html"`` or one of :data:`BENCH_ATTACHMENT_KINDS` per report, deterministic by ``seed``.

    Exactly ``round(n_reports * attachment_share)`` reports are attachments, spread at random over the web.
    """
    n_attach = round(n_reports * attachment_share)
    chosen = sorted(random.Random(f"bench-kinds-{seed}").sample(range(n_reports), n_attach))
    kinds = ["html"] * n_reports
    for j, i in enumerate(chosen):
        kinds[i] = BENCH_ATTACHMENT_KINDS[j % len(BENCH_ATTACHMENT_KINDS)]
    return kinds


def _bench_look(seed: int, portal: int, index: int) -> PdfLook:
    """Each bench PDF's own :class:`PdfLook`, drawn apart from the web's ``rng`` (the tables stay as they were)."""
    return PdfLook.random(random.Random(f"bench-pdf-look-{seed}-{portal}-{index}"))


def generate_bench_site(n_reports: int = 1000, *, n_portals: int = 5, per_page: int = 20, seed: int = 0,
                        charset: str = "utf-8", attachment_share: float = 1 / 3,
                        pdf_fonts: str = "embedded") -> list[tuple[str, Site, dict]]:
    """A web of ``n_reports`` reports spread over ``n_portals`` TRS-style portals.

    Each portal: homepage → 政府信息公开 → 年报 column of ``per_page`` links a
    page (``createPageHTML`` pagination); report pages rendered from
    ``random_tables`` (both templates).  A share ``attachment_share`` of the
    reports (a third by default, as on real portals) hold their tables in an
    attachment instead (:func:`bench_report_kinds`): a PDF (``pdf_report``) or
    DOCX (``docx_report``) linked from a report page, or a PDF linked straight
    from the list.  Returns ``[(portal_name, site, expected)]`` with
    ``expected = {report_path: Report.expected()}`` (a list-linked PDF's key is
    its own path; ``source`` is always the document holding the tables); serve
    each site with its own :class:`DemoServer`.  ``pdf_fonts``: ``"embedded"``
    (subset fonts inside each PDF, as real reports have them), ``"cid"`` (a
    font named, not embedded) or ``"mixed"`` (every other PDF of each).  Every PDF has a
    :class:`PdfLook` of its own (page size, margins, type, padding, rules, column widths), so
    no reader shortcut keyed on where the ruling lines fall can pay off here.

    Building the PDFs/DOCX takes most of the time (~70 ms a PDF, ~90 ms a DOCX):
    :func:`cached_bench_site` keeps a built web on disk.
    """
    rng = random.Random(seed)
    kinds = iter(bench_report_kinds(n_reports, attachment_share, seed))
    if pdf_fonts not in BENCH_PDF_FONTS:
        raise ValueError(f"pdf_fonts must be one of {BENCH_PDF_FONTS}, not {pdf_fonts!r}")
    fonts = itertools.cycle(("embedded", "cid") if pdf_fonts == "mixed" else (pdf_fonts,))
    out = []
    per_portal = [n_reports // n_portals + (1 if i < n_reports % n_portals else 0) for i in range(n_portals)]
    for p, count in enumerate(per_portal):
        site = Site()
        name = f"基准市{p + 1}人民政府"
        expected = {}
        entries = []
        for i in range(count):
            kind = next(kinds)
            year = 2019 + i % 6
            fmt = "2021" if year >= 2021 else "2019"
            agency = f"基准市{p + 1}第{i + 1}局"
            path = f"/zfxxgk/ndbg/{year + 1}01/t{year + 1}0115_{p}{i:05d}.html"
            title = f"{agency}{year}年政府信息公开工作年度报告"
            tables = render.random_tables(rng, fmt)
            if kind == "pdf_list":
                path = f"/zfxxgk/ndbg/{year + 1}01/P0{year + 1}0115{p}{i:05d}.pdf"
                r = Report(path=path, title=title, year=year, fmt=fmt, tables=tables, attachment=path)
                site.add(path, pdf_report(tables, fmt=fmt, title=title, font=next(fonts), look=_bench_look(seed, p, i)),
                         {"Content-Type": "application/pdf"})
            else:
                attachment = body = None
                if kind in ("pdf", "docx"):
                    attachment = f"/zfxxgk/ndbg/{year + 1}01/P0{year + 1}0115{p}{i:05d}.{kind}"
                    body = (pdf_report(tables, fmt=fmt, title=title, font=next(fonts), look=_bench_look(seed, p, i))
                            if kind == "pdf"
                            else docx_report(tables, fmt=fmt, title=title))
                r = Report(path=path, title=title, year=year, fmt=fmt, tables=tables, charset=charset,
                           attachment=attachment, attachment_body=body)
                publish(site, r)
            expected[path] = r.expected()
            entries.append(ListEntry(r.title, f".{path.removeprefix('/zfxxgk/ndbg')}", f"{year + 1}-01-15"))
        pages = [entries[i:i + per_page] for i in range(0, len(entries), per_page)] or [[]]
        trs_portal(site, site_title=name, pages=pages, charset=charset)
        out.append((name, site, expected))
    return out


BENCH_CACHE_DIR = Path(tempfile.gettempdir()) / "govcrawl-bench-webs"


def cached_bench_site(n_reports: int = 1000, *, cache_dir: str | Path | None = None,
                      **params) -> list[tuple[str, Site, dict]]:
    """:func:`generate_bench_site`, kept on disk between runs (building 1000 reports' PDFs takes ~30 s).

    The cache (default: :data:`BENCH_CACHE_DIR`) is keyed by the parameters and by the source
    of this module and ``render``, so changing the generator rebuilds the web.
    """
    bound = inspect.signature(generate_bench_site).bind(n_reports, **params)
    bound.apply_defaults()  # the same web under the same key, however its parameters were spelled
    key_parts = dict(bound.arguments)
    digest = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode())
    for module_file in (__file__, render.__file__):
        digest.update(Path(module_file).read_bytes())
    root = Path(cache_dir or BENCH_CACHE_DIR)
    web_dir = root / f"web-{n_reports}-{digest.hexdigest()[:16]}"
    if (web_dir / "web.json").is_file():
        index = json.loads((web_dir / "web.json").read_text("utf-8"))
        return [(portal["name"], Site.from_dir(web_dir / portal["dir"]), portal["expected"])
                for portal in index]
    web = generate_bench_site(n_reports, **params)
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=web_dir.name + ".", dir=root))
    index = []
    for p, (name, site, expected) in enumerate(web):
        save_site(site, building / f"portal{p}")
        index.append({"name": name, "dir": f"portal{p}", "expected": expected})
    (building / "web.json").write_text(json.dumps(index, ensure_ascii=False) + "\n", "utf-8")
    try:
        os.rename(building, web_dir)  # atomic: a concurrent run sees a whole web or none
    except OSError:  # another run got there first
        shutil.rmtree(building, ignore_errors=True)
    return web
