"""PDF documents as a ``Layout``, read with pdfium (pypdfium2).

Owns everything between PDF bytes and cells:

* characters with their boxes (pdfium's text page: the text in one call,
  then one ctypes call per character box), grouped into words and lines;
* ruling lines and rectangles from the pages' path objects (form XObjects
  included, their matrices applied; white fills, which draw nothing on the
  page, left out) turned into cell grids, merged cells as ``None`` at the
  positions they cover;
* the text outside the grids as lines, all blocks of a page in top-to-bottom
  order, so a table split over pages reads as one stream; the rows of a table
  printed without column rules keep their empty cells, placed under the
  columns of a fuller row near them (``_realign``, across a page break too)
  or, for a table of one data row (四), under the column heads above it;
* the clear warnings: a PDF that cannot be opened, and pages with no text
  layer (scans);
* the scanned pages of a PDF that has text on its other pages: read by OCR
  where they stand (``_MixedScan``, through ``ocr.DocumentOCR``), so a table
  continued from a text page onto a scanned one reads on.  A PDF with no
  text layer at all is read by ``ocr.layout_from_scanned_pdf`` instead.

Why pdfium and not pdfplumber/pdfminer: pdfminer interprets the content in
pure Python (about 240 ms to read a real report, where pdfium reads its text
in about 10 ms and this whole module takes under 30 ms), and it
returns no characters at all for CJK fonts embedded the way fpdf2 embeds
Noto Sans CJK, which pdfium reads.  pdfplumber is not needed by any document
we know of; its table-finding rules (snap/join/intersection tolerances of
3 pt, smallest-cell search, rows by cell tops and columns by cell lefts) are
reproduced below because the golds were made with them (pdfplumber also
counts the white rectangles behind cells; the golds read the same without).

Geometry is in "display space": points, x to the right and y downwards on the
page as shown, i.e. after the page's /Rotate.  Only relative positions matter,
so no origin is fixed.
"""

from __future__ import annotations

import ctypes
import re
import struct
import threading
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from itertools import accumulate, chain, compress, islice, repeat
from operator import add, gt, itemgetter, ne, not_

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from govcrawl.extract import ocr
from govcrawl.extract.layout import Layout

# pdfplumber's defaults, which the real-PDF golds were made with.
SNAP_TOLERANCE = 3.0  # ruling lines this close are one line
JOIN_TOLERANCE = 3.0  # collinear pieces with gaps up to this are one line
INTERSECTION_TOLERANCE = 3.0
EDGE_MIN_LENGTH = 3.0
X_TOLERANCE = 3.0  # a gap wider than this between two characters is a space
Y_TOLERANCE = 3.0  # characters whose vertical centres differ by up to this are one line

_PAGE_NUMBER = re.compile(r"[-—–\s]*\d+[-—–\s]*")  # "- 3 -"
# Characters that are not text: NUL, and what pdfium reports for unmappable glyphs.
_NOT_TEXT = frozenset("\x00\ufffe\uffff")
# One set lookup per character tells the ordinary ones from these and the whitespace.
_SPECIAL = _NOT_TEXT | frozenset(ch for ch in map(chr, range(0x3001)) if ch.isspace())  # U+3000 is the last

_PATH = pdfium_c.FPDF_PAGEOBJ_PATH
_FORM = pdfium_c.FPDF_PAGEOBJ_FORM
_IMAGE = pdfium_c.FPDF_PAGEOBJ_IMAGE
_TEXT = pdfium_c.FPDF_PAGEOBJ_TEXT
_LINETO = pdfium_c.FPDF_SEGMENT_LINETO
_MOVETO = pdfium_c.FPDF_SEGMENT_MOVETO

_PDFIUM_LOCK = threading.Lock()


class _Handle(ctypes.c_void_p):
    """A pdfium handle returned as a ctypes object (a plain ``c_void_p`` result becomes an int)."""


def _untyped(function, restype, *argtypes):
    """The same pdfium function, called without converting its arguments.

    pypdfium2 declares typed pointer arguments and results, and even plain
    ``c_void_p``/``c_int`` argument types convert each argument through
    ``from_param`` into a new object: that is half the cost of a call, and the
    loops over every character box, page object and path segment make
    thousands of calls a page.  Without argument types, ctypes objects pass as
    they are and Python ints as C ints.  So every pointer argument must be a
    ctypes object (a ``_Handle``, pypdfium2's ``.raw``, a ``byref``), never an
    int, which would be cut to 32 bits.

    These are getters that return at once: the GIL is kept over the call
    (``PYFUNCTYPE``), as releasing and taking it back costs more than they do.
    """
    return ctypes.PYFUNCTYPE(restype, *argtypes)(ctypes.cast(function, ctypes.c_void_p).value)


_INT = ctypes.c_int
_count_objects = _untyped(pdfium_c.FPDFPage_CountObjects, _INT)
_get_object = _untyped(pdfium_c.FPDFPage_GetObject, _Handle)
_object_type = _untyped(pdfium_c.FPDFPageObj_GetType, _INT)
_draw_mode = _untyped(pdfium_c.FPDFPath_GetDrawMode, _INT)
_object_matrix = _untyped(pdfium_c.FPDFPageObj_GetMatrix, _INT)
_count_segments = _untyped(pdfium_c.FPDFPath_CountSegments, _INT)
_get_segment = _untyped(pdfium_c.FPDFPath_GetPathSegment, _Handle)
_segment_point = _untyped(pdfium_c.FPDFPathSegment_GetPoint, _INT)
_segment_type = _untyped(pdfium_c.FPDFPathSegment_GetType, _INT)
_segment_closes = _untyped(pdfium_c.FPDFPathSegment_GetClose, _INT)
_fill_color = _untyped(pdfium_c.FPDFPageObj_GetFillColor, _INT)
_count_form_objects = _untyped(pdfium_c.FPDFFormObj_CountObjects, _INT)
# The index is an unsigned long: declared, as a C int would not fill it.
_get_form_object = _untyped(pdfium_c.FPDFFormObj_GetObject, _Handle, ctypes.c_void_p, ctypes.c_ulong)
_loose_char_box = _untyped(pdfium_c.FPDFText_GetLooseCharBox, _INT)
_is_generated = _untyped(pdfium_c.FPDFText_IsGenerated, _INT)


