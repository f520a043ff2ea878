"""Render report tables as pictures: what a scanned or "图片版" report looks like.

Used by the OCR tests, the fake web (a report page made of images, an
image-only PDF) and the OCR benchmark.  The tables are the official template
grids of ``render.grids`` drawn with Pillow and a CJK font from the system
(``fonts-noto-cjk`` or ``fonts-wqy-zenhei``, installed by ``make setup``):
ruling lines, merged cells, labels wrapped inside their cell.  ``font=`` picks
one of ``FONTS`` (``sans``, the default, ``sans-bold``, ``serif``, ``zenhei``):
real reports come in all of them, and the recogniser reads a lone digit of
each differently.

* ``report_pages(tables, fmt=, title=, dpi=, font=)`` – A4 pages (PIL images): title,
  section headings and tables; a table too long for a page goes on over the
  next page, as real scans do.
* ``section_image(tables, fmt=, section=, font=)`` – one section's table alone, as a
  screenshot pasted into a report page.
* ``image_pdf(pages, dpi=)`` – an image-only PDF (no text layer) of pages.
* ``degrade(image, angle=, jpeg_quality=)`` – a slightly rotated, JPEG-compressed copy.
* ``png(image)`` – PNG bytes.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from govcrawl.demo import render
from govcrawl.demo.render import place
from govcrawl.extract import template as T

# The SC face is index 2 of a Noto CJK .ttc; WenQuanYi Zen Hei is index 0 of its own.
FONTS = {
    "sans": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    "sans-bold": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    "serif": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    "zenhei": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
}
A4_INCHES = (8.27, 11.69)
# Relative column widths of each section's table (label columns wide, number columns narrow).
_WIDTHS = {
    "active_disclosure": (3, 2, 2, 2),
    "applications": (1.1, 1.3, 3.2) + (1,) * 7,
    "review_litigation": (1,) * 15,
}


def installed_fonts() -> list[str]:
    """The names of ``FONTS`` whose file is on this machine."""
    return [name for name, (path, _) in FONTS.items() if Path(path).is_file()]


@lru_cache(maxsize=8)
def cjk_font_file(font: str = "sans") -> tuple[str, int]:
    """The CJK font ``font`` names (path, index in the collection), else the first CJK font this machine has."""
    if font not in FONTS:
        raise ValueError(f"unknown font {font!r}: one of {', '.join(FONTS)}")
    for path, index in [FONTS[font], FONTS["sans"], FONTS["zenhei"]]:
        if Path(path).is_file():
            return path, index
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}|%{index}", ":lang=zh-cn"],
                             capture_output=True, text=True, check=False).stdout
        path, _, index = out.partition("|")
        if path and Path(path).is_file():
            return path, int(index or 0)
    raise RuntimeError("no CJK font found: install fonts-noto-cjk or fonts-wqy-zenhei (make setup does)")


@lru_cache(maxsize=32)
def _font(size: int, font: str = "sans"):
    from PIL import ImageFont

    path, index = cjk_font_file(font)
    return ImageFont.truetype(path, size, index=index)


def _wrap(text: str, font, width: float) -> list[str]:
    """Break CJK text anywhere, as Word does in a narrow cell."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and font.getlength(line + ch) > width:
            lines.append(line)
            line = ""
        line += ch
    if line or not lines:
        lines.append(line)
    return lines


def _layout_table(grid, widths: list[float], font, pad: int):
    """Cells with pixel geometry: [(row, col, rowspan, colspan, text, lines)], column x's, row heights."""
    placed, n_rows, n_cols = place(grid)
    xs = [0.0]
    for w in widths[:n_cols]:
        xs.append(xs[-1] + w)
    line_h = int(font.size * 1.35)
    heights = [line_h + 2 * pad] * n_rows
    cells = []
    for r, c, rowspan, colspan, text in placed:
        lines = _wrap(text, font, xs[c + colspan] - xs[c] - 2 * pad) if text else []
        cells.append((r, c, rowspan, colspan, text, lines))
        if rowspan == 1:
            heights[r] = max(heights[r], len(lines) * line_h + 2 * pad)
    for r, _, rowspan, _, _, lines in cells:  # a merged cell taller than its rows stretches the last
        need = len(lines) * line_h + 2 * pad
        have = sum(heights[r:r + rowspan])
        if need > have:
            heights[r + rowspan - 1] += need - have
    return cells, xs, heights, line_h


