"""Legacy Word documents (Word 97–2003 ``.doc``, and WPS's ``.doc``/``.wps`` in the same format) as a ``Layout``.

Many county reports are posted as ``.doc``.  The file is an OLE2 compound file
(read with ``olefile``) whose ``WordDocument`` stream holds the text and the
paragraph properties, and whose table stream (``0Table``/``1Table``) holds the
piece table that says where each run of text lies.  What is read, after
[MS-DOC] (Microsoft's published specification of the format):

* the File Information Block (FIB): where the piece table (``Clx``) and the
  paragraph-property index (``PlcBtePapx``) are, and how many characters the
  main text has (``ccpText``; footnotes, headers and text boxes come after it
  and are not read);
* the piece table: each piece's characters, UTF-16LE or "compressed" 8-bit
  (cp1252);
* the paragraph properties in the 512-byte ``PapxFkp`` pages, of which only the
  table ones matter: in a table (``sprmPFInTable``), nesting depth
  (``sprmPItap``), row end (``sprmPFTtp``, ``sprmPFInnerTtp``), nested cell end
  (``sprmPFInnerTableCell``), and the row's cell definitions
  (``sprmTDefTable``: which cells continue a merge);
* a paragraph's properties too many for its page, in the ``Data`` stream
  (``sprmPHugePapx``: a wide table's row definition with its borders);
* the character properties in the ``ChpxFkp`` pages, for one thing: text
  deleted with track changes on (``sprmCFRMarkDel``) is still in the file, and
  is left out, as the document reads once the changes are accepted;
* field codes (``\\x13 code \\x14 result \\x15``): the result is kept, the code
  dropped, as Word shows it; a field inside another's code is code too.

Tables become grids as a DOCX's do: a cell a merge continues (vertically, or
horizontally by the old ``fMerged`` flag) is ``None``; a cell of several
paragraphs is their texts joined; a table holding another table is not a grid
itself (its own paragraphs become text lines) and the tables inside it are,
as only leaf tables count in HTML.  Text outside tables becomes text lines.

A file this reader cannot follow (encrypted, not Word 97 or later, a broken
piece table) raises ``WordDocError``; the caller falls back to recovering the
text runs, with a warning.
"""

from __future__ import annotations

import io
import re
import struct
from bisect import bisect_right
from dataclasses import dataclass

import olefile

from govcrawl.extract.decode import codec_for_label
from govcrawl.extract.layout import Layout

_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from

_W_IDENT = 0xA5EC  # the FIB's magic number
# Word 97 writes nFib 0x00C1 (later versions too, with their own number further on); Word 6/95 0x0065-0x0068.
_NFIB_WORD97 = 0x00C0
_F_ENCRYPTED = 0x0100
_F_WHICH_TABLE = 0x0200  # the table stream is 1Table (else 0Table)
_FC_CLX = 33  # index of the (fc, lcb) pair of the piece table in FibRgFcLcb97
_FC_PLCF_BTE_CHPX = 12  # ... of the character-property index
_FC_PLCF_BTE_PAPX = 13  # ... and of the paragraph-property index
_FKP = 512
MAX_DEPTH = 32  # tables nested deeper are read as if at this depth (a broken file may say any number)
_MAX_CHARS = 5_000_000  # a main text longer than this is not a report; read no further

# Paragraph-property sprms (operation codes) this reader looks at.
_SPRM_IN_TABLE = 0x2416
_SPRM_TTP = 0x2417
_SPRM_INNER_CELL = 0x244B
_SPRM_INNER_TTP = 0x244C
_SPRM_ITAP = 0x6649
_SPRM_DEF_TABLE = 0xD608
_SPRM_VERT_MERGE = 0xD62B
_SPRM_CHG_TABS = 0xC615
_SPRM_HUGE_PAPX = 0x6646  # the paragraph's properties are too many for its page: they are in the Data stream
_SPRM_DELETED = 0x0800  # sprmCFRMarkDel: text deleted with track changes on (still in the file)
# Operand sizes by the sprm's top three bits (spra); 6 is variable.
_OPERAND_SIZE = {0: 1, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2, 7: 3}