def layout_from_pdf(body: bytes) -> Layout:
    """The cells and lines of every page in order, the Title metadata, and what could not be read."""
    # pdfium is not thread-safe; extract_document is a plain function anyone may call from threads.
    with _PDFIUM_LOCK:
        return _layout_from_pdf(body)


def _layout_from_pdf(body: bytes) -> Layout:
    layout = Layout()
    try:
        document = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as exc:
        layout.warnings.append(f"PDF could not be opened ({exc}); no text read")
        return layout
    try:
        layout.document_title = pdf_title(document)
        pages = len(document)
        no_text: list[int] = []
        scanned: list[int] = []
        mixed: _MixedScan | None = None
        # A page's blocks go into the layout once the next page is read: a table broken across
        # pages has its fuller rows (``_realign``) on either side of the break.
        pending: _PageText | None = None
        before: _PageText | None = None  # the page emitted last

        def flush(after: _PageText | None) -> None:
            nonlocal pending, before
            if pending is not None:
                try:
                    realigned = _realign(pending, before, after)
                except Exception as exc:  # noqa: BLE001 - the page's text is kept as it was read
                    layout.warnings.append(f"PDF rows without column rules not realigned ({type(exc).__name__}: {exc})")
                    realigned = {}
                pending.emit(layout, realigned)
                before, pending = pending, None

        for number in range(1, pages + 1):
            try:
                chars, images, page = _read_page(document, number - 1)
            except Exception as exc:  # one broken page must not lose the others
                layout.warnings.append(f"PDF page {number} could not be read ({type(exc).__name__}: {exc})")
                continue
            if page is not None:
                flush(page)
                pending = page
            if not chars:
                no_text.append(number)
                if images:
                    scanned.append(number)
                    if mixed is None:
                        mixed = _MixedScan.start(document)
                    if mixed:
                        flush(None)
                        before = None
                        mixed.read(document, number, layout)
        flush(None)
        if pages and len(no_text) == pages:
            layout.warnings.append(
                f"PDF has no text layer ({pages} pages, image-only?): OCR is not supported, no tables read"
            )
        elif mixed:
            layout.warnings += mixed.summary(pages)
        elif scanned:
            listed = ", ".join(map(str, scanned))
            why = "OCR is off (GOVCRAWL_OCR=0)" if not ocr.enabled() else "OCR is not supported"
            layout.warnings.append(
                f"PDF page{'s' if len(scanned) > 1 else ''} {listed} of {pages} only images, no text layer "
                f"(scanned?): {why}, tables there not read"
            )
    finally:
        document.close()
    return layout


class _MixedScan:
    """The scanned pages of a PDF whose other pages have text: each read by OCR where it stands.

    A PDF without any text layer is the extractor's whole-document OCR
    (``ocr.layout_from_scanned_pdf``), not this.  The page and time caps
    (``GOVCRAWL_OCR_MAX_PAGES``, ``GOVCRAWL_OCR_MAX_SECONDS``) count the
    scanned pages only; ``layout.ocr_tokens`` marks what OCR added, so the
    item can say whether its tables come from the text layer or from OCR.
    """

    def __init__(self):
        self.ocr = ocr.DocumentOCR("PDF page")
        self.read_pages: list[int] = []
        self.not_read: list[int] = []
        self.stop: str | None = None

    @classmethod
    def start(cls, document: pdfium.PdfDocument):
        """A reader for a mixed PDF with OCR on; False when OCR is off or no page has text."""
        if not ocr.enabled() or not ocr.has_text_layer(document):
            return False
        return cls()

    def read(self, document: pdfium.PdfDocument, number: int, layout: Layout) -> None:
        if self.stop is None:
            self.stop = self.ocr.stop_reason(len(self.read_pages) + 1, len(self.read_pages) + 1)
        if self.stop is not None:
            self.not_read.append(number)
            return
        first = len(layout.tokens)
        if self.ocr.read_into(layout, number, partial(ocr.render_pdf_page, document, number - 1)):
            self.read_pages.append(number)
            layout.ocr_tokens.append((first, len(layout.tokens)))

    def summary(self, pages: int) -> list[str]:
        out = []
        if self.read_pages:
            listed = ", ".join(map(str, self.read_pages))
            plural = "s" if len(self.read_pages) > 1 else ""
            out.append(f"PDF page{plural} {listed} of {pages} only images, no text layer: read by OCR")
        out += self.ocr.summary()
        if self.not_read:
            reason = self.stop.split(";")[0] if self.stop else "OCR stopped"
            out.append(f"{reason}; PDF page{'s' if len(self.not_read) > 1 else ''} "
                       f"{', '.join(map(str, self.not_read))} of {pages} not read, tables there not read")
        return out


def pdf_title(document: pdfium.PdfDocument) -> str | None:
    """The PDF's Title metadata.

    pdfium decodes it by its BOM, including the UTF-16LE that WPS writes
    (the spec allows only UTF-16BE; naive readers show ``ÿþ?eœ^…``).
    """
    try:
        title = document.get_metadata_value("Title")
    except Exception:  # broken trailer/info dictionary
        return None
    return title.strip("\x00 \ufeff") or None


# --------------------------------------------------------------------------- one page


def _read_page(document: pdfium.PdfDocument, index: int) -> tuple[int, int, _PageText | None]:
    """How many characters and images one page has, and its text and grids (None without characters)."""
    # pdfium's own handles, not pypdfium2's PdfPage/PdfTextPage: those register a finalizer and
    # a weak reference with their parent for every page, which this page-at-a-time reading, that
    # closes everything it opens right here, does not need.
    page = pdfium_c.FPDF_LoadPage(document.raw, index)
    if not page:
        raise pdfium.PdfiumError("Failed to load page.")
    try:
        to_display = _display_transform(pdfium_c.FPDFPage_GetRotation(page) * 90)
        textpage = pdfium_c.FPDFText_LoadPage(page)
        if not textpage:
            raise pdfium.PdfiumError("Failed to load text page.")
        try:
            chars = _page_chars(textpage, to_display)
        finally:
            pdfium_c.FPDFText_ClosePage(textpage)
        h_edges, v_edges, images = _page_edges(page, to_display)
    finally:
        pdfium_c.FPDF_ClosePage(page)
    return len(chars), images, (_page_text_blocks(chars, _find_tables(h_edges, v_edges)) if chars else None)


