"""OCR: pictures of a report (scanned PDF pages, image files, images of a page) as a ``Layout``.

Owns everything between a picture and the cell stream the table reader
takes, so templates, checks and warnings work as for any other document:

* ``image_format(body)`` – PNG, JPEG, GIF, BMP, TIFF or WebP by magic bytes;
* ``layout_from_images(images)`` – several pictures, in order, as one stream
  (a table continued over several images reads on);
* ``layout_from_scanned_pdf(body)`` – the pages of a PDF without a text layer,
  rendered with pypdfium2 at their scans' resolution, then as above;
* ``pdf_is_scanned(body)`` – a PDF none of whose pages has a text layer
  (``has_text_layer(pdf)`` on an open document);
* ``DocumentOCR`` and ``render_pdf_page`` – what the PDF reader uses to read
  the scanned pages of a PDF that has text on its other pages, one at a time
  where they stand in the stream, under the same caps.

Per picture: straighten it (the skew of its long ruling lines), find text
boxes and read them (RapidOCR: PP-OCRv4 detection + recognition, ONNX models
shipped inside the ``rapidocr-onnxruntime`` wheel, CPU only), then rebuild the
tables.  Where the picture has ruling lines (OpenCV morphology), the cells
are the rectangles between them and a merged cell is one whose inner
separator is missing; where it has none, a line of boxes holding numbers is
a row and its numbers are placed under the columns the block's other rows
use.  Text outside tables becomes text lines.

Nothing is corrected: every cell keeps what the recogniser read.  The
layout's warnings say how many pictures were read, the lowest cell
confidence, and each number read with less than ``UNSURE_BELOW`` confidence.

Knobs (environment, read per call): ``GOVCRAWL_OCR`` (``0`` = off),
``GOVCRAWL_OCR_MAX_PAGES`` (pictures per document, default 20) and
``GOVCRAWL_OCR_MAX_SECONDS`` (per document, default 120).  OCR is a pure
function of the bytes: it runs wherever ``extract_document`` runs, never in
the crawler's reactor thread unless extraction itself does.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import threading
import time
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache, partial

from govcrawl.extract.layout import Layout

logger = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 20
DEFAULT_MAX_SECONDS = 120.0
PDF_DPI = 200  # a scan's pages render at their images' own resolution (150-300 dpi); this where none is found
DET_MAX_SIDE = 1400  # text detection on a copy no bigger than this (cost grows with pixels; 9 pt text stays >12 px)
MAX_PIXELS = 40_000_000  # a bigger picture is a poster or a bomb, not a report page
# A number read with less confidence is listed in the warnings.  A lone 0 read right scores 0.5-1.0
# (a ring is a ring); the misreadings seen on degraded renders scored under 0.55 or were not numbers at all.
UNSURE_BELOW = 0.6
# Recognition reads short crops side by side (``_recognise``): strips of about this many pixels at the model's
# 48 px height, this much grey padding between crops, and a reading less sure than this is read again alone.
STRIP_WIDTH = 640
STRIP_GAP = 24
REREAD_BELOW = 0.9
# A ruled cell with ink but no number or word read (``_reread_from_ink``) is read once more from its ink alone,
# with this fraction of the ink's height of white around it: the font's lone 0 then reads as a 0, not a 。.
INK_PAD = 0.3

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_NUMBER = re.compile(r"^[+\-]?\d[\d,]*(\.\d+)?$")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# What a table cell holds when the recogniser made nothing of a number: stray dots and ticks.
_JUNK = re.compile(r"^[.,·'`:;。，、]+$")
# A zero alone in its cell is a round glyph the recogniser may name o, O, ○ or 〇.
_ZERO_LOOKALIKES = re.compile(r"^[0-9oO○〇]*[oO○〇][0-9oO○〇]*$")


def image_format(body: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif``, ``bmp``, ``tiff`` or ``webp`` from the magic bytes, else None."""
    for magic, name in _MAGIC:
        if body.startswith(magic):
            return name
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "webp"
    # "BM" alone starts too many texts: also its DIB header size must be one that exists.
    if body[:2] == b"BM" and len(body) > 18 and int.from_bytes(body[14:18], "little") in (12, 40, 52, 56, 108, 124):
        return "bmp"
    return None


def enabled() -> bool:
    return os.environ.get("GOVCRAWL_OCR", "1").strip().lower() not in ("0", "false", "no", "off", "")


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# --------------------------------------------------------------------------- engine

_engine_lock = threading.Lock()