def _draw_table(draw, cells, xs, heights, line_h, font, x0: int, y0: int, rows: range) -> None:
    """Rows ``rows`` of a table at (x0, y0); a merged cell cut by the page keeps its text on its first part."""
    ys = [y0]
    for r in rows:
        ys.append(ys[-1] + heights[r])
    first, stop = rows.start, rows.stop
    for r, c, rowspan, colspan, _, lines in cells:
        top, bottom = max(r, first), min(r + rowspan, stop)
        if top >= bottom:
            continue
        box = (x0 + xs[c], ys[top - first], x0 + xs[c + colspan], ys[bottom - first])
        draw.rectangle(box, outline="black", width=2)
        if r < first:
            continue  # the continuation of a merged cell on the next page is blank
        text_h = len(lines) * line_h
        y = (box[1] + box[3] - text_h) / 2
        for line in lines:
            w = font.getlength(line)
            draw.text(((box[0] + box[2] - w) / 2, y), line, fill="black", font=font)
            y += line_h


def section_image(tables: dict, *, fmt: str, section: str, dpi: int = 150, heading: bool = True,
                  font: str = "sans"):
    """One section's table as a picture (its heading above it when ``heading``), drawn in ``font``."""
    from PIL import Image, ImageDraw

    scale = dpi / 72
    cell_font = _font(round(9 * scale), font)
    grid = render.grids(tables, fmt)[section]
    width = int(A4_INCHES[0] * dpi) - 2 * int(0.6 * dpi)
    rel = _WIDTHS[section]
    widths = [width * w / sum(rel) for w in rel]
    cells, xs, heights, line_h = _layout_table(grid, widths, cell_font, pad=round(3 * scale))
    margin = round(10 * scale)
    top = margin + (line_h * 2 if heading else 0)
    image = Image.new("RGB", (width + 2 * margin, top + sum(heights) + margin), "white")
    draw = ImageDraw.Draw(image)
    if heading:
        draw.text((margin, margin), T.SECTION_TITLES[section], fill="black", font=_font(round(11 * scale), font))
    _draw_table(draw, cells, xs, heights, line_h, cell_font, margin, top, range(len(heights)))
    return image


def report_pages(tables: dict, *, fmt: str, title: str, dpi: int = 150, font: str = "sans") -> list:
    """The report on A4 pages, drawn in ``font``; a table goes on over the next page where it does not fit."""
    from PIL import Image, ImageDraw

    scale = dpi / 72
    page_w, page_h = int(A4_INCHES[0] * dpi), int(A4_INCHES[1] * dpi)
    margin = int(0.6 * dpi)
    width = page_w - 2 * margin
    body_font, cell_font, title_font = (_font(round(10.5 * scale), font), _font(round(9 * scale), font),
                                        _font(round(15 * scale), font))
    pages: list = []
    state = {"draw": None, "y": page_h}

    def new_page():
        page = Image.new("RGB", (page_w, page_h), "white")
        pages.append(page)
        state["draw"], state["y"] = ImageDraw.Draw(page), margin

    def paragraph(text: str, font) -> None:
        line_h = int(font.size * 1.6)
        for line in _wrap(text, font, width):
            if state["y"] + line_h > page_h - margin:
                new_page()
            state["draw"].text((margin, state["y"]), line, fill="black", font=font)
            state["y"] += line_h

    new_page()
    paragraph(title, title_font)
    paragraph("一、总体情况", body_font)
    paragraph(render.INTRO, body_font)
    for key, grid in render.grids(tables, fmt).items():
        paragraph(T.SECTION_TITLES[key], body_font)
        rel = _WIDTHS[key]
        cells, xs, heights, line_h = _layout_table(grid, [width * w / sum(rel) for w in rel], cell_font,
                                                   pad=round(3 * scale))
        row = 0
        while row < len(heights):
            room = page_h - margin - state["y"]
            end = row
            while end < len(heights) and sum(heights[row:end + 1]) <= room:
                end += 1
            if end == row:  # not even one row fits: next page
                new_page()
                continue
            _draw_table(state["draw"], cells, xs, heights, line_h, cell_font, margin, state["y"], range(row, end))
            state["y"] += sum(heights[row:end]) + int(cell_font.size * 0.8)
            row = end
    paragraph("五、存在的主要问题及改进情况", body_font)
    paragraph("无。", body_font)
    return pages