def _upright(l, b, r, t):
    return (l, -t, r, -b)


def _display_transform(rotation: int):
    """(x0, y0, x1, y1) in PDF user space → (x0, top, x1, bottom) as the page is displayed."""
    if rotation == 90:
        return lambda l, b, r, t: (b, l, t, r)
    if rotation == 180:
        return lambda l, b, r, t: (-r, b, -l, t)
    if rotation == 270:
        return lambda l, b, r, t: (-t, -r, -b, -l)
    return _upright


# A character: (x0, top, x1, text, x middle, y middle, index in the text page, bottom in PDF
# space); text " " for a real space in the PDF.  No display bottom: reading does not need it,
# and one float less per character is worth having (making the tuples is a good part of a page).
Char = tuple
_X0 = itemgetter(0)
_START = itemgetter(1)  # of an edge (position, start, end)
_TOP = itemgetter(1)
# Of a cell (x0, top, x1, bottom).
_X1 = itemgetter(2)
_BOTTOM = itemgetter(3)
_Y_MIDDLE = itemgetter(5)


def _page_chars(raw, to_display) -> list[Char]:
    """The page's characters with their "loose" boxes (pen position to advance, font ascent to descent).

    Loose boxes give word gaps and line heights as a reader sees them, not the
    ink.  But pdfium drops the text matrix's scale from the loose box of some
    WPS text objects (the one-character-per-line labels of merged cells: a
    10 pt character gets a 199 pt box); a box far taller than the page's
    typical one is replaced by the glyph's tight box.
    """
    count = pdfium_c.FPDFText_CountChars(raw)
    if count <= 0:
        return []
    text = _page_text(raw, count)
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_box, unpack, is_generated = _loose_char_box, _UNPACK_RECT, _is_generated
    special, not_text = _SPECIAL, _NOT_TEXT
    chars: list[Char] = []
    heights: list[float] = []
    add_char, add_height = chars.append, heights.append
    spaces = False
    for index, ch in enumerate(text):
        if ch in special:
            if ch in not_text:
                continue
            # pdfium infers spaces and line breaks from gaps; we do our own from the boxes,
            # but a space the PDF really contains still separates words.
            if is_generated(raw, index) == 1:
                continue
            ch = " "
            spaces = True
        get_box(raw, index, rect_ref)
        left, top, right, bottom = unpack(rect)  # PDF user space, y up
        add_char((left, -top, right, ch, (left + right) * 0.5, (top + bottom) * -0.5, index, bottom))
        add_height(top - bottom)
    printed = sorted([h for h, c in zip(heights, chars) if c[3] != " "] if spaces else heights)
    if printed:
        limit = 3 * printed[len(printed) // 2] + 1
        if max(heights) > limit:
            box = [ctypes.c_double() for _ in range(4)]  # left, right, bottom, top
            refs = [ctypes.byref(v) for v in box]
            for k, height in enumerate(heights):
                if height > limit:
                    index = chars[k][6]
                    pdfium_c.FPDFText_GetCharBox(raw, index, *refs)
                    left, right, bottom, top = (v.value for v in box)
                    chars[k] = (left, -top, right, chars[k][3], (left + right) * 0.5, (top + bottom) * -0.5,
                                index, bottom)
    if to_display is not _upright:
        chars = [_turned(to_display(c[0], c[7], c[2], -c[1]), c) for c in chars]
    return chars


def _turned(box: tuple, c: Char) -> Char:
    x0, top, x1, bottom = box
    return (x0, top, x1, c[3], (x0 + x1) * 0.5, (top + bottom) * 0.5, c[6], c[7])


# FS_RECTF is four C floats: left, top, right, bottom (PDF user space, y up).
_UNPACK_RECT = struct.Struct("4f").unpack


def _page_text(raw, count: int) -> str:
    """Every character of the text page, index for index, in one call where possible."""
    buffer = ctypes.create_string_buffer(count * 2 + 2)
    written = pdfium_c.FPDFText_GetText(raw, 0, count, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)))
    text = buffer.raw[: max(written - 1, 0) * 2].decode("utf-16-le", errors="replace")
    if len(text) == count:
        return text
    # Characters beyond the BMP come back as surrogate pairs, which shifts the indices.
    get_unicode = pdfium_c.FPDFText_GetUnicode
    codes = (get_unicode(raw, i) for i in range(count))
    return "".join("\ufffe" if 0xD800 <= code < 0xE000 or code > 0x10FFFF else chr(code) for code in codes)


# --------------------------------------------------------------------------- ruling lines


