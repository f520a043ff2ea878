"""Report PDFs for the PDF reader's tests, generated at test time (no committed binaries).

``report_pdf`` draws a report the way WPS/Word exports do: title and prose as
text lines, each section's official template grid (``govcrawl.demo.render.grids``,
merged cells included) as ruled cells with their labels wrapped inside, page
numbers ``- N -`` at the foot, and page breaks inside tables.  The ways a PDF
can carry the same page, one parameter each:

* ``embedding``: ``reportlab-ttf`` (a TrueType subset with a simple 8-bit
  encoding and a ToUnicode map), ``reportlab-cid`` (the Adobe-GB1 CID font
  STSong-Light, not embedded: the reader's own CMaps must decode it),
  ``fpdf2-ttf`` (a Type0/CIDFontType2 Identity-H font, fpdf2's way),
  ``fpdf2-otf`` (Noto Sans CJK, CFF outlines, as a Type0/CIDFontType0 font:
  pdfminer returns no characters at all for it);
* ``rotate``: every page stored portrait with ``/Rotate 90`` and its content
  drawn sideways, so it shows upright in landscape (reportlab only);
* ``rules``: how the table rules are drawn: ``lines`` (stroked 0.5 pt
  lines), ``rects`` (thin filled rectangles, as Word's PDF export draws
  borders) or ``form`` (lines inside a form XObject placed with its own
  matrix; reportlab only);
* ``split_before``: start a new page right before the row whose first label
  is this, so the table continues on the next page.

Coordinates here are display coordinates: points from the top-left corner.
"""

from __future__ import annotations

import io
from pathlib import Path

from govcrawl.demo import render

# TrueType outlines (reportlab embeds nothing else): Debian fonts-wqy-zenhei.
FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
# CFF outlines: Debian fonts-noto-cjk; face 2 of the collection is Noto Sans CJK SC.
OTF_FONT_FILE, OTF_FACE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2
EMBEDDINGS = ("reportlab-ttf", "reportlab-cid", "fpdf2-ttf", "fpdf2-otf")
A4 = (595.0, 842.0)
MARGIN = 50.0
TEXT_SIZE = 10.0
CELL_SIZE = 7.0
CELL_PAD = 3.0
RULE_WIDTH = 0.5


class _Reportlab:
    def __init__(self, embedding: str, rotate: bool, rules: str, title: str):
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfgen import canvas

        if embedding == "reportlab-cid":
            from reportlab.pdfbase.cidfonts import UnicodeCIDFont

            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            self.font = "STSong-Light"
        else:
            from reportlab.pdfbase.ttfonts import TTFont

            pdfmetrics.registerFont(TTFont("WenQuanYi", str(FONT_FILE), subfontIndex=0))
            self.font = "WenQuanYi"
        self.out = io.BytesIO()
        self.canvas = canvas.Canvas(self.out, pagesize=A4, invariant=1)
        self.canvas.setTitle(title)
        self.rotate = rotate
        self.rules_style = rules
        self.size = (A4[1], A4[0]) if rotate else A4  # as displayed
        self.rules: list[tuple[float, float, float, float]] = []
        self.forms = 0
        self._begin()

    def _begin(self) -> None:
        c = self.canvas
        c.saveState()
        if self.rotate:
            # Shown turned 90° clockwise: draw turned 90° counter-clockwise so it reads upright.
            c.setPageRotation(90)
            c.rotate(90)
        c.setLineWidth(RULE_WIDTH)

    def _point(self, x: float, y: float) -> tuple[float, float]:
        return (x, -y) if self.rotate else (x, self.size[1] - y)

    def text(self, x: float, baseline: float, text: str, size: float) -> None:
        self.canvas.setFont(self.font, size)
        self.canvas.drawString(*self._point(x, baseline), text)

    def width(self, text: str, size: float) -> float:
        from reportlab.pdfbase import pdfmetrics

        return pdfmetrics.stringWidth(text, self.font, size)

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        if self.rules_style == "form":
            self.rules.append((x0, y0, x1, y1))
        elif self.rules_style == "rects":
            (a, b), (p, q) = self._point(x0, y0), self._point(x1, y1)
            half = RULE_WIDTH / 2
            self.canvas.rect(min(a, p) - half, min(b, q) - half, abs(p - a) + 2 * half, abs(q - b) + 2 * half,
                             stroke=0, fill=1)
        else:
            self.canvas.line(*self._point(x0, y0), *self._point(x1, y1))

    def _flush_form(self) -> None:
        if not self.rules:
            return
        c = self.canvas
        self.forms += 1
        name = f"rules{self.forms}"
        # The form draws every rule shifted by (-40, +25); placing it undoes the shift,
        # so the reader must apply the form's matrix to find the rules where the text is.
        c.beginForm(name)
        c.setLineWidth(RULE_WIDTH)
        for x0, y0, x1, y1 in self.rules:
            (a, b), (p, q) = self._point(x0, y0), self._point(x1, y1)
            c.line(a - 40, b + 25, p - 40, q + 25)
        c.endForm()
        c.saveState()
        c.translate(40, -25)
        c.doForm(name)
        c.restoreState()
        self.rules = []

    def new_page(self) -> None:
        self._flush_form()
        self.canvas.restoreState()
        self.canvas.showPage()
        self._begin()

    def image_page(self, pixels) -> None:
        """A page holding only a picture of a page: what a scanner produces."""
        from reportlab.lib.utils import ImageReader

        self.canvas.drawImage(ImageReader(pixels), *self._point(MARGIN, self.size[1] - MARGIN),
                              width=self.size[0] - 2 * MARGIN, height=self.size[1] - 2 * MARGIN)

    def save(self) -> bytes:
        self._flush_form()
        self.canvas.restoreState()
        self.canvas.save()
        return self.out.getvalue()