# Characters with a meaning in Word's text stream.
_PARAGRAPH_END = "\r"
_CELL_MARK = "\x07"  # ends a cell, and a row (the row-end mark is a paragraph of its own)
_SECTION_MARK = "\x0c"  # a page or section break: ends the line
LINE_BREAK = "\x0b"
_FIELD_BEGIN, _FIELD_SEPARATOR, _FIELD_END = "\x13", "\x14", "\x15"
# What ends a paragraph, and the field marks.
_SPECIAL = re.compile(f"[{_PARAGRAPH_END}{_CELL_MARK}{_SECTION_MARK}{_FIELD_BEGIN}{_FIELD_SEPARATOR}{_FIELD_END}]")
# Anchors and special characters that print nothing readable: pictures, drawn objects,
# footnote and comment references, separators, optional hyphens.
_DROPPED = dict.fromkeys(map(ord, "\x00\x01\x02\x03\x04\x05\x06\x08\x1f"), None) | {
    0x1E: "-", 0xA0: " ",  # non-breaking hyphen, non-breaking space
}


class WordDocError(ValueError):
    """A file this reader cannot follow; the message says why."""


@dataclass
class Paragraph:
    """A paragraph of a Word document, with its place in the tables: the model RTF is read into too."""

    text: str  # without its mark, fields resolved, anchors dropped
    mark: str  # "\r", "\x07" or "\x0c"
    depth: int = 0  # table nesting depth: 0 outside tables
    cell_end: bool = False  # the last paragraph of a cell
    row_end: bool = False  # a row-end mark (its text is nothing)
    merged: tuple[bool, ...] = ()  # of a row end: for each cell of the row, whether a merge continues it


def layout_from_word97(body: bytes) -> Layout:
    """The layout of a Word 97–2003 binary document; ``WordDocError`` if it cannot be read as one."""
    layout = Layout()
    paragraphs, title = _read(body)
    layout.add_blocks(blocks(paragraphs, 1))
    layout.document_title = title
    return layout


# --------------------------------------------------------------------------- the file


def _read(body: bytes) -> tuple[list[Paragraph], str | None]:
    try:
        ole = olefile.OleFileIO(io.BytesIO(body))
    except Exception as exc:  # olefile raises OSError and others on a broken container
        raise WordDocError(f"not a readable OLE2 file ({type(exc).__name__}: {exc})") from exc
    try:
        if not ole.exists("WordDocument"):
            raise WordDocError("no WordDocument stream (not a Word document)")
        word = ole.openstream("WordDocument").read()
        if len(word) < 154 or _U16(word, 0)[0] != _W_IDENT:
            raise WordDocError("no Word 97 or later File Information Block")
        if (nfib := _U16(word, 2)[0]) < _NFIB_WORD97:
            raise WordDocError(f"a Word 6/95 document (nFib {nfib}), older than Word 97")
        flags = _U16(word, 10)[0]
        if flags & _F_ENCRYPTED:
            raise WordDocError("the document is encrypted or password-protected")
        table_name = "1Table" if flags & _F_WHICH_TABLE else "0Table"
        if not ole.exists(table_name):
            raise WordDocError(f"the FIB names a {table_name} stream the file does not have")
        table = ole.openstream(table_name).read()
        data = ole.openstream("Data").read() if ole.exists("Data") else b""
        title = _title(ole)
    finally:
        ole.close()
    ccp_text, (fc_clx, lcb_clx), (fc_bte, lcb_bte), (fc_chp, lcb_chp) = _fib(word)
    pieces = _pieces(table[fc_clx:fc_clx + lcb_clx], word, ccp_text)
    runs = _paragraph_runs(table[fc_bte:fc_bte + lcb_bte], word, data)
    deleted = _deleted_runs(table[fc_chp:fc_chp + lcb_chp], word)
    return _paragraphs(pieces, runs, deleted), title


def _title(ole) -> str | None:
    """The document's own Title property (SummaryInformation), untrusted like a PDF's."""
    try:
        meta = ole.get_metadata()
    except Exception:  # noqa: BLE001 - a broken property set costs the title only
        return None
    value = meta.title
    if isinstance(value, bytes):
        codepage = meta.codepage if isinstance(meta.codepage, int) and meta.codepage > 0 else 936
        codec = "utf-16-le" if codepage == 1200 else codec_for_label(f"cp{codepage}")
        try:
            value = value.decode(codec or "gb18030")
        except UnicodeDecodeError:
            value = value.decode("gb18030", errors="replace")
    value = (value or "").replace("\x00", "").strip()
    return value or None