def _page_edges(raw, to_display) -> tuple[list[tuple], list[tuple], int]:
    """Horizontal edges (y, x0, x1), vertical edges (x, top, bottom) and the number of images."""
    lines: list[tuple[float, float, float, float]] = []  # every straight segment, user space
    images = 0
    get_type = _object_type
    get_segment = _get_segment
    get_point = _segment_point
    segment_type = _segment_type
    matrix = pdfium_c.FS_MATRIX()
    matrix_ref = ctypes.byref(matrix)
    unpack_matrix = _UNPACK_MATRIX
    x = ctypes.c_float()
    y = ctypes.c_float()
    x_ref, y_ref = ctypes.byref(x), ctypes.byref(y)
    fill = ctypes.c_int()
    stroke = ctypes.c_int()
    fill_ref, stroke_ref = ctypes.byref(fill), ctypes.byref(stroke)
    rgba = (ctypes.c_uint * 4)()
    rgba_refs = [ctypes.byref(rgba, 4 * i) for i in range(4)]

    def walk(obj, kind, parent):
        nonlocal images
        if kind == _PATH:
            _draw_mode(obj, fill_ref, stroke_ref)
            if not stroke.value:
                if not fill.value:
                    return  # invisible (a clipping path)
                # White on the white page draws nothing a reader sees: Word and WPS put a white
                # rectangle behind every cell (two thirds of the paths of the real reports' PDFs).
                if _fill_color(obj, *rgba_refs) and rgba[0] == rgba[1] == rgba[2] == 255:
                    return
            _object_matrix(obj, matrix_ref)
            m = unpack_matrix(matrix)
            a, b, c, d, e, f = m if parent is None else _multiply(m, parent)
            start = last = None
            points = 0  # in the current subpath
            for j in range(_count_segments(obj)):
                segment = get_segment(obj, j)
                get_point(segment, x_ref, y_ref)
                px, py = x.value, y.value
                point = (a * px + c * py + e, b * px + d * py + f)
                kind = segment_type(segment)
                if kind == _MOVETO:
                    start = point
                    points = 1
                else:
                    points += 1
                    if kind == _LINETO and last is not None:
                        lines.append((*last, *point))
                # Bézier pieces draw curves, never table rules: skip them.  Closing a
                # two-point subpath ("m l h") draws the same line back: one edge, as pdfminer has it.
                if points > 2 and _segment_closes(segment):
                    lines.append((*point, *start))
                last = point
        elif kind == _FORM:
            _object_matrix(obj, matrix_ref)
            m = unpack_matrix(matrix)
            inner = m if parent is None else _multiply(m, parent)
            for j in range(_count_form_objects(obj)):
                child = _get_form_object(obj, j)
                walk(child, get_type(child), inner)
        elif kind == _IMAGE:
            images += 1

    count = _count_objects(raw)
    objects = list(map(_get_object, repeat(raw, count), range(count)))
    kinds = list(map(get_type, objects))
    # Most objects are text (one per character in some PDFs): skip them without a Python step each.
    for obj, kind in compress(zip(objects, kinds), map(ne, kinds, repeat(_TEXT))):
        walk(obj, kind, None)

    h_edges: list[tuple] = []
    v_edges: list[tuple] = []
    upright = to_display is _upright
    for x0, y0, x1, y1 in lines:
        if x0 > x1:
            x0, x1 = x1, x0
        if y0 > y1:
            y0, y1 = y1, y0
        left, top, right, bottom = (x0, -y1, x1, -y0) if upright else to_display(x0, y0, x1, y1)
        # Shorter than 1 pt is a dot, not a line (pdfplumber's prefilter).
        if right - left < 0.01 and bottom - top >= 1.0:
            v_edges.append((left, top, bottom))
        elif bottom - top < 0.01 and right - left >= 1.0:
            h_edges.append((top, left, right))
    return h_edges, v_edges, images


# FS_MATRIX is six C floats a b c d e f.
_UNPACK_MATRIX = struct.Struct("6f").unpack


def _multiply(m, n):
    """The matrix that applies ``m`` then ``n`` (PDF row-vector convention)."""
    a1, b1, c1, d1, e1, f1 = m
    a2, b2, c2, d2, e2, f2 = n
    return (a1 * a2 + b1 * c2, a1 * b2 + b1 * d2,
            c1 * a2 + d1 * c2, c1 * b2 + d1 * d2,
            e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2)


def _merge_edges(edges: list[tuple]) -> list[tuple]:
    """Snap edges at nearly the same position together, join collinear pieces, drop short ones.

    pdfplumber's snap averages over every edge (duplicates included), so the
    cluster mean is weighted by how many edges sit at each position.  The
    result is sorted by position, then start: the pieces of one line are
    consecutive and do not overlap.
    """
    edges = sorted(edges)
    merged: list[tuple] = []
    count = len(edges)
    first = 0
    while first < count:
        end = first + 1
        last = edges[first][0]
        while end < count and edges[end][0] <= last + SNAP_TOLERANCE:
            last = edges[end][0]
            end += 1
        if end == first + 1:
            pos, a, b = edges[first]
            if b - a >= EDGE_MIN_LENGTH:
                merged.append((pos, a, b))
            first = end
            continue
        group = edges[first:end]
        pos = sum(map(itemgetter(0), group)) / len(group)
        pieces = [(a, b) for _, a, b in group]
        if group[0][0] != last:  # more than one position: the pieces are sorted by position first
            pieces.sort()
        a, b = pieces[0]
        for a2, b2 in pieces[1:]:
            if a2 <= b + JOIN_TOLERANCE:
                if b2 > b:
                    b = b2
            else:
                if b - a >= EDGE_MIN_LENGTH:
                    merged.append((pos, a, b))
                a, b = a2, b2
        if b - a >= EDGE_MIN_LENGTH:
            merged.append((pos, a, b))
        first = end
    return merged


def _open_sides(h_edges: list[tuple], v_edges: list[tuple]) -> list[tuple]:
    """The left and right rules a table drawn without them would have, as vertical edges (x, top, bottom).

    Many Chinese documents draw tables with no border at the left and right ("两边无边框"):
    full-width row rules and the column rules between, nothing at the ends, so the first and
    last columns close no cell.  Rows are found as runs of horizontal rules of the same extent
    (ends within the tolerance) where each two neighbours are joined by a rule inside them, as
    the rules between the columns join row rules; a run's ends get their missing side.  Rules
    with nothing joining them (a page's header and footer rules, two tables with a heading
    between) get none.  A side already drawn all along a run is left as it is.
    """
    tol = INTERSECTION_TOLERANCE
    # Rules of the same extent: both ends within the tolerance of the first rule of the group.
    # (Not rounded positions: 64.43 and 64.81, a heavier frame's end and the row rules', round apart.)
    groups: list[list[tuple]] = []
    for edge in sorted(h_edges, key=_START):
        home = None
        for rules in reversed(groups):
            first = rules[0]
            if edge[1] - first[1] > tol:
                break  # sorted by start: no earlier group can hold it
            if abs(edge[2] - first[2]) <= tol:
                home = rules
                break
        if home is None:
            groups.append([edge])
        else:
            home.append(edge)
    sides: list[tuple] = []
    for rules in groups:
        if len(rules) < 2:
            continue
        rules.sort()
        x0 = min(r[1] for r in rules)
        x1 = max(r[2] for r in rules)
        inside = sorted((v[1], v[2]) for v in v_edges if x0 + tol < v[0] < x1 - tol)  # (top, bottom)
        if not inside:
            continue
        tops = [top for top, _ in inside]
        reach = list(accumulate((bottom for _, bottom in inside), max))  # lowest bottom of the rules up to each
        run = [rules[0]]
        for rule in rules[1:] + [None]:
            # joined: some rule inside starts at or above the last row rule and ends at or below this one
            above = bisect_right(tops, run[-1][0] + tol)
            if rule is not None and above and reach[above - 1] >= rule[0] - tol:
                run.append(rule)
                continue
            if len(run) >= 2:
                top, bottom = run[0][0], run[-1][0]
                for x in (x0, x1):
                    # Snapping may have moved the side rule there is by up to its tolerance (pdfplumber's
                    # snap averages every rule near a position, across the page's tables too).
                    near = [(v[1], v[2]) for v in v_edges if abs(v[0] - x) <= tol + SNAP_TOLERANCE]
                    if not _covered(sorted(near), top, bottom):
                        sides.append((x, top, bottom))
            run = [rule]
    return sides