@lru_cache(maxsize=1)
def _engine():
    """The OCR engine, loaded once per process (0.3 s; its models come with the wheel)."""
    from rapidocr_onnxruntime import RapidOCR

    # One thread per engine: extraction workers are the unit of parallelism, one core each.
    # Recognition calls the model's session itself (``_recognise``), one strip of crops per inference:
    # a batch is padded to its widest member and costs no less per crop on one thread.
    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, use_cls=False)


@dataclass
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str = ""
    score: float = 1.0
    room: tuple | None = None  # (x0, y0, x1, y1): the inside of its table cell, for boxes in a ruled table
    digits: tuple | None = None  # (text, score) decoded over digits only, for a short reading that is no number

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def h(self) -> float:
        return self.y1 - self.y0


@dataclass
class _Cell:
    text: str
    score: float
    read_as: str | None = None  # what the recogniser said, where it is not ``text``


@dataclass
class PageRead:
    """One picture read: blocks (top y, "text"|"grid", value) and the confidence of every cell."""
    blocks: list = field(default_factory=list)
    cells: list = field(default_factory=list)  # (row label, cell text, score) of table cells
    n_boxes: int = 0


# --------------------------------------------------------------------------- pictures


def _decode(image_bytes: bytes):
    """Bytes → BGR array (first frame of a GIF/TIFF), or raise ValueError."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(image_bytes)) as im:
        if im.width * im.height > MAX_PIXELS:
            raise ValueError(f"picture of {im.width}×{im.height} pixels is over the {MAX_PIXELS:,} cap")
        rgb = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])


def _skew_degrees(gray) -> float:
    """The page's rotation from its long horizontal ruling lines (0 when it has none).

    The lines are what survives an opening with a short horizontal bar (a
    character's strokes do not; a line turned by up to ~5° still does), and
    each long one's angle is a least-squares fit through its pixels: a
    twentieth of the CPU of a fine Hough transform, and closer to the truth.
    """
    import cv2
    import numpy as np

    scale = min(1.0, 1200 / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    binary = cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, 10)
    width = small.shape[1]
    horiz = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (20, 1)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(horiz, connectivity=8)
    angles = []
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        if w < width // 4 or h > w * 0.1:  # a quarter of the page wide, within ~5° of level
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == i)
        angles.append(math.degrees(math.atan(np.polyfit(xs, ys, 1)[0])))
    return float(np.median(angles)) if angles else 0.0


def _straighten(image):
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    angle = _skew_degrees(gray)
    if abs(angle) < 0.05:
        return image, gray
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    image = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderValue=(255, 255, 255))
    return image, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _detect(image) -> list[_Box]:
    import cv2

    engine = _engine()
    scale = min(1.0, DET_MAX_SIDE / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    quads, _ = engine.text_det(small)
    boxes = []
    for quad in quads if quads is not None else []:
        xs = [p[0] / scale for p in quad]
        ys = [p[1] / scale for p in quad]
        boxes.append(_Box(min(xs), min(ys), max(xs), max(ys)))
    return boxes


def _ctc(preds, allowed=None) -> tuple[str, float]:
    """Greedy CTC decoding of one crop's (steps × characters) scores, optionally over ``allowed`` only."""
    characters = _engine().text_rec.postprocess_op.character
    if allowed is not None:
        sub = preds[:, allowed]
        idx = [allowed[i] for i in sub.argmax(axis=1)]
        prob = sub.max(axis=1)
    else:
        idx, prob = preds.argmax(axis=1), preds.max(axis=1)
    text, scores, prev = [], [], 0
    for i, p in zip(idx, prob, strict=True):
        if i != 0 and i != prev:
            text.append(characters[i])
            scores.append(float(p))
        prev = i
    return "".join(text), (sum(scores) / len(scores) if scores else 0.0)


@lru_cache(maxsize=1)
def _digit_classes() -> list[int]:
    characters = _engine().text_rec.postprocess_op.character
    return [0] + [i for i, ch in enumerate(characters) if ch in "0123456789+-"]  # a stray dot is no number


def _recognise(image, boxes: list[_Box]) -> None:
    """Read every box (in place): text, confidence, and for a short non-word reading a digits-only reading.

    Most boxes of a table page are short (a number is ~50 px wide at the
    model's 48 px height) while one inference costs in proportion to its
    width, and a crop read alone is padded to the model's 320 px.  So the
    crops are read side by side, ``STRIP_GAP`` of padding between them, in
    strips of about ``STRIP_WIDTH``, and the scores of each time step go to
    the crop under it: a third of the CPU.  A crop inside a ruled cell is cut
    to the cell's inside, so no piece of a ruling line joins its text.

    Side by side the model reads in context, and a run of lone digits is
    where context misleads it (a zero dropped, a half glyph named ``D``).  So
    a reading is kept only when it is sure (``REREAD_BELOW``) and is a word
    or, in a table cell, a number; any other crop is read again alone as it
    always was: padded to 320 px, its tight crop unchanged.  A table cell's
    tight crop of a lone ``0`` is a ring the model may call ``o`` or ``。``;
    decoding the same scores over digits only says what it is as a number,
    with the confidence the model gave that digit (see ``_as_number``).
    """
    import cv2
    import numpy as np

    if not boxes:
        return
    rec = _engine().text_rec
    _, height, min_width = rec.rec_image_shape
    h, w = image.shape[:2]
    crops = []
    for b in boxes:
        x0, y0, x1, y1 = b.x0, b.y0, b.x1, b.y1
        if b.room:
            x0, y0, x1, y1 = max(x0, b.room[0]), max(y0, b.room[1]), min(x1, b.room[2]), min(y1, b.room[3])
        x0, y0 = min(w - 1, max(0, round(x0))), min(h - 1, max(0, round(y0)))
        crop = image[y0:max(y0 + 1, min(h, round(y1))), x0:max(x0 + 1, min(w, round(x1)))]
        width = max(1, math.ceil(height * crop.shape[1] / crop.shape[0]))
        # the recogniser's own normalisation: [0, 255] → [-1, 1], channels first
        crops.append(cv2.resize(crop, (width, height)).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0)
    # Reading order, so neighbours in a strip are neighbours on the page.
    line = max(1.0, sorted(b.h for b in boxes)[len(boxes) // 2])
    order = sorted(range(len(boxes)), key=lambda i: (round(boxes[i].cy / line), boxes[i].x0))
    total = sum(crops[i].shape[2] + STRIP_GAP for i in order)
    target = max(min_width, total / max(1, math.ceil(total / STRIP_WIDTH)))  # strips of even length
    strips: list[list[int]] = [[]]
    used = 0
    for i in order:
        if strips[-1] and used + crops[i].shape[2] > target + STRIP_GAP:
            strips.append([])
            used = 0
        strips[-1].append(i)
        used += crops[i].shape[2] + STRIP_GAP
    again = []
    for strip in strips:
        spans, pos = [], 0
        for i in strip:
            spans.append((pos, pos + crops[i].shape[2]))
            pos = spans[-1][1] + STRIP_GAP
        batch = np.zeros((1, 3, height, max(min_width, math.ceil((pos - STRIP_GAP) / 8) * 8)), np.float32)
        for i, (a, b) in zip(strip, spans, strict=True):
            batch[0, :, :, a:b] = crops[i]
        preds = rec.session(batch)[0][0]
        step = batch.shape[3] / preds.shape[0]  # pixels per time step
        cuts = [0] + [round((spans[k][1] + spans[k + 1][0]) / 2 / step) for k in range(len(spans) - 1)] + [len(preds)]
        for k, i in enumerate(strip):
            box = boxes[i]
            _read_into(box, preds[cuts[k]:cuts[k + 1]])
            if (box.score < REREAD_BELOW or not box.text
                    or (box.room and not _NUMBER.match(box.text) and not _HAN.search(box.text))):
                again.append(box)
    if again:
        quads = []
        for b in again:
            x0, y0, x1, y1 = max(0, b.x0), max(0, b.y0), min(w - 1, b.x1), min(h - 1, b.y1)
            quads.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32))
        for box, crop in zip(again, _engine().get_crop_img_list(image, quads), strict=True):
            _read_into(box, _scores_alone(crop))


def _scores_alone(crop):
    """The recogniser's (steps × characters) scores for one crop read alone, padded to the model's 320 px."""
    import numpy as np

    rec = _engine().text_rec
    _, height, min_width = rec.rec_image_shape
    ratio = max(min_width / height, crop.shape[1] / max(1, crop.shape[0]))
    return rec.session(rec.resize_norm_img(crop, ratio)[np.newaxis].astype(np.float32))[0][0]


def _read_into(box: _Box, preds) -> None:
    text, score = _ctc(preds)
    box.text, box.score, box.digits = unicodedata.normalize("NFKC", text).strip(), score, None
    if box.room and len(box.text) <= 3 and not _NUMBER.match(box.text) and not _HAN.search(box.text):
        box.digits = _ctc(preds, _digit_classes())


# --------------------------------------------------------------------------- ruled tables


@dataclass
class _Table:
    x0: int
    y0: int
    x1: int
    y1: int
    rows: list[float]  # y of each horizontal line, top to bottom
    cols: list[float]  # x of each vertical line, left to right
    owner: dict  # (r, c) → (r0, c0): the top-left elementary cell of the merged cell covering (r, c)
    vert: object  # vertical-line mask (full page)

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        r = bisect_right(self.rows, y) - 1
        c = bisect_right(self.cols, x) - 1
        if 0 <= r < len(self.rows) - 1 and 0 <= c < len(self.cols) - 1:
            return self.owner[(r, c)]
        return None

    def inside(self, owner: tuple[int, int]) -> tuple[float, float, float, float]:
        """The inside of a (merged) cell, ruling lines excluded."""
        cells = [cell for cell, o in self.owner.items() if o == owner]
        r1 = max(r for r, _ in cells) + 1
        c1 = max(c for _, c in cells) + 1
        return (self.cols[owner[1]] + 4, self.rows[owner[0]] + 4, self.cols[c1] - 4, self.rows[r1] - 4)

    def separators(self, box: _Box) -> list[float]:
        """Vertical lines that run through the box: where a misread box spans two cells."""
        out = []
        y0, y1 = int(box.y0 + box.h * 0.25), int(box.y1 - box.h * 0.25)
        for x in self.cols[1:-1]:
            if box.x0 + box.h * 0.3 < x < box.x1 - box.h * 0.3:
                band = self.vert[y0:y1, max(0, int(x) - 3):int(x) + 4]
                if band.size and band.any(axis=1).mean() > 0.6:
                    out.append(x)
        return out


def _line_positions(profile, min_gap: int) -> list[float]:
    """Centres of runs of non-zero entries (a ruling line is a few pixels thick)."""
    out: list[float] = []
    start = None
    for i, v in enumerate(list(profile) + [0]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            centre = (start + i - 1) / 2
            if out and centre - out[-1] < min_gap:
                out[-1] = (out[-1] + centre) / 2
            else:
                out.append(centre)
            start = None
    return out


def _find_tables(gray, text_height: float) -> list[_Table]:
    import cv2
    import numpy as np

    h, w = gray.shape
    binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, 10)
    # Longer than any stroke of a character: a horizontal stroke is at most one character wide,
    # a vertical one at most one text line high.
    h_len = max(int(text_height * 2.2), w // 40, 15)
    v_len = max(int(text_height * 1.1), 12)
    horiz = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vert = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    # Close small breaks (JPEG, thin lines) along each line.
    horiz = cv2.dilate(horiz, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1)))
    vert = cv2.dilate(vert, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
    grid = cv2.dilate(cv2.bitwise_or(horiz, vert), np.ones((5, 5), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(grid)
    tables = []
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        if bw < w / 5 or bh < text_height * 2:
            continue
        region_h = horiz[y:y + bh, x:x + bw]
        region_v = vert[y:y + bh, x:x + bw]
        gap = max(4, int(text_height * 0.5))
        rows = [y + r for r in _line_positions((region_h > 0).sum(axis=1) >= max(h_len, bw * 0.05), gap)]
        cols = [x + c for c in _line_positions((region_v > 0).sum(axis=0) >= v_len, gap)]
        if len(rows) < 2 or len(cols) < 2:
            continue
        tables.append(_Table(x, y, x + bw, y + bh, rows, cols, _merged_cells(rows, cols, horiz, vert), vert))
    return tables


def _merged_cells(rows, cols, horiz, vert) -> dict:
    """Union of elementary cells whose separator is missing: each cell's top-left owner."""
    parent: dict = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    def present(mask, x0, x1, y0, y1, along_x: bool) -> bool:
        band = mask[int(y0):int(y1) + 1, int(x0):int(x1) + 1]
        if band.size == 0:
            return True
        return (band.any(axis=0) if along_x else band.any(axis=1)).mean() > 0.5

    n_r, n_c = len(rows) - 1, len(cols) - 1
    for r in range(n_r):
        for c in range(n_c):
            find((r, c))
            ym0, ym1 = rows[r] + 3, rows[r + 1] - 3
            xm0, xm1 = cols[c] + 3, cols[c + 1] - 3
            if c + 1 < n_c and not present(vert, cols[c + 1] - 3, cols[c + 1] + 3, ym0, ym1, along_x=False):
                union((r, c), (r, c + 1))
            if r + 1 < n_r and not present(horiz, xm0, xm1, rows[r + 1] - 3, rows[r + 1] + 3, along_x=True):
                union((r, c), (r + 1, c))
    return {cell: find(cell) for cell in list(parent)}


def _as_number(cell: _Cell, boxes: list[_Box]) -> _Cell:
    """A table cell read as ``o``/``。`` where a number stands: its digits-only reading, always unsure.

    The cell keeps what was read in ``read_as`` and a confidence below
    ``UNSURE_BELOW``, so the warnings list it; a reading that is no number
    even over digits stays as it was (and is listed as junk).
    """
    if not cell.text or _NUMBER.match(cell.text) or not (_JUNK.match(cell.text) or _ZERO_LOOKALIKES.match(cell.text)):
        return cell
    if len(boxes) == 1 and boxes[0].digits and _NUMBER.match(boxes[0].digits[0]):
        text, score = boxes[0].digits
        return _Cell(text, min(score, UNSURE_BELOW - 0.01), read_as=cell.text)
    if _ZERO_LOOKALIKES.match(cell.text):
        return _Cell(re.sub(r"[oO○〇]", "0", cell.text), min(cell.score, 0.5), read_as=cell.text)
    return cell


def _table_grid(table: _Table, boxes: list[_Box]) -> tuple[list[list[str | None]], list]:
    """The grid of a ruled table (``None`` where a merged cell covers) and its cells' confidences."""
    pieces: dict = {}
    for b in boxes:
        owner = table.cell_of(b.cx, b.cy)
        if owner is not None:
            pieces.setdefault(owner, []).append(b)
    grid: list[list[str | None]] = []
    confidences = []
    for r in range(len(table.rows) - 1):
        row: list[str | None] = []
        label = None
        for c in range(len(table.cols) - 1):
            owner = table.owner[(r, c)]
            if owner != (r, c):
                row.append(None)
                continue
            cell = _as_number(_join_cell(pieces.get(owner, [])), pieces.get(owner, []))
            row.append(cell.text)
            if cell.text and not _NUMBER.match(cell.text):
                label = cell.text  # a number is named by the nearest label left of it: "2.重复申请", not its group
            if cell.text:
                confidences.append([label, cell.text, cell.score, cell.read_as])
        grid.append(row)
    return grid, confidences


def _join_cell(boxes: list[_Box]) -> _Cell:
    """A cell's boxes in reading order; its lines are one label (CJK joins without a space)."""
    if not boxes:
        return _Cell("", 1.0)
    text = "".join(" ".join(b.text for b in line) if _all_numbers(line) else "".join(b.text for b in line)
                   for line in _lines(boxes))
    return _Cell(text.strip(), min(b.score for b in boxes))


def _all_numbers(line: list[_Box]) -> bool:
    return len(line) > 1 and all(_NUMBER.match(b.text) for b in line)


def _lines(boxes: list[_Box]) -> list[list[_Box]]:
    """Boxes grouped into text lines (centres within half a line height), each sorted left to right."""
    lines: list[list[_Box]] = []
    for b in sorted(boxes, key=lambda b: b.cy):
        if lines:
            last = lines[-1]
            mean_cy = sum(x.cy for x in last) / len(last)
            if abs(b.cy - mean_cy) < max(b.h, last[0].h) * 0.5:
                last.append(b)
                continue
        lines.append([b])
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _ink_bounds(gray, inside: tuple, text_height: float) -> tuple[int, int, int, int] | None:
    """The tight box (x0, y0, x1, y1) around the dark pixels inside a cell, or None for a blank cell.

    A margin of a tenth of a text line keeps the ruling lines out; a mark
    smaller than a dot is no ink.  A thin glyph (a 7 or a 1 of a light
    font: 20 pixels at 150 dpi) has fewer pixels than a dot of a bold one,
    so fewer count where they stand as tall as a digit and clear of the
    cell's sides, where a remnant of a ruling line would touch.
    """
    margin = max(2, int(text_height * 0.1))
    x0, y0, x1, y1 = (int(inside[0]) + margin, int(inside[1]) + margin, int(inside[2]) - margin,
                      int(inside[3]) - margin)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    ink = gray[y0:y1, x0:x1] < 128
    count = int(ink.sum())
    if count < 12:
        return None
    ys, xs = ink.nonzero()
    bounds = (x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)
    if count < 0.03 * text_height * text_height:
        glyph_tall = bounds[3] - bounds[1] >= 0.4 * text_height
        if not glyph_tall or bounds[0] == x0 or bounds[2] == x1:
            return None
    return bounds


def _ink_box(gray, inside: tuple, text_height: float) -> _Box | None:
    """A box around the ink of a cell where detection found no text (a lone small digit it missed).

    A blank cell has no ink and stays blank; one with a mark of at least a
    dot's size is read like any box.
    """
    bounds = _ink_bounds(gray, inside, text_height)
    if bounds is None:
        return None
    x0, y0, x1, y1 = bounds
    pad = max(2, int(text_height * 0.15))
    return _Box(max(inside[0], x0 - pad), max(inside[1], y0 - pad), min(inside[2], x1 + pad),
                min(inside[3], y1 + pad), room=inside)


def _is_numeric(box: _Box) -> bool:
    return bool(_NUMBER.match(box.text) or (box.digits and _NUMBER.match(box.digits[0])))


def _reread_from_ink(image, gray, table: _Table, boxes: list[_Box], text_height: float) -> list[_Box]:
    """The boxes of a ruled table, where a cell with ink was read as no number and no word read again.

    Such a cell is nearly always a lone digit (often a 0) that the
    recogniser, shown the detector's crop, called ``。``, ``o`` or nothing:
    how tight the crop sits around a ring decides whether it is a full stop
    or a zero, and the fonts differ.  Its ink alone, with ``INK_PAD`` of
    white around it, reads as the digit.  The new reading replaces the
    cell's boxes only when it is a number (or, decoded over digits only,
    is one where the first reading was not even that; ``_as_number`` then
    keeps it unsure); else the cell keeps what it had, and a cell read as
    nothing stays null with the table reader's warning.
    """
    import cv2

    pieces: dict = {}
    for b in boxes:
        pieces.setdefault(table.cell_of(b.cx, b.cy), []).append(b)
    out = list(pieces.pop(None, []))
    for owner, cell in pieces.items():
        text = "".join(b.text for b in cell)
        bounds = None
        if not _NUMBER.match(text) and not _HAN.search(text):
            bounds = _ink_bounds(gray, table.inside(owner), text_height)
        if bounds is None:
            out += cell
            continue
        x0, y0, x1, y1 = bounds
        pad = max(2, round((y1 - y0) * INK_PAD))
        crop = cv2.copyMakeBorder(image[y0:y1, x0:x1], pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                  value=(255, 255, 255))
        again = _Box(x0, y0, x1, y1, room=table.inside(owner))
        _read_into(again, _scores_alone(crop))
        if _NUMBER.match(again.text) or (_is_numeric(again) and not any(_is_numeric(b) for b in cell)):
            out.append(again)
        else:
            out += cell
    return out


def _split_at(box: _Box, xs: list[float]) -> list[_Box]:
    edges = [box.x0] + xs + [box.x1]
    return [_Box(a + (3 if i else 0), box.y0, b - (3 if i < len(xs) else 0), box.y1)
            for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False))]


# --------------------------------------------------------------------------- borderless rows


def rows_from_lines(lines: list[list[_Box]]) -> list[tuple[float, str, object]]:
    """Text lines outside ruled tables as blocks; runs of lines holding numbers become grid rows.

    In a run of such lines the numbers are placed under the columns the run
    uses (x-centres clustered), so a blank cell stays a blank cell instead of
    shifting the numbers after it to the left.
    """
    blocks: list[tuple[float, str, object]] = []
    run: list[list[_Box]] = []

    def flush():
        if not run:
            return
        numbers = [b for line in run for b in line if _NUMBER.match(b.text)]
        tol = max(b.h for b in numbers) * 1.2
        anchors: list[list[float]] = []
        for b in sorted(numbers, key=lambda b: b.cx):
            if anchors and b.cx - anchors[-1][-1] < tol:
                anchors[-1].append(b.cx)
            else:
                anchors.append([b.cx])
        centres = [sum(a) / len(a) for a in anchors]
        for line in run:
            label = [b for b in line if not _NUMBER.match(b.text)]
            cells = [" ".join(b.text for b in label)] if label else []
            slots = {}
            for b in line:
                if _NUMBER.match(b.text):
                    slots[min(range(len(centres)), key=lambda i: abs(centres[i] - b.cx))] = b.text
            # the columns right of the row's label: a number column left of it belongs to another table
            label_end = max((b.x1 for b in label), default=float("-inf"))
            start = next((i for i, x in enumerate(centres) if x > label_end), len(centres))
            cells += [slots.get(i, "") for i in range(start, len(centres))]
            blocks.append((line[0].y0, "grid", [cells]))
        run.clear()

    for line in lines:
        if sum(1 for b in line if _NUMBER.match(b.text)) >= 2:
            run.append(line)
            continue
        flush()
        blocks.append((line[0].y0, "text", " ".join(b.text for b in line)))
    flush()
    return blocks


# --------------------------------------------------------------------------- one picture


def read_picture(image) -> PageRead:
    """One picture (BGR array): its text lines and tables, top to bottom."""
    image, gray = _straighten(image)
    boxes = _detect(image)
    page = PageRead()
    if not boxes:
        return page
    text_height = sorted(b.h for b in boxes)[len(boxes) // 2]
    tables = _find_tables(gray, text_height)
    in_table: dict[int, list[_Box]] = {}
    outside: list[_Box] = []
    for b in boxes:
        for t_index, table in enumerate(tables):
            if table.cell_of(b.cx, b.cy) is not None:
                cut = table.separators(b)
                for piece in _split_at(b, cut) if cut else [b]:
                    owner = table.cell_of(piece.cx, piece.cy)
                    piece.room = table.inside(owner) if owner else None
                    in_table.setdefault(t_index, []).append(piece)
                break
        else:
            outside.append(b)
    for t_index, table in enumerate(tables):
        filled = {table.cell_of(b.cx, b.cy) for b in in_table.get(t_index, [])}
        for owner in sorted(set(table.owner.values()) - filled):
            inked = _ink_box(gray, table.inside(owner), text_height)
            if inked is not None:
                in_table.setdefault(t_index, []).append(inked)
    every = outside + [b for group in in_table.values() for b in group]
    _recognise(image, every)
    page.n_boxes = len(every)
    for t_index, table in enumerate(tables):
        in_table[t_index] = _reread_from_ink(image, gray, table, in_table.get(t_index, []), text_height)
    for t_index, table in enumerate(tables):
        grid, confidences = _table_grid(table, [b for b in in_table.get(t_index, []) if b.text])
        if any(any(c for c in row if c) for row in grid):
            page.blocks.append((table.y0, "grid", grid))
            page.cells += confidences
    lines = _lines([b for b in outside if b.text])
    for top, kind, value in rows_from_lines(lines):
        page.blocks.append((top, kind, value))
        if kind == "grid":
            row = value[0]
            line = next(ln for ln in lines if ln[0].y0 == top)
            label = row[0] if row and not _NUMBER.match(row[0] or "") else None
            page.cells += [[label, b.text, b.score, None] for b in line if _NUMBER.match(b.text)]
    page.blocks.sort(key=lambda block: block[0])
    return page


# --------------------------------------------------------------------------- documents


def layout_from_images(images: list, *, what: str = "image") -> Layout:
    """Pictures in order as one layout; ``what`` names them in warnings (``image``, ``PDF page``).

    A picture is image file bytes, a BGR array, or a function returning one (rendered when its turn comes).
    """
    layout = Layout()
    reader = DocumentOCR(what)
    for number, item in enumerate(images, 1):
        stop = reader.stop_reason(number, len(images))
        if stop:
            layout.warnings.append(stop)
            break
        reader.read_into(layout, number, item)
    layout.warnings += reader.summary()
    return layout


class DocumentOCR:
    """The OCR of one document's pictures: its caps (pictures and seconds), and the warnings that sum it up."""

    def __init__(self, what: str = "image"):
        self.what = what
        self.max_pages = int(_env_number("GOVCRAWL_OCR_MAX_PAGES", DEFAULT_MAX_PAGES))
        self.max_seconds = _env_number("GOVCRAWL_OCR_MAX_SECONDS", DEFAULT_MAX_SECONDS)
        self.started = time.monotonic()
        self.read = 0
        self.cells: list = []

    def stop_reason(self, number: int, total: int) -> str | None:
        """Why the ``number``-th of ``total`` pictures is not read (a cap is reached), or None."""
        if number > self.max_pages:
            return (f"OCR stopped at the cap of {self.max_pages} {self.what}s (GOVCRAWL_OCR_MAX_PAGES); "
                    f"{total - self.max_pages} not read")
        if time.monotonic() - self.started > self.max_seconds:
            return (f"OCR stopped after {self.max_seconds:g} s (GOVCRAWL_OCR_MAX_SECONDS); "
                    f"{total - number + 1} of {total} {self.what}s not read")
        return None

    def read_into(self, layout: Layout, number: int, item) -> bool:
        """Read one picture and add its blocks to ``layout``; False (and a warning) if it could not be read."""
        try:
            array = _decode(bytes(item)) if isinstance(item, (bytes, bytearray)) else item() if callable(item) else item
            with _engine_lock:  # one engine per process; its sessions are not shared between threads
                page = read_picture(array)
        except Exception as exc:  # one unreadable picture must not lose the others
            layout.warnings.append(f"{self.what} {number} could not be read by OCR ({type(exc).__name__}: {exc})")
            return False
        self.read += 1
        self.cells += page.cells
        _add_blocks(layout, page.blocks)
        return True

    def summary(self) -> list[str]:
        """How many pictures were read, in how long, the lowest cell confidence, and the unsure numbers."""
        if not self.read:
            return []
        seconds = time.monotonic() - self.started
        cells = self.cells
        lowest = min((c[2] for c in cells), default=None)
        out = [f"tables read by OCR from {self.read} {self.what}{'s' if self.read != 1 else ''} in {seconds:.1f} s; "
               + (f"lowest cell confidence {lowest:.2f}" if lowest is not None else "no table cells found")]
        unsure = [c for c in cells if (_NUMBER.match(c[1]) and c[2] < UNSURE_BELOW) or _JUNK.match(c[1])]
        if unsure:
            shown = "; ".join(f"{c[1]!r}{f' (read {c[3]!r})' if c[3] else ''} in {c[0] or 'a row without label'} ({c[2]:.2f})"
                              for c in unsure[:30])
            more = f"; and {len(unsure) - 30} more" if len(unsure) > 30 else ""
            out.append(f"OCR unsure of {len(unsure)} number(s) (cell, row, confidence): {shown}{more}")
        return out


def _add_blocks(layout: Layout, blocks) -> None:
    # OCR lines are never blank nor ``cell |`` runs, so a line at a time reads as a run of them would.
    for _, kind, value in blocks:
        if kind == "text":
            layout.add_text([value])
        else:
            layout.add_grid(value)


def pdf_is_scanned(body: bytes) -> bool:
    """A PDF whose pages have no text layer at all (pypdfium2 counts characters); False if unreadable."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(body)
    except Exception:  # pdfium's error for a broken file: the PDF reader has said what is wrong
        return False
    try:
        return len(pdf) > 0 and not has_text_layer(pdf)
    finally:
        pdf.close()


def has_text_layer(pdf) -> bool:
    """Whether any page of an open pypdfium2 document has characters (a page that fails to load has none)."""
    for index in range(len(pdf)):
        try:
            page = pdf[index]
        except Exception:  # a broken page: the PDF reader says so where it reads it
            continue
        try:
            textpage = page.get_textpage()
            try:
                if textpage.count_chars() > 0:
                    return True
            finally:
                textpage.close()
        except Exception:  # same
            continue
        finally:
            page.close()
    return False


def layout_from_scanned_pdf(body: bytes) -> Layout:
    """The pages of a PDF without a text layer, rendered one at a time (``_scan_dpi``) and read by OCR."""
    import pypdfium2 as pdfium

    max_pages = int(_env_number("GOVCRAWL_OCR_MAX_PAGES", DEFAULT_MAX_PAGES))
    pdf = pdfium.PdfDocument(body)
    try:
        n_pages = len(pdf)
        # Rendered when OCR comes to them: a 20-page scan at 200 dpi would hold 230 MB of bitmaps at once.
        pictures = [partial(render_pdf_page, pdf, index) for index in range(min(n_pages, max_pages))]
        layout = layout_from_images(pictures, what="PDF page")
    finally:
        pdf.close()
    layout.warnings.insert(0, f"PDF has no text layer ({n_pages} page{'s' if n_pages != 1 else ''}): read by OCR")
    if n_pages > max_pages:
        layout.warnings.append(f"OCR stopped at the cap of {max_pages} PDF pages (GOVCRAWL_OCR_MAX_PAGES); "
                               f"{n_pages - max_pages} of {n_pages} not read")
    return layout


def render_pdf_page(pdf, index: int):
    """Page ``index`` of a pypdfium2 document as a BGR array, at its scan's resolution (``_scan_dpi``)."""
    page = pdf[index]
    try:
        return _bgr(page.render(scale=_scan_dpi(page) / 72, grayscale=False).to_pil())
    finally:
        page.close()


def _scan_dpi(page) -> float:
    """The resolution of the page's biggest scanned image, kept between 150 and 300 dpi.

    Rendering at the scan's own resolution adds no resampling blur to what
    is already a blurred picture, and costs no more pixels than the scan has.
    """
    import pypdfium2.raw as pdfium_c

    best = (0.0, PDF_DPI)
    try:
        for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
            px_w, _ = obj.get_px_size()
            x0, _, x1, _ = obj.get_bounds()
            if x1 - x0 > best[0] and px_w:
                best = (x1 - x0, px_w / ((x1 - x0) / 72))
    except Exception:  # an odd image object: the default resolution reads it well enough
        return PDF_DPI
    return min(300.0, max(150.0, best[1]))


def _bgr(pil_image):
    import numpy as np

    return np.ascontiguousarray(np.asarray(pil_image.convert("RGB"))[:, :, ::-1])