def fib_offsets(word: bytes) -> tuple[int, int]:
    """Where the FIB's longs (FibRgLw97) and its (fc, lcb) pairs start: FibBase, then the csw shorts,
    the cslw longs and cbRgFcLcb, each after its count."""
    longs_count = 32 + 2 + 2 * _U16(word, 32)[0]
    return longs_count + 2, longs_count + 2 + 4 * _U16(word, longs_count)[0] + 2


def _fib(word: bytes) -> tuple[int, tuple[int, int], tuple[int, int], tuple[int, int]]:
    """From the FIB: ``ccpText``, and the (offset, size) in the table stream of the piece table,
    PlcBtePapx and PlcBteChpx."""
    try:
        longs, blob = fib_offsets(word)
        ccp_text = _I32(word, longs + 12)[0]  # FibRgLw97.ccpText
        cb_fc_lcb = _U16(word, blob - 2)[0]
        if cb_fc_lcb <= _FC_CLX:
            raise WordDocError("the FIB is too short to say where the text is (a Word 6/95 file?)")
        clx = struct.unpack_from("<II", word, blob + 8 * _FC_CLX)
        bte = struct.unpack_from("<II", word, blob + 8 * _FC_PLCF_BTE_PAPX)
        chp = struct.unpack_from("<II", word, blob + 8 * _FC_PLCF_BTE_CHPX)
    except struct.error as exc:
        raise WordDocError("the File Information Block is cut short") from exc
    if ccp_text < 0 or not clx[1]:
        raise WordDocError("the FIB gives no piece table")
    return min(ccp_text, _MAX_CHARS), clx, bte, chp


@dataclass
class _Piece:
    cp: int  # first character position
    text: str
    fc: int  # byte offset of the first character in the WordDocument stream
    width: int  # bytes per character: 2 (UTF-16LE) or 1 (compressed, cp1252)


def _pieces(clx: bytes, word: bytes, ccp_text: int) -> list[_Piece]:
    """The main text's pieces, in character order (only the first ``ccp_text`` characters)."""
    pos = 0
    while pos < len(clx) and clx[pos] == 0x01:  # Prc: property modifiers for pieces, skipped
        size = struct.unpack_from("<h", clx, pos + 1)[0] if pos + 3 <= len(clx) else -1
        if size < 0:
            raise WordDocError("the piece table is missing or broken")
        pos += 3 + size
    if pos + 5 > len(clx) or clx[pos] != 0x02:
        raise WordDocError("the piece table is missing or broken")
    lcb = _U32(clx, pos + 1)[0]
    plc = clx[pos + 5:pos + 5 + lcb]
    n = (len(plc) - 4) // 12
    if n <= 0 or len(plc) != 4 + 12 * n:
        raise WordDocError("the piece table is missing or broken")
    cps = struct.unpack_from(f"<{n + 1}i", plc)
    pieces: list[_Piece] = []
    for i in range(n):
        start, end = cps[i], min(cps[i + 1], ccp_text)
        if start >= ccp_text:
            break
        if end <= start:
            continue
        raw_fc = _U32(plc, 4 * (n + 1) + 8 * i + 2)[0]
        if raw_fc & 0x40000000:  # fCompressed: one byte a character, at half the offset
            fc, width = (raw_fc & 0x3FFFFFFF) // 2, 1
            text = word[fc:fc + end - start].decode("cp1252", errors="replace")
        else:
            fc, width = raw_fc & 0x3FFFFFFF, 2
            raw = word[fc:fc + 2 * (end - start)]
            text = raw.decode("utf-16-le", errors="replace")
            if len(text) != end - start and len(raw) == 2 * (end - start):
                # A character beyond the BMP (a rare name's hanzi) is two positions, as in the file:
                # one character per position, the pairs joined when the paragraph is made.
                text = "".join(map(chr, struct.unpack(f"<{end - start}H", raw)))
        if len(text) != end - start:
            raise WordDocError("a piece of text lies beyond the end of the WordDocument stream")
        pieces.append(_Piece(start, text, fc, width))
    return pieces