class _Fpdf:
    def __init__(self, embedding: str, rotate: bool, rules: str, title: str):
        from fpdf import FPDF

        if rotate or rules == "form":
            raise ValueError("rotated pages and form XObjects are drawn with reportlab")
        self.rules_style = rules
        self.pdf = FPDF(unit="pt", format="A4")
        self.pdf.set_title(title)
        if embedding == "fpdf2-otf":
            self.pdf.add_font("CJK", fname=str(OTF_FONT_FILE), collection_font_number=OTF_FACE)
        else:
            self.pdf.add_font("CJK", fname=str(FONT_FILE), collection_font_number=0)
        self.pdf.set_auto_page_break(False)
        self.pdf.set_line_width(RULE_WIDTH)
        self.pdf.add_page()
        self.size = A4

    def text(self, x: float, baseline: float, text: str, size: float) -> None:
        self.pdf.set_font("CJK", size=size)
        self.pdf.text(x, baseline, text)

    def width(self, text: str, size: float) -> float:
        self.pdf.set_font("CJK", size=size)
        return self.pdf.get_string_width(text)

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        if self.rules_style == "rects":
            half = RULE_WIDTH / 2
            self.pdf.rect(min(x0, x1) - half, min(y0, y1) - half, abs(x1 - x0) + 2 * half, abs(y1 - y0) + 2 * half,
                          style="F")
        else:
            self.pdf.line(x0, y0, x1, y1)

    def new_page(self) -> None:
        self.pdf.add_page()

    def save(self) -> bytes:
        return bytes(self.pdf.output())


def _canvas(embedding: str, *, rotate: bool = False, rules: str = "lines", title: str = ""):
    if embedding not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {EMBEDDINGS}")
    if rules not in ("lines", "rects", "form"):
        raise ValueError("rules are drawn as lines, rects or in a form")
    cls = _Fpdf if embedding.startswith("fpdf2") else _Reportlab
    return cls(embedding, rotate, rules, title)