def _covered(spans: list[tuple], top: float, bottom: float) -> bool:
    """Whether the sorted (top, bottom) spans leave no gap wider than the tolerance in [top, bottom].

    A side drawn for part of the rows only (a shaded header band's edge in a table without
    side rules) leaves the other rows open: the whole side is added, and merging joins the pieces.
    """
    tol = JOIN_TOLERANCE
    reached = top
    for start, end in spans:
        if start > reached + tol:
            break
        reached = max(reached, end)
    return reached >= bottom - tol


def _find_tables(h_edges: list[tuple], v_edges: list[tuple]) -> list[list[tuple]]:
    """Tables as lists of cell boxes (x0, top, x1, bottom), top to bottom (pdfplumber's lattice rules).

    pdfplumber keeps, for each intersection, the set of edges through it, and
    two intersections are connected when their sets meet.  The merged pieces
    of one line are sorted and disjoint, so the pieces through a point are a
    run of consecutive indices (first, last), and along one line those runs
    only move forward: a point below (or right of) another shares an edge
    with it just when its first piece is at most the other's last, and the
    points that do are the nearest ones, in a row.
    """
    if not h_edges or not v_edges:
        return []
    h_edges = _merge_edges(h_edges)
    v_edges = _merge_edges(v_edges)
    sides = _open_sides(h_edges, v_edges)
    if sides:
        v_edges = _merge_edges(v_edges + sides)
    tol = INTERSECTION_TOLERANCE
    h_ys = [h[0] for h in h_edges]
    # Intersection (x, y) → [first v, last v, first h, last h] of the edges through it.
    through: dict[tuple, list[int]] = {}
    for vi, (vx, vtop, vbottom) in enumerate(v_edges):
        # Only the horizontal edges within the vertical one's reach can cross it.
        for hi in range(bisect_left(h_ys, vtop - tol), bisect_right(h_ys, vbottom + tol)):
            hy, hx0, hx1 = h_edges[hi]
            if hx0 - tol <= vx <= hx1 + tol:
                runs = through.get((vx, hy))
                if runs is None:
                    through[(vx, hy)] = [vi, vi, hi, hi]
                else:  # a later piece at this x, or a later piece at this y
                    runs[1] = vi
                    runs[3] = hi
    if not through:
        return []
    points = sorted(through)  # by x, then y: a column's points are consecutive, top to bottom
    count = len(points)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    runs = [through[p] for p in points]
    number = dict(zip(points, range(count)))
    right_of = [-1] * count  # the next point on the same y, or -1
    row_ends: dict[float, int] = {}
    for n in range(count - 1, -1, -1):
        right_of[n] = row_ends.get(ys[n], -1)
        row_ends[ys[n]] = n

    cells: list[tuple] = []
    corners: list[tuple] = []
    for n in range(count):
        px = xs[n]
        _, v_last, _, h_last = runs[n]
        below = n + 1
        while below < count and xs[below] == px and runs[below][0] <= v_last:
            by = ys[below]
            below_h_last = runs[below][3]
            r = right_of[n]
            while r >= 0:
                r_runs = runs[r]
                if r_runs[2] > h_last:
                    r = -1
                    break
                corner = number.get((xs[r], by))
                if corner is not None:
                    c_runs = runs[corner]
                    if c_runs[0] <= r_runs[1] and c_runs[2] <= below_h_last:
                        break
                r = right_of[r]
            if r >= 0:
                cells.append((px, ys[n], xs[r], by))
                corners.append((n, below, r, corner))
                break
            below += 1
    return _cells_to_tables(cells, corners, count)


def _cells_to_tables(cells: list[tuple], corners: list[tuple], points: int) -> list[list[tuple]]:
    """Group cells that share a corner; keep tables of more than one cell, top-most first.

    ``corners`` are each cell's four intersections by number (below ``points``).
    """
    # Union-find over the intersections, its root lookups written out (path halving): a
    # function call per lookup was most of the work, there are several per cell.
    parent = list(range(points))
    for cell_corners in corners:
        first = cell_corners[0]
        while parent[first] != first:
            parent[first] = first = parent[parent[first]]
        for j in cell_corners:
            if parent[j] != first:
                while parent[j] != j:
                    parent[j] = j = parent[parent[j]]
                parent[j] = first
    groups: dict[int, list[tuple]] = defaultdict(list)
    for cell, cell_corners in zip(cells, corners):
        j = cell_corners[0]
        while parent[j] != j:
            parent[j] = j = parent[parent[j]]
        groups[j].append(cell)
    tables = [g for g in groups.values() if len(g) > 1]
    tables.sort(key=lambda t: min((c[1], c[0]) for c in t))
    return tables


# --------------------------------------------------------------------------- text