@dataclass
class _Props:
    in_table: bool = False
    ttp: bool = False
    inner_cell: bool = False
    inner_ttp: bool = False
    itap: int | None = None
    merged: tuple[bool, ...] = ()  # from the row definition: cells a merge continues


_NO_PROPS = _Props()


def _fkp_runs(plc: bytes, word: bytes, max_runs: int, entry: int):
    """Each run of every property page (FKP) an index (PlcBtePapx/PlcBteChpx) lists.

    Yields (first byte, end byte, the 512-byte page, where in the page the run's
    properties are: 0 for none); ``entry`` is the size of a run's entry after
    the page's run boundaries (13 for paragraphs, 1 for characters).
    """
    n = (len(plc) - 4) // 8
    if n <= 0:
        return
    for pn in struct.unpack_from(f"<{n}I", plc, 4 * (n + 1)):
        at = (pn & 0x3FFFFF) * _FKP
        page = word[at:at + _FKP]
        if len(page) < _FKP:
            continue
        crun = page[511]
        if not 0 < crun <= max_runs:
            continue
        fcs = struct.unpack_from(f"<{crun + 1}I", page)
        for k in range(crun):
            yield fcs[k], fcs[k + 1], page, 2 * page[4 * (crun + 1) + entry * k]


def _paragraph_runs(plc: bytes, word: bytes, data: bytes = b"") -> tuple[list[int], list[tuple[int, _Props]]]:
    """The paragraph runs of every PapxFkp page, sorted: their starts, and (end, properties) for each.

    ``data`` is the Data stream, where a paragraph keeps properties too many for its page
    (a table row's definition with its borders, in a wide table).
    """
    runs: list[tuple[int, int, _Props]] = []
    cache: dict[bytes, _Props] = {}
    for start, end, page, offset in _fkp_runs(plc, word, 0x1D, 13):
        props = _NO_PROPS
        if offset:
            cb = page[offset]
            grpprl = page[offset + 2:offset + 2 + 2 * page[offset + 1]] if cb == 0 else page[offset + 1:offset + 2 * cb]
            grpprl = grpprl[2:]  # after the style index
            props = cache.get(grpprl)
            if props is None:
                props = cache[grpprl] = _parse_props(grpprl, data)
        runs.append((start, end, props))
    runs.sort(key=lambda run: run[0])
    return [r[0] for r in runs], [(r[1], r[2]) for r in runs]


def _sprms(grpprl: bytes):
    """Each (sprm, operand) of a property list (paragraph or character), in order."""
    pos, size = 0, len(grpprl)
    while pos + 2 <= size:
        sprm = _U16(grpprl, pos)[0]
        pos += 2
        spra = sprm >> 13
        if spra != 6:
            length = _OPERAND_SIZE[spra]
            operand = grpprl[pos:pos + length]
        elif sprm == _SPRM_DEF_TABLE:  # a two-byte size, counting itself minus one
            if pos + 2 > size:
                return
            length = 2 + _U16(grpprl, pos)[0] - 1
            operand = grpprl[pos + 2:pos + length]
        else:
            if pos >= size:
                return
            length = 1 + grpprl[pos]
            operand = grpprl[pos + 1:pos + length]
            if sprm == _SPRM_CHG_TABS and grpprl[pos] == 255:  # a long tab list: sizes inside it
                deleted = grpprl[pos + 1] if pos + 1 < size else 0
                added_at = pos + 2 + 4 * deleted
                added = grpprl[added_at] if added_at < size else 0
                length = 2 + 4 * deleted + 1 + 3 * added
        yield sprm, operand
        pos += length