def image_pdf(pages: list, *, dpi: int = 150) -> bytes:
    """An image-only PDF: one scanned picture per page and no text layer."""
    out = io.BytesIO()
    first, *rest = [p.convert("RGB") for p in pages]
    first.save(out, format="PDF", resolution=dpi, save_all=True, append_images=rest)
    return out.getvalue()


def degrade(image, *, angle: float = 0.8, jpeg_quality: int = 60):
    """A scan's faults: turned a little on the glass, then saved as a lossy JPEG (returns a PIL image)."""
    from PIL import Image

    turned = image.convert("RGB").rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor="white")
    out = io.BytesIO()
    turned.save(out, format="JPEG", quality=jpeg_quality)
    out.seek(0)
    return Image.open(out)


def png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def jpeg(image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


# ------------------------------------------------------------------ fake web
def image_report_site(seed: int = 7, *, dpi: int = 150):
    """A portal with two 图片版 reports: a page of table pictures and an image-only PDF.

    Returns ``(site, expected)`` with expected = ``{report path: {"tables", "format", "year", "source"}}``.
    Blank cells (``random_tables(blanks=True)``) keep the pictures sparse, so OCR in tests stays quick.
    """
    import html as htmlmod
    import random

    from govcrawl.demo.server import Site
    from govcrawl.demo.site import ListEntry, _page, encode, generic_portal, html_headers

    rng = random.Random(seed)
    site = Site()
    expected = {}
    page_tables = render.random_tables(rng, "2021", blanks=True)
    page_title = "示例县人民政府2023年政府信息公开工作年度报告（图片版）"
    pictures = []
    for n, section in enumerate(T.SECTION_KEYS, 1):
        path = f"/xxgk/ndbg/W020240115_{n}.png"
        site.add(path, png(section_image(page_tables, fmt="2021", section=section, dpi=dpi)))
        pictures.append(f'<p style="text-align:center"><img src="{path.rsplit("/", 1)[1]}" '
                        f'alt="{htmlmod.escape(T.SECTION_TITLES[section])}"></p>')
    body = (f'<div class="header"><img src="/images/logo.png" width="300" height="60"></div>'
            f'<div class="article"><h1>{htmlmod.escape(page_title)}</h1><div class="TRS_Editor">'
            f"<p>一、总体情况</p><p>{render.INTRO}</p>" + "".join(pictures)
            + "<p>五、存在的主要问题及改进情况</p><p>无。</p></div></div>")
    site.add("/images/logo.png", png(section_image(page_tables, fmt="2021", section="review_litigation", dpi=40)))
    site.add("/xxgk/ndbg/t20240115_1.html", encode(_page(page_title, body, "utf-8"), "utf-8"), html_headers("utf-8"))
    expected["/xxgk/ndbg/t20240115_1.html"] = {"tables": page_tables, "format": "2021", "year": 2023,
                                               "source": "/xxgk/ndbg/t20240115_1.html"}

    # Sections 二 and 四 only: one scanned page keeps the crawl test quick (the 三 table is read from the page).
    pdf_tables = {k: v for k, v in render.random_tables(rng, "2019", blanks=True).items() if k != "applications"}
    pdf_title = "示例县人民政府2020年政府信息公开工作年度报告"
    site.add("/xxgk/ndbg/P020210120.pdf", image_pdf(report_pages(pdf_tables, fmt="2019", title=pdf_title, dpi=dpi),
                                                     dpi=dpi))
    expected["/xxgk/ndbg/P020210120.pdf"] = {"tables": pdf_tables, "format": "2019", "year": 2020,
                                             "source": "/xxgk/ndbg/P020210120.pdf"}
    generic_portal(site, site_title="示例县人民政府", pages=[[
        ListEntry(page_title, "t20240115_1.html", "2024-01-15"),
        ListEntry(pdf_title, "P020210120.pdf", "2021-01-20"),
    ]], list_path="/xxgk/ndbg/list.jsp")
    return site, expected
