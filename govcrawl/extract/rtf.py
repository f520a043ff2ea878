"""RTF documents as a ``Layout``: reports saved as Rich Text, often under a ``.doc`` name.

Report tools and office suites "export to Word" as RTF, and portals post the
file as ``.doc``.  RTF is text: groups ``{…}``, control words (``\\par``,
``\\cell``, ``\\row``, ``\\trowd``, ``\\cellx``…) and the document's characters,
as ``\\uN`` Unicode escapes (with a fallback the reader skips) or as ``\\'hh``
bytes in the document's code page (``\\ansicpg936`` for Chinese; a font's
``\\fcharset`` where it names another).  What is read:

* paragraphs (``\\par``), line breaks, tabs; groups that hold no document text
  are skipped (font, colour and style tables, document info, pictures, objects,
  headers and footers, field instructions, ignorable ``\\*`` destinations);
* tables: ``\\cell`` ends a cell, ``\\row`` a row, ``\\nestcell``/``\\nestrow``
  those of a table nested in a cell (at depth ``\\itapN``); a row's definition
  (``\\trowd`` … ``\\cellxN``) says which cells continue a merge (``\\clvmrg``,
  ``\\clmrg``).

The paragraphs then become text lines and grids exactly as a Word 97 file's
do (``worddoc.blocks``): merged cells ``None``, a table holding another one
read as text around its inner grids.
"""

from __future__ import annotations

import re

from govcrawl.extract import worddoc
from govcrawl.extract.decode import codec_for_label
from govcrawl.extract.layout import Layout
from govcrawl.extract.worddoc import Paragraph

RTF_MAGIC = b"{\\rtf"

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # a control word, its parameter, the space that ends it
    rb"|\\'([0-9a-fA-F]{2})"  # a byte in the code page
    rb"|\\([^a-zA-Z'])"  # a control symbol
    rb"|([{}])"
    rb"|[\r\n]+"  # line ends in the file mean nothing
    rb"|([^\\{}\r\n]+)"  # plain text
)
# Destinations whose text is not the document's.
_SKIPPED = frozenset(
    "fonttbl colortbl stylesheet info pict object header headerl headerr headerf footer footerl footerr "
    "footerf fldinst themedata colorschememapping latentstyles datastore xmlnstbl listtable "
    "listoverridetable rsidtbl generator mmathPr nonshppict nonesttables revtbl userprops docvar "
    "bkmkstart bkmkend xe tc footnote annotation atnid atnauthor ftnsep ftnsepc ftncn aftnsep "
    "aftnsepc aftncn pn".split())
# Not skipped: \listtext and \pntext, a list paragraph's number as Word drew it (一、, 1.): the report's
# own section numbers when its headings are a numbered list.
# Ignorable (``\\*``) destinations that do hold what the reader needs: a nested table's row end.
_KEPT_IGNORABLE = frozenset({"nesttableprops"})
# A font's \\fcharset: its Windows code page; 0 (ANSI) and 1 (default) mean the document's own (\\ansicpgN).
# Both go through decode.codec_for_label, as every charset label does (GBK as GB18030, Big5 as Big5-HKSCS).
_CHARSET_CODEPAGE = {128: 932, 129: 949, 134: 936, 136: 950, 161: 1253, 162: 1254, 177: 1255, 178: 1256,
                     186: 1257, 204: 1251, 222: 874, 238: 1250}
_SYMBOLS = {b"~": "\u00a0", b"_": "-", b"-": "", b"\\": "\\", b"{": "{", b"}": "}", b"|": "", b":": ""}
_MAX_BYTES = 50_000_000


class _Group:
    """What a group ``{…}`` is reading; a group starts as its parent is."""

    __slots__ = ("skip", "uc", "font", "font_table", "nested", "ignorable", "deleted")

    def __init__(self, parent: _Group | None = None):
        self.skip = parent.skip if parent else False  # holds no document text
        self.uc = parent.uc if parent else 1  # fallback characters after a \uN
        self.font = parent.font if parent else None  # font number in force
        self.font_table = parent.font_table if parent else False
        self.nested = parent.nested if parent else False  # inside {\*\nesttableprops …}
        self.ignorable = False  # opened with \*: skipped unless its destination is known
        self.deleted = parent.deleted if parent else False  # text deleted with track changes on (\deleted)


def layout_from_rtf(body: bytes) -> Layout:
    """The layout of an RTF document (text, and tables as grids)."""
    layout = Layout()
    paragraphs, warnings = _paragraphs(body[:_MAX_BYTES])
    layout.add_blocks(worddoc.blocks(paragraphs, 1))
    layout.warnings += warnings
    if len(body) > _MAX_BYTES:
        layout.warnings.append(f"RTF document is {len(body):,} bytes; only the first {_MAX_BYTES:,} were read")
    return layout