def _parse_props(grpprl: bytes, data: bytes = b"", props: _Props | None = None) -> _Props:
    props = props or _Props()
    vert_merge: dict[int, int] = {}
    for sprm, operand in _sprms(grpprl):
        if sprm == _SPRM_IN_TABLE and operand:
            props.in_table = operand[0] != 0
        elif sprm == _SPRM_TTP and operand:
            props.ttp = operand[0] != 0
        elif sprm == _SPRM_INNER_CELL and operand:
            props.inner_cell = operand[0] != 0
        elif sprm == _SPRM_INNER_TTP and operand:
            props.inner_ttp = operand[0] != 0
        elif sprm == _SPRM_ITAP and len(operand) == 4:
            props.itap = _I32(operand, 0)[0]
        elif sprm == _SPRM_DEF_TABLE:
            props.merged = _merged_cells(operand)
        elif sprm == _SPRM_VERT_MERGE and len(operand) >= 3:
            vert_merge[operand[1]] = operand[2]
        elif sprm == _SPRM_HUGE_PAPX and len(operand) == 4:
            at = _U32(operand, 0)[0]
            if at + 2 <= len(data):
                _parse_props(data[at + 2:at + 2 + _U16(data, at)[0]], b"", props)
    if vert_merge:
        merged = list(props.merged)
        for cell, flag in vert_merge.items():
            if cell >= len(merged):
                merged += [False] * (cell + 1 - len(merged))
            merged[cell] = flag == 1  # 1 continues the cell above; 3 starts a merge; 0 none
        props.merged = tuple(merged)
    return props