def _wrap(canvas, text: str, width: float, size: float) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if line and canvas.width(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    return lines + [line] if line else lines or [""]


class _Writer:
    """A cursor over pages: text lines, grids and page breaks, page numbers at the foot."""

    def __init__(self, canvas):
        self.canvas = canvas
        self.page = 1
        self.y = MARGIN
        self.width = canvas.size[0] - 2 * MARGIN

    def _foot(self) -> None:
        label = f"- {self.page} -"
        size = TEXT_SIZE
        x = (self.canvas.size[0] - self.canvas.width(label, size)) / 2
        self.canvas.text(x, self.canvas.size[1] - MARGIN / 2, label, size)

    def break_page(self) -> None:
        self._foot()
        self.canvas.new_page()
        self.page += 1
        self.y = MARGIN

    def _room(self, height: float) -> None:
        if height > self.canvas.size[1] - 2 * MARGIN:
            raise ValueError(f"{height:.0f} pt of rows that merged cells hold together do not fit on a page")
        if self.y + height > self.canvas.size[1] - MARGIN:
            self.break_page()

    def paragraph(self, text: str, size: float = TEXT_SIZE) -> None:
        for line in _wrap(self.canvas, text, self.width, size):
            self._room(size * 1.6)
            self.y += size * 1.6
            self.canvas.text(MARGIN, self.y - size * 0.4, line, size)
        self.y += size * 0.4

    def grid(self, grid: list[list[tuple]], split_before: str | None = None) -> None:
        placed, n_rows, n_cols = render.place(grid)
        col_w = self.width / n_cols
        wrapped = {}
        heights = [0.0] * n_rows
        for r, c, rowspan, colspan, text in placed:
            lines = _wrap(self.canvas, text, col_w * colspan - 2 * CELL_PAD, CELL_SIZE)
            wrapped[(r, c)] = lines
            need = len(lines) * CELL_SIZE * 1.4 + 2 * CELL_PAD
            if rowspan == 1:
                heights[r] = max(heights[r], need)
        for r, c, rowspan, colspan, text in placed:  # a tall merged cell stretches its last row
            need = len(wrapped[(r, c)]) * CELL_SIZE * 1.4 + 2 * CELL_PAD
            have = sum(heights[r:r + rowspan])
            if have < need:
                heights[r + rowspan - 1] += need - have
        # Pages break only between blocks of rows no merged cell holds together.
        block_end = list(range(n_rows))
        for r, _, rowspan, _, _ in placed:
            for rr in range(r, r + rowspan):
                block_end[rr] = max(block_end[rr], r + rowspan - 1)
        tops: dict[int, float] = {}
        r = 0
        while r < n_rows:
            end = r
            while end < max(block_end[r:end + 1]):
                end = max(block_end[r:end + 1])
            first_label = next((t for rr, _, _, _, t in placed if rr == r), "")
            if split_before and first_label == split_before and r > 0:
                self.break_page()
            else:
                self._room(sum(heights[r:end + 1]))
            for rr in range(r, end + 1):
                tops[rr] = self.y
                self.y += heights[rr]
            # Every cell lies within one block, so it is drawn whole on this page.
            for pr, c, rowspan, colspan, text in placed:
                if r <= pr <= end:
                    x0 = MARGIN + c * col_w
                    x1 = x0 + colspan * col_w
                    top, bottom = tops[pr], tops[pr + rowspan - 1] + heights[pr + rowspan - 1]
                    for line in ((x0, top, x1, top), (x0, bottom, x1, bottom),
                                 (x0, top, x0, bottom), (x1, top, x1, bottom)):
                        self.canvas.line(*line)
                    self._cell_text(wrapped[(pr, c)], x0, top, x1 - x0, bottom - top)
            r = end + 1
        self.y += TEXT_SIZE

    def _cell_text(self, lines, x0, top, width, height) -> None:
        block = len(lines) * CELL_SIZE * 1.4
        y = top + (height - block) / 2
        for line in lines:
            y += CELL_SIZE * 1.4
            x = x0 + (width - self.canvas.width(line, CELL_SIZE)) / 2
            self.canvas.text(x, y - CELL_SIZE * 0.35, line, CELL_SIZE)

    def finish(self) -> bytes:
        self._foot()
        return self.canvas.save()


def report_pdf(tables: dict, *, fmt: str, title: str, embedding: str = "reportlab-ttf", rotate: bool = False,
               rules: str = "lines", split_before: str | None = None) -> bytes:
    """A whole report: title, 总体情况, the three sections' grids, closing sections."""
    writer = _Writer(_canvas(embedding, rotate=rotate, rules=rules, title=title))
    writer.paragraph(title, size=14)
    writer.paragraph("一、总体情况")
    writer.paragraph(render.INTRO)
    for key, grid in render.grids(tables, fmt).items():
        writer.paragraph(render.T.SECTION_TITLES[key])
        writer.grid(grid, split_before=split_before)
    writer.paragraph("五、存在的主要问题及改进情况")
    writer.paragraph("无。")
    return writer.finish()


def grid_pdf(grid: list[list[tuple]], *, before: str = "", after: str = "", embedding: str = "reportlab-ttf",
             split_before: str | None = None) -> bytes:
    """One grid of (text, rowspan, colspan) rows between two text lines."""
    writer = _Writer(_canvas(embedding))
    if before:
        writer.paragraph(before)
    writer.grid(grid, split_before=split_before)
    if after:
        writer.paragraph(after)
    return writer.finish()


def scanned_pdf(pages: list[str | None]) -> bytes:
    """One page per item: a text line, or (None) only a picture of a page, as a scanner makes it."""
    from PIL import Image

    canvas = _canvas("reportlab-ttf")
    writer = _Writer(canvas)
    for n, page in enumerate(pages):
        if n:  # no page number: a scanned page has no text at all
            canvas.new_page()
            writer.y = MARGIN
        if page is None:
            canvas.image_page(Image.new("L", (60, 85), color=200))
        else:
            writer.paragraph(page)
    return canvas.save()