def _lines(chars: list[Char], clusters: bool = False) -> list[tuple]:
    """Characters (sorted by vertical middle) as text lines (top, text), top to bottom.

    ``clusters``: (top, text, the line's characters left to right) instead.

    Words are split by gaps and real spaces: pdfplumber's rules (x/y tolerance
    3 pt), except that a line is clustered by the characters' vertical
    centres, not their tops: a bold heading run and the body text after it sit
    on one baseline but their fonts' ascents differ by more than 3 pt.
    """
    count = len(chars)
    if count <= 1:  # most table cells hold one digit
        if not chars or chars[0][3] == " ":
            return []
        return [(chars[0][1], chars[0][3], chars)] if clusters else [(chars[0][1], chars[0][3])]
    middles = list(map(_Y_MIDDLE, chars))
    # A line ends where the next character's middle is more than the tolerance below the last one's.
    ends = [*compress(range(1, count), map(gt, middles[1:], map(add, middles, repeat(Y_TOLERANCE)))), count]
    lines = []
    start = 0
    for end in ends:
        cluster = sorted(chars[start:end], key=_X0)
        start = end
        text = _line_text(cluster)
        if text:
            lines.append((min(map(_TOP, cluster)), text, cluster) if clusters else (min(map(_TOP, cluster)), text))
    return lines


def _line_words(cluster: list[Char]) -> list[tuple[float, float, str]]:
    """One line's words as ``_line_text`` finds them, each with its extent: (x0, x1, text)."""
    x_tolerance, y_tolerance = X_TOLERANCE, Y_TOLERANCE
    words: list[tuple[float, float, str]] = []
    word: list[str] = []
    start = right = middle = None
    for x0, _, x1, text, _, y_middle, _, _ in cluster:
        if text == " ":
            if word:
                words.append((start, right, "".join(word)))
                word = []
            right = None
            continue
        if right is not None and (x0 > right + x_tolerance or abs(y_middle - middle) > y_tolerance):
            words.append((start, right, "".join(word)))
            word = []
        if not word:
            start = x0
        word.append(text)
        right, middle = x1, y_middle
    if word:
        words.append((start, right, "".join(word)))
    return words


# A value word of a table row printed without rules: a number, or what pages print in an empty cell.
_VALUE_WORD = re.compile(r"[+\-]?\d[\d,]*(?:\.\d+)?|[-—–/／－×]{1,2}")
_ALIGN_TOLERANCE = 2.5  # points between the centres (or the left or right ends) of values of one column
_HAS_DIGIT = re.compile(r"\d").search
_NEAR_ROWS = 8  # a fuller row is looked for this many value rows above and below
_HEAD_LINES = 6  # lines above a row read for its column heads
# Words of 四's group heads (行政复议, 行政诉讼, 未经复议直接起诉, 复议后起诉, or a piece of one that wraps)
# have one of these characters; its column heads (结果维持, 结果纠正, 其他结果, 尚未审结, 总计) none.
_GROUP_HEAD = re.compile(r"[复议诉讼]")
_HEADED_VALUES = 4  # a row of fewer values is not placed by column heads
# 三、收到和处理政府信息公开申请情况 opens another table; 三、本年度办理结果, a label inside the 三 table, does not
_SECTION_HEADING = re.compile(r"\s*[一二三四五六七八九十]{1,3}\s*[、.．].*(?:情况|事项)")
# A row takes the columns of one with at most this many more values: a 三 row (7 values) never
# takes the 15 columns of the 四 row after it.
_MOST_MISSING = 6


def _value_rows(lines: list[tuple]) -> tuple[list[tuple], int]:
    """The lines that read ``label v …`` (values with nothing after them) and how many section headings the page has.

    A row: (line index, label words, value words, headings above it on the page).
    """
    rows: list[tuple] = []
    headings = 0
    for k, (_, text, cluster) in enumerate(lines):
        if _HAS_DIGIT(text):  # (the page's number is not among the lines: _without_page_number)
            value = [bool(_VALUE_WORD.fullmatch(piece)) for piece in text.split(" ")]  # the line's words
            first = value.index(True) if True in value else len(value)
            end = first
            while end < len(value) and value[end]:
                end += 1
            # Values with nothing after them: prose ("收到申请 21 件，") is left as it is.  A line of one
            # value ("大道 90", a 三 row of six blanks and one number) is only placed when it sits under a
            # value of a fuller row near it in the same section (``_realign``); never a fuller row itself.
            if end > first and end == len(value):
                words = _line_words(cluster)
                if len(words) == len(value):
                    rows.append((k, words[:first], words[first:], headings))
                continue
        headings += bool(_SECTION_HEADING.match(text))
    return rows, headings