def _merged_cells(operand: bytes) -> tuple[bool, ...]:
    """From a row definition (TDefTableOperand): for each cell, whether a merge continues it.

    Each cell's TC80 starts with flags: bits 0–1 the horizontal merge (2 or 3:
    merged into the cell before), bits 5–6 the vertical one (1: merged with the
    cell above; 3 starts a merge).  A row may define fewer TC80s than cells.
    """
    if not operand:
        return ()
    cells = operand[0]
    at = 1 + 2 * (cells + 1)
    merged = []
    for k in range(min(cells, max(0, (len(operand) - at) // 20))):
        flags = _U16(operand, at + 20 * k)[0]
        merged.append((flags & 0x3) >= 2 or (flags >> 5) & 0x3 == 1)
    return tuple(merged)


def _deleted_runs(plc: bytes, word: bytes) -> list[tuple[int, int]]:
    """The byte ranges (in the WordDocument stream) of text deleted with track changes on, sorted.

    Word keeps deleted text in the file, marked in its character properties
    (``ChpxFkp`` pages), and shows the document without it, as it reads once
    the changes are accepted.
    """
    deleted: list[tuple[int, int]] = []
    cache: dict[bytes, bool] = {}  # a document has few distinct character properties, on many runs
    for start, end, page, offset in _fkp_runs(plc, word, 0x65, 1):
        if not offset:
            continue
        grpprl = page[offset + 1:offset + 1 + page[offset]]
        gone = cache.get(grpprl)
        if gone is None:
            gone = cache[grpprl] = _is_deleted(grpprl)
        if gone:
            deleted.append((start, end))
    deleted.sort()
    return deleted


def _is_deleted(grpprl: bytes) -> bool:
    for sprm, operand in _sprms(grpprl):
        if sprm == _SPRM_DELETED and operand:
            return operand[0] in (1, 0x81)  # on, or the opposite of the style's (off)
    return False


# --------------------------------------------------------------------------- text → paragraphs


def _paragraphs(pieces: list[_Piece], runs: tuple[list[int], list[tuple[int, _Props]]],
                deleted: list[tuple[int, int]] = ()) -> list[Paragraph]:
    """The main text cut into paragraphs, each with the properties of its mark; deleted text left out."""
    starts, ends = runs
    paragraphs: list[Paragraph] = []
    parts: list[str] = []
    # For each open field: whether its code is being read (before \x14). Text counts only outside
    # every code: a field's result inside another field's code is code too.
    fields: list[bool] = []
    for piece in pieces:
        text = piece.text
        for lo, hi in _kept(piece, deleted):
            begin = lo
            for match in _SPECIAL.finditer(text, lo, hi):
                i = match.start()
                ch = text[i]
                if begin < i and not any(fields):
                    parts.append(text[begin:i])
                begin = i + 1
                if ch == _FIELD_BEGIN:
                    fields.append(True)
                elif ch == _FIELD_SEPARATOR:
                    if fields:
                        fields[-1] = False
                elif ch == _FIELD_END:
                    if fields:
                        fields.pop()
                else:
                    props = _props_at(starts, ends, piece.fc + i * piece.width)
                    paragraphs.append(_paragraph("".join(parts), ch, props))
                    parts = []
            if begin < hi and not any(fields):
                parts.append(text[begin:hi])
    if parts and "".join(parts).strip():
        paragraphs.append(_paragraph("".join(parts), _PARAGRAPH_END, _NO_PROPS))
    return paragraphs


def _kept(piece: _Piece, deleted: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The index ranges of the piece's characters that were not deleted."""
    count = len(piece.text)
    end_fc = piece.fc + count * piece.width
    k = bisect_right(deleted, (piece.fc, end_fc)) - 1
    k = max(k, 0)
    kept: list[tuple[int, int]] = []
    at = 0
    while k < len(deleted) and deleted[k][0] < end_fc:
        start_fc, stop_fc = deleted[k]
        k += 1
        if stop_fc <= piece.fc:
            continue
        lo = max(0, (start_fc - piece.fc + piece.width - 1) // piece.width)
        hi = min(count, (stop_fc - piece.fc + piece.width - 1) // piece.width)
        if lo > at:
            kept.append((at, lo))
        at = max(at, hi)
    if at < count:
        kept.append((at, count))
    return kept


def _props_at(starts: list[int], ends: list[tuple[int, _Props]], fc: int) -> _Props:
    k = bisect_right(starts, fc) - 1
    if k >= 0 and fc < ends[k][0]:
        return ends[k][1]
    return _NO_PROPS


def joined_surrogates(text: str) -> str:
    """UTF-16 surrogate pairs, kept as two characters where positions count, as the one character they are."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", errors="replace")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _paragraph(text: str, mark: str, props: _Props) -> Paragraph:
    text = joined_surrogates(text).translate(_DROPPED)
    depth = props.itap if props.itap is not None else (1 if props.in_table else 0)
    depth = min(max(0, depth), MAX_DEPTH) if (props.in_table or props.itap) else 0
    if depth <= 0:
        return Paragraph(text, mark)
    if depth == 1:
        row_end = props.ttp
        cell_end = mark == _CELL_MARK and not row_end
    else:  # a nested table's cells and rows end with \r and say so in their properties
        row_end = props.inner_ttp
        cell_end = props.inner_cell and not row_end
    return Paragraph(text, mark, depth, cell_end, row_end, props.merged if row_end else ())


# --------------------------------------------------------------------------- paragraphs → blocks


def blocks(paragraphs: list[Paragraph], depth: int) -> list[tuple[bool, object]]:
    """(False, line) and (True, grid) in document order: tables at ``depth`` and deeper among the rest."""
    out: list[tuple[bool, object]] = []
    i, n = 0, len(paragraphs)
    while i < n:
        paragraph = paragraphs[i]
        if paragraph.depth < depth:
            if not paragraph.row_end:  # an outer table's row-end mark holds no text
                out += [(False, line) for line in paragraph.text.split(LINE_BREAK)]
            i += 1
            continue
        j = i
        while j < n and paragraphs[j].depth >= depth:
            j += 1
        table = paragraphs[i:j]
        inner = min((p.depth for p in table if p.depth > depth), default=0)
        if inner:  # holds a table: not a grid itself
            out += blocks(table, inner)
        else:
            out.append((True, _grid(table)))
        i = j
    return out


def _grid(paragraphs: list[Paragraph]) -> list[list[str | None]]:
    """A leaf table's rows; a cell a merge continues is ``None``."""
    rows: list[list[str | None]] = []
    row: list[str] = []
    parts: list[str] = []
    for paragraph in paragraphs:
        if paragraph.row_end:
            if parts:  # text after the last cell mark: a cell of its own
                row.append("".join(parts))
                parts = []
            merged = paragraph.merged
            rows.append([None if k < len(merged) and merged[k] else cell for k, cell in enumerate(row)])
            row = []
            continue
        parts.append(paragraph.text.replace(LINE_BREAK, ""))
        if paragraph.cell_end:
            row.append("".join(parts))
            parts = []
    if parts:
        row.append("".join(parts))
    if row:
        rows.append(list(row))
    return rows