def _paragraphs(body: bytes) -> tuple[list[Paragraph], list[str]]:
    paragraphs: list[Paragraph] = []
    warnings: list[str] = []
    text: list[str] = []  # of the paragraph being read
    pending = bytearray()  # \'hh bytes not yet decoded
    codepage = "cp1252"
    fonts: dict[int, str] = {}  # font number → code page, from the font table
    font_number: int | None = None  # the font being defined in the font table
    stack: list[_Group] = []
    group = _Group()
    skip_chars = 0  # fallback characters still to skip after a \uN
    in_table, depth = False, 1
    row_def: list[bool] = []  # the current row definition: for each \cellx, whether a merge continues that cell
    merge_next = False
    nested_def: list[bool] = []

    def flush_bytes():
        if pending:
            encoding = fonts.get(group.font, codepage) if group.font is not None else codepage
            text.append(pending.decode(encoding, errors="replace"))
            pending.clear()

    def end_paragraph(mark: str, *, cell: bool = False, row: bool = False, level: int = 0, merged=()):
        flush_bytes()
        paragraphs.append(Paragraph(worddoc.joined_surrogates("".join(text)), mark, level, cell, row, tuple(merged)))
        text.clear()

    pos, size = 0, len(body)
    while pos < size:
        match = _TOKEN.match(body, pos)
        if match is None:  # a backslash with nothing a control word can be after it: dropped
            pos += 1
            continue
        pos = match.end()
        word, param, hex_byte, symbol, brace, plain = match.groups()
        if word == b"bin" and param is not None:  # \binN: N bytes of binary data follow (a picture's)
            pos += max(0, int(param))
            continue
        if word is None and hex_byte is None and symbol is None and brace is None and plain is None:
            continue  # a line end in the file
        if brace is not None:
            if brace == b"{":
                stack.append(group)
                group = _Group(group)
            else:
                if group.skip:
                    pending.clear()
                else:
                    flush_bytes()  # in the font of the group they were written in
                if stack:
                    group = stack.pop()
                font_number = None
            continue
        if group.skip:
            if group.font_table:
                if word == b"f" and param is not None:
                    font_number = int(param)
                elif word == b"fcharset" and param is not None and font_number is not None:
                    if int(param) in _CHARSET_CODEPAGE:
                        fonts[font_number] = codec_for_label(f"cp{_CHARSET_CODEPAGE[int(param)]}")
            continue
        if skip_chars and word is None and brace is None:
            if plain is not None:
                n = min(skip_chars, len(plain))
                skip_chars -= n
                plain = plain[n:]
                if not plain:
                    continue
            else:
                skip_chars -= 1
                continue
        if plain is not None:
            if not group.deleted:
                flush_bytes()
                text.append(plain.decode("latin-1"))
            continue
        if hex_byte is not None:
            if not group.deleted:
                pending.append(int(hex_byte, 16))
            continue
        if symbol is not None:
            if symbol == b"*":
                group.ignorable = True
            elif not group.deleted:
                flush_bytes()
                text.append(_SYMBOLS.get(symbol, ""))
            continue
        name = word.decode("ascii")
        value = int(param) if param is not None else None
        if group.ignorable:
            group.ignorable = False
            if name not in _KEPT_IGNORABLE:  # an ignorable destination this reader does not read
                group.skip = True
                pending.clear()
                continue
        if name in _SKIPPED:
            group.skip = True
            group.font_table = name == "fonttbl"
            pending.clear()
            continue
        if name == "u" and value is not None:
            if not group.deleted:
                flush_bytes()
                code = value + 65536 if value < 0 else value
                text.append(chr(code) if 0 <= code < 0x110000 else "")
            skip_chars = group.uc
        elif name == "deleted":  # as Word shows the document once the changes are accepted: without it
            flush_bytes()
            group.deleted = value != 0
        elif name == "plain":  # character formatting back to the defaults
            flush_bytes()
            group.deleted = False
        elif name == "uc" and value is not None:
            group.uc = max(0, value)
        elif name == "ansicpg" and value:
            codepage = codec_for_label(f"cp{value}") or "cp1252"
            if codepage == "cp1252" and value != 1252:
                warnings.append(f"RTF code page {value} unknown; read as cp1252")
        elif name == "f" and value is not None:
            flush_bytes()
            group.font = value
        elif name in ("par", "sect", "page"):
            end_paragraph("\r", level=depth if in_table else 0)
        elif name == "line":
            flush_bytes()
            text.append(worddoc.LINE_BREAK)
        elif name == "tab":
            flush_bytes()
            text.append(" ")
        elif name == "pard":
            in_table, depth = False, 1
        elif name == "intbl":
            in_table = True
        elif name == "itap" and value is not None:
            in_table, depth = value > 0, max(1, min(value, worddoc.MAX_DEPTH))
        elif name == "cell":
            end_paragraph("\x07", cell=True, level=1)
        elif name == "nestcell":
            end_paragraph("\r", cell=True, level=max(2, depth))
        elif name == "row":
            end_paragraph("\x07", row=True, level=1, merged=row_def)
        elif name == "nestrow":
            end_paragraph("\r", row=True, level=max(2, depth), merged=nested_def)
        elif name == "trowd":
            merge_next = False
            if group.nested:
                nested_def = []
            else:
                row_def = []
        elif name in ("clvmrg", "clmrg"):
            merge_next = True
        elif name == "cellx":
            (nested_def if group.nested else row_def).append(merge_next)
            merge_next = False
        elif name == "nesttableprops":
            group.nested = True
    if text or pending:
        flush_bytes()
        if "".join(text).strip():
            end_paragraph("\r", level=depth if in_table else 0)
    return paragraphs, warnings