def _realign(page: _PageText, before: _PageText | None, after: _PageText | None) -> dict[int, list[str]]:
    """Rows of a table printed without column rules whose empty cells print nothing, as their cells.

    With no rules, a row that leaves a cell empty is a label and fewer numbers, and read as
    text, the numbers after the gap move into the columns before it.  A row ``label v v v``
    whose values each sit under a value of a fuller row near it (the same centre, left end or
    right end, in order; on its page or the pages before and after it, as a table goes on
    across a page break) gets that row's columns, ``""`` where it has none:
    {line index: cells}.  Rows with a section heading (三、四、…) between them are of two tables.
    A row with no label and no fuller row (四's one data row) goes by the column heads above it,
    or by the columns of the grid right above it (a shaded header band's fills make one).
    (The OCR reader places numbers of rows without rules in its own way,
    ``ocr.rows_from_lines``: it has boxes, not words.)
    """
    near: list[tuple] = []  # (value words, section headings above it in the three pages)
    above = 0
    for part in (before, page, after):
        if part is not None:
            near += [(row[2], above + row[3]) for row in part.rows]
            above += part.headings
    rows = page.rows
    if not rows or len(near) < 2:
        return {}
    first = len(before.rows) if before is not None else 0
    # Each row's columns: its own values, or those of the nearest fuller row its values fit under.
    # The fullest rows go first, so a row missing two values can take the columns of a row
    # missing one that took those of a full row.
    columns: list[list[tuple]] = [values for values, _ in near]
    slots_of: dict[int, list[int]] = {}
    count = len(near)
    for n in sorted(range(count), key=lambda n: -len(near[n][0])):
        values, section = near[n]
        # the nearest first, the one above before the one below
        for m in (n + step // 2 * (1 if step % 2 else -1) for step in range(2, 2 * _NEAR_ROWS + 2)):
            if 0 <= m < count and near[m][1] == section and len(values) < len(columns[m]) <= len(values) + _MOST_MISSING:
                slots = _slots(values, columns[m])
                if slots is not None:
                    columns[n] = columns[m]
                    slots_of[n] = slots
                    break
    out: dict[int, list[str]] = {}
    for n, (k, label, values, _) in enumerate(rows, start=first):
        slots = slots_of.get(n)
        if slots is None and not label and len(values) >= _HEADED_VALUES:
            # No fuller row, and no label: 四's one data row, under its column heads if its values sit under
            # them, or in the columns of a shaded header band (read as a grid) right above it.
            heads = _column_heads(page.lines, k, before.lines if before is not None else ())
            if len(values) < len(heads) <= 2 * len(values) + 1:
                slots = _slots(values, heads)
                columns[n] = heads
            elif (band := _band_above(page, k, before)) is not None and len(values) < len(band) <= 2 * len(values) + 1:
                slots = _slots_within(values, band)
                columns[n] = band
        if slots is None:
            continue
        placed = [""] * len(columns[n])
        for word, slot in zip(values, slots):
            placed[slot] = word[2]
        out[k] = ([" ".join(w[2] for w in label)] if label else []) + placed
    return out


def _column_heads(lines: list[tuple], k: int, earlier: list[tuple] | tuple = ()) -> list[tuple]:
    """The lowest heads of the table above line ``k``: the words of the lines right above it (up to a value row
    or a section heading, at most ``_HEAD_LINES``) that no word below them stands under, left to right.

    A head over several columns (行政诉讼 over ten) has the heads of those columns below it, and is left out;
    四's group heads are also left out by their words (``_GROUP_HEAD``): centred over their columns, one can
    fall in the gap between two of their heads.  Above the first line of a page the heads go on at the foot
    of the page before (``earlier``, its lines, which hold no page number): a table's header rows can end one
    page and its one data row begin the next.
    """
    above: list[list[tuple]] = []
    for top, text, cluster in islice(chain(reversed(lines[:k]), reversed(earlier)), _HEAD_LINES):
        if _SECTION_HEADING.match(text):
            break
        words = _line_words(cluster)
        if any(_VALUE_WORD.fullmatch(w[2]) for w in words):
            break
        above.append(words)
    heads: list[tuple] = []
    below: list[tuple] = []  # the words of the lines below the one looked at
    for words in above:  # from the lowest line up
        heads += [w for w in words if not any(v[0] < w[1] and v[1] > w[0] for v in below)
                  and not _GROUP_HEAD.search(w[2])]
        below += words
    return sorted(heads)


def _band_above(page: _PageText, k: int, before: _PageText | None = None) -> list[tuple] | None:
    """The columns (x0, x1) of the bottom row of the grid right above line ``k``, with no line between.

    Above the first line of a page, the grid that ends the page before (``before``) with no line
    under it (its page number is none): a shaded header band can end a page and its data row begin the next.
    """
    top = page.lines[k][0]
    bottom = page.lines[k - 1][0] if k else float("-inf")  # the line above, if any, must be above the grid
    best = None
    for box, cells in page.tables:
        if bottom < box[3] <= top and (best is None or box[3] > best[0][3]):
            best = (box, cells)
    if best is None and k == 0 and before is not None and before.tables:
        last = max(before.tables, key=lambda table: table[0][3])
        if all(line_top < last[0][3] for line_top, _, _ in before.lines):
            best = last
    if best is None:
        return None
    box, cells = best
    return sorted((c[0], c[2]) for c in cells if c[3] >= box[3] - Y_TOLERANCE)


def _slots_within(values: list[tuple], columns: list[tuple]) -> list[int] | None:
    """The column (x0, x1) each of ``values`` has its middle in, in order and each its own; None if one has none."""
    slots: list[int] = []
    at = 0
    for x0, x1, _ in values:
        middle = (x0 + x1) / 2
        while at < len(columns) and columns[at][1] <= middle:
            at += 1
        if at == len(columns) or columns[at][0] > middle:
            return None
        slots.append(at)
        at += 1
    return slots


def _slots(values: list[tuple], fuller: list[tuple]) -> list[int] | None:
    """The fuller row's value under each of ``values``, in order, all by one alignment; None if none fits."""
    tol = _ALIGN_TOLERANCE
    for anchor in (lambda w: (w[0] + w[1]) / 2, itemgetter(0), itemgetter(1)):
        slots: list[int] = []
        at = 0
        for word in values:
            x = anchor(word)
            while at < len(fuller) and anchor(fuller[at]) < x - tol:
                at += 1
            if at == len(fuller) or anchor(fuller[at]) > x + tol:
                break
            slots.append(at)
            at += 1
        else:
            return slots
    return None


def _line_text(cluster: list[Char]) -> str:
    """One line's characters (left to right) as its words joined by single spaces."""
    x_tolerance, y_tolerance = X_TOLERANCE, Y_TOLERANCE
    words: list[str] = []
    word: list[str] = []
    right = middle = None  # of the previous character in the word
    for x0, _, x1, text, _, y_middle, _, _ in cluster:
        if text == " ":
            if word:
                words.append("".join(word))
                word = []
            right = None
            continue
        # Sorted by x0, so a character never starts left of the one before it.
        if right is not None and (x0 > right + x_tolerance or abs(y_middle - middle) > y_tolerance):
            words.append("".join(word))
            word = []
        word.append(text)
        right, middle = x1, y_middle
    if word:
        words.append("".join(word))
    return " ".join(words)


def _grid(box: tuple, cells: list[tuple], tops: list[float], columns: list[float], chars: list[Char],
          middles: list[float], taken: bytearray) -> list[list[str | None]]:
    """Rows by cell tops, columns by cell lefts (both sorted); a position no cell starts at is covered (None).

    The table's characters are those of ``chars`` (sorted by vertical middle, ``middles``) whose
    middle lies in its ``box`` and that no table before it took; they are marked in ``taken`` and
    put in their cells in the same pass.
    """
    row_of = {top: r for r, top in enumerate(tops)}
    column_of = {x0: c for c, x0 in enumerate(columns)}
    width = len(columns)
    starts = [-1] * (len(tops) * width)  # row * width + column → the cell starting there
    covering = [-1] * (len(tops) * width)  # → the (first) cell over it
    for i, (x0, top, x1, bottom) in enumerate(cells):
        r0 = row_of[top]
        c0 = column_of[x0]
        starts[r0 * width + c0] = i
        # The rows and columns up to the cell's bottom and right: where the next ones start.
        r1 = row_of.get(bottom)
        if r1 is None:
            r1 = bisect_left(tops, bottom)
        c1 = column_of.get(x1)
        if c1 is None:
            c1 = bisect_left(columns, x1)
        if r1 == r0 + 1 and c1 == c0 + 1:  # most cells cover one position
            if covering[r0 * width + c0] < 0:
                covering[r0 * width + c0] = i
            continue
        for r in range(r0, r1):
            for at in range(r * width + c0, r * width + c1):
                if covering[at] < 0:
                    covering[at] = i
    inside: list[list[Char]] = [[] for _ in cells]
    box_x0, box_top, box_x1, box_bottom = box
    # A character's row is the last whose top is at or above its middle: the characters come
    # top to bottom, so the row only moves down.
    next_tops = iter([*tops[1:], float("inf")])
    next_top = next(next_tops)
    base = -1  # row * width - 1: with bisect_right's column + 1, the position in the row
    for k in range(bisect_left(middles, box_top), bisect_right(middles, box_bottom)):
        if taken[k]:
            continue
        ch = chars[k]
        mx = ch[0] if ch[3] in _HANGING else ch[4]
        if not box_x0 <= mx <= box_x1:
            continue
        taken[k] = 1
        my = ch[5]
        while my >= next_top:
            next_top = next(next_tops)
            base += width
        c = bisect_right(columns, mx)
        if c:
            i = covering[base + c]
            if i >= 0:
                x0, top, x1, bottom = cells[i]
                if x0 <= mx < x1 and top <= my < bottom:
                    inside[i].append(ch)
    grid: list[list[str | None]] = []
    for r in range(len(tops)):
        row: list[str | None] = []
        for at in range(r * width, r * width + width):
            i = starts[at]
            if i < 0:
                row.append(None)
                continue
            # A cell's lines are one label: join CJK without a space ("重 新出具", "（五）不\n予处理").
            cell_chars = inside[i]
            if len(cell_chars) <= 1:
                row.append(cell_chars[0][3].strip() if cell_chars else "")
            elif cell_chars[-1][5] <= cell_chars[0][5] + Y_TOLERANCE:  # one line (as _lines would find)
                row.append(_line_text(sorted(cell_chars, key=_X0)))
            else:
                row.append("".join(t.strip() for _, t in _lines(cell_chars)))
        grid.append(row)
    return grid


# Closing punctuation never starts a line, so Word and WPS let it hang past the end of a full line
# (标点溢出边界), in a cell too: its middle may lie over the next column's rule.  Where it starts says
# which cell it ends.
_HANGING = frozenset("、，。；：！？）」』》〉】”’,.;:!?)")


@dataclass
class _PageText:
    """One page's text lines outside its grids (top, text, characters), its grids, and its value rows."""

    lines: list[tuple]
    grids: list[tuple]  # (top, 1, grid)
    tables: list[tuple]  # (box, cells) of each grid
    rows: list[tuple]  # _value_rows(lines)
    headings: int  # section headings among the lines

    def emit(self, layout: Layout, realigned: dict[int, list[str]]) -> None:
        """The page's blocks into ``layout``, top to bottom; a realigned line as a row of its own."""
        blocks: list[tuple[float, int, object]] = []
        for k, (top, text, _) in enumerate(self.lines):
            if k in realigned:
                blocks.append((top, 1, [realigned[k]]))  # its empty cells kept
            else:
                blocks.append((top, 0, text))
        blocks += self.grids
        blocks.sort(key=lambda b: (b[0], b[1]))
        layout.add_blocks((kind != 0, value) for _, kind, value in blocks)


def _page_text_blocks(chars: list[Char], tables: list[list[tuple]]) -> _PageText:
    """The page's tables (two columns or more) as grids and the text around them as lines.

    A grid of one row is a table too: a table broken across pages often leaves just its last row
    (结转下年度继续办理, 总计) at the top of the next page, and only its cells say which of its
    numbers are missing.  A single column of boxes is framed text.
    """
    kept = []
    for cells in tables:
        tops = sorted(set(map(_TOP, cells)))
        columns = sorted(set(map(_X0, cells)))
        if len(columns) >= 2:
            box = (columns[0], tops[0], max(map(_X1, cells)), max(map(_BOTTOM, cells)))
            kept.append((box, cells, tops, columns))
    # Sorted once (stably: ties stay in text order) for _lines and _grid, which need that order.
    chars = sorted(chars, key=_Y_MIDDLE)
    outside = chars
    grids = []
    if kept:
        middles = list(map(_Y_MIDDLE, chars))
        taken = bytearray(len(chars))
        for box, cells, tops, columns in kept:
            grids.append((box[1], 1, _grid(box, cells, tops, columns, chars, middles, taken)))
        outside = list(compress(chars, map(not_, taken)))
    lines = _without_page_number(_lines(outside, clusters=True))
    return _PageText(lines, grids, [(box, cells) for box, cells, _, _ in kept], *_value_rows(lines))


def _without_page_number(lines: list[tuple]) -> list[tuple]:
    """The lines but the page's number ("- 3 -", "3"): a line of one number, unless the lines right above
    and below it are close (their tops within one and a half of its height of its own): then it is a
    table's row of one value whose label wraps around it (``1.申请人无正当理由…`` / ``0`` / ``…政府信息公开申请``)."""
    out: list[tuple] = []
    last = len(lines) - 1
    for n, line in enumerate(lines):
        if _PAGE_NUMBER.fullmatch(line[1]):
            cluster = line[2]
            height = 2 * (cluster[0][5] - cluster[0][1])  # its first character's: middle - top, twice
            if not (0 < n < last and line[0] - lines[n - 1][0] <= 1.5 * height
                    and lines[n + 1][0] - line[0] <= 1.5 * height):
                continue
        out.append(line)
    return out
