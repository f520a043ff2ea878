"""Turn a document of any layout into one stream of cells.

Real sites publish the same table as an HTML ``<table>`` with rowspan/colspan,
as one cell per line or paragraph, as ``cell |`` runs, as PDF pages or as Word
tables.  The table reader should not care, so every layout is flattened here
into a ``Layout``:

* ``tokens`` – the cells in reading order.  ``ROW_END`` marks the end of a
  table row where the layout knows rows (HTML, PDF and Word tables).  Cells
  covered by a merged cell are left out, so a value is never repeated.
* ``lines`` – the document as text lines (a table row is one line, its cells
  joined by spaces) for metadata (索引号, dates, title).

Text is repaired (pinyin residue, Traditional → Simplified, full-width forms,
odd spaces) once, here, so later stages see clean Simplified Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from govcrawl.extract.textfix import repair_text, strip_ruby_html

ROW_END = "\n"  # never a cell: cells are single-line

_BLOCK_TAGS = frozenset(
    "p div br h1 h2 h3 h4 h5 h6 li ul ol tr table tbody thead tfoot section article header footer "
    "pre blockquote dd dt dl form center hr title caption figure".split()
)
_SKIP_TAGS = frozenset("script style noscript head template iframe object svg select option textarea".split())
_LINE_TAGS = _BLOCK_TAGS | {"td", "th"}  # elements whose start and end end a text line
_NUMERIC_PIECE = re.compile(r"^[+\-]?\d[\d,]*(\.\d+)?$")


@dataclass
class Layout:
    tokens: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document_title: str | None = None  # the file's own Title metadata (PDF), untrusted
    ocr_tokens: list[tuple[int, int]] = field(default_factory=list)  # token ranges OCR read (scanned pages of a PDF)

    def add_grid(self, grid: list[list[str | None]]) -> None:
        """A table: rows of cells, ``None`` where a merged cell covers the position."""
        self.add_rows([[" ".join(c.split()) for c in row if c is not None] for row in grid])

    def add_rows(self, rows: list[list[str]]) -> None:
        """A table as rows of its present cells (none covered), each single-spaced with no space at its ends."""
        flat = [c for row in rows for c in row]
        cells = _repair_all(flat)
        if cells is not flat:  # repaired (the commonest case is not: then the rows are the cells)
            repaired = iter([c.strip() for c in cells])  # repair may have made spaces at the ends
            rows = [[next(repaired) for _ in row] for row in rows]
        tokens, lines = self.tokens, self.lines
        for row in rows:
            tokens += row
            tokens.append(ROW_END)
            if text := " ".join(filter(None, row)):
                lines.append(text)

    def add_blocks(self, blocks) -> None:
        """Text and tables in document order: ``(False, line)`` or ``(True, grid)`` (a grid as ``add_grid`` takes)."""
        run: list[str] = []
        for is_grid, value in blocks:
            if not is_grid:
                run.append(value)
                continue
            if run:
                self.add_text(run)
                run = []
            self.add_grid(value)
        if run:
            self.add_text(run)

    def add_text(self, text_lines: list[str]) -> None:
        if any("\r" in ln for ln in text_lines):
            text_lines = [ln.replace("\r", "") for ln in text_lines]
        text_lines = _repair_all(text_lines)
        self.tokens.extend(text_tokens(text_lines))
        # What _squeeze keeps of a line is empty just when the line is empty or spaces.
        self.lines.extend([squeezed for ln in text_lines if (squeezed := " ".join(ln.split()))])

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# --------------------------------------------------------------------------- text


def _squeeze(text: str) -> str:
    """Whitespace runs as one space, none at the ends: ``re.sub(r"\\s+", " ", text).strip()``, 2-3x faster."""
    return " ".join(text.split())


def _split_line(line: str) -> list[str]:
    """A text line as cells: ``规章 1 0 11`` (PDF text, tab-separated copies) → label + numbers."""
    pieces = line.split()  # str.split and str.strip agree on what whitespace is
    if not pieces:
        return [""]
    if len(pieces) == 1:
        return pieces
    if not any(map(_NUMERIC_PIECE.match, pieces)):
        return [" ".join(pieces)]
    cells: list[str] = []
    label: list[str] = []
    for piece in pieces:
        if _NUMERIC_PIECE.match(piece):
            if label:
                cells.append(" ".join(label))
                label = []
            cells.append(piece)
        else:
            label.append(piece)
    if label:
        cells.append(" ".join(label))
    return cells


def text_tokens(lines: list[str]) -> list[str]:
    """Cells of a run of text lines: ``cell |`` runs, one cell per paragraph, or one per line.

    * pipe runs: every ``|`` ends a cell, so ``||`` holds two blank cells;
    * paragraphs separated by empty lines: an empty line only separates, a
      line of spaces (a no-break space on the page) is a blank cell;
    * one cell per line: an empty line is a blank cell.
    """
    nonempty = [ln for ln in lines if ln and not ln.isspace()]
    if not nonempty:
        return []
    piped = sum(1 for ln in nonempty if ln.rstrip().endswith("|")) if any("|" in ln for ln in nonempty) else 0
    tokens: list[str] = []
    if piped >= max(3, len(nonempty) // 4):
        for line in lines:
            if "|" not in line:
                if line.strip():
                    tokens.extend(_split_line(line))
                continue
            parts = line.split("|")
            if parts and not parts[-1].strip():
                parts = parts[:-1]
            tokens.extend(_squeeze(p) for p in parts)
        return tokens
    empties = lines.count("")
    spaced = empties >= 0.6 * len(nonempty)
    append = tokens.append
    for line in lines:
        pieces = line.split()
        if len(pieces) == 1:  # the commonest line: one cell (_split_line's answer, inlined)
            append(pieces[0])
        elif pieces:
            tokens.extend(_split_line(line))
        elif line or not spaced:
            append("")  # a line of spaces is a blank cell; an empty one is, unless it only separates
    # Blank lines at the edges of a run are page layout, not cells.
    while tokens and tokens[-1] == "":
        tokens.pop()
    while tokens and tokens[0] == "":
        tokens.pop(0)
    return tokens


def layout_from_text(text: str) -> Layout:
    layout = Layout()
    layout.add_text(text.split("\n"))
    return layout


def _repair_all(texts: list[str]) -> list[str]:
    """Repair many single-line strings with one pass through OpenCC; ``texts`` itself when nothing changes."""
    if not texts:
        return []
    joined = "\n".join(texts)
    repaired = repair_text(joined)
    if repaired == joined and joined.count("\n") == len(texts) - 1:
        return texts  # the commonest case: a Simplified page with nothing to repair
    out = repaired.split("\n")
    if len(out) != len(texts):  # repair must keep lines; never lose a cell over it
        out = [repair_text(t) for t in texts]
    return out


# --------------------------------------------------------------------------- HTML


def _html_table_rows(table) -> list[list[str]]:
    """The rows of a leaf ``<table>``: each ``<tr>``'s cells, texts squeezed (``_cell_text``).

    Merged cells need no expanding here: a position a rowspan or colspan
    covers holds no cell of its own and the layout leaves covered positions
    out, so a row's cells are exactly its ``<td>``/``<th>`` in order, and
    ``rowspan``/``colspan`` are never read (reading an attribute costs more
    than reading a cell's text).

    This runs once per cell of every table, so the commonest cells (text
    alone, or in one ``<p>``/``<span>``) are read inline.
    """
    rows: list[list[str]] = []
    for tr in table.iter("tr"):
        row: list[str] = []
        append = row.append
        # lxml's HTML parser gives lower-case tags: the tag filter runs in C.
        for cell in tr.iterchildren("td", "th"):
            n = len(cell)
            if n == 0:
                text = cell.text
                append(" ".join(text.split()) if text else "")
                continue
            if n == 1:
                child = cell[0]
                if len(child) == 0 and (sep := _INLINE_OR_BLOCK.get(child.tag)) is not None:
                    text = child.text
                    head, tail = cell.text, child.tail
                    if head is not None or tail is not None:
                        text = (head or "") + sep + (text or "") + (tail or "")
                    # With nothing around the child, its separator would only be squeezed away.
                    append(" ".join(text.split()) if text else "")
                    continue
            append(_cell_text(cell))
        rows.append(row)
    return rows


def _cell_text(cell) -> str:
    parts: list[str] = []

    def walk(el):
        if el.text:
            parts.append(el.text)
        for child in el:
            tag = child.tag.lower() if isinstance(child.tag, str) else None
            if tag not in _SKIP_TAGS and tag is not None:
                if tag in _BLOCK_TAGS:
                    parts.append(" ")
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(cell)
    return _squeeze("".join(parts))


# What a lone child of a cell puts before its text: " " for a block tag, "" for an inline one.
# Lower-case tags only (lxml's HTML parser gives those); a skipped tag is not here (``_cell_text`` reads it).
_INLINE_OR_BLOCK = {
    **{tag: "" for tag in "a span font strong b em i u img label small sup sub abbr code td th".split()},
    **{tag: " " for tag in _BLOCK_TAGS},
}


_SKIP, _INLINE, _LINE, _PARA, _TABLE, _BR, _PRE = range(7)
# What the walk does with an element, by tag (lxml's HTML parser gives lower-case tags;
# comments and processing instructions have a function as their tag).
_TAG_KIND: dict = {
    **dict.fromkeys("a span font strong b em i u img label small sup sub abbr code".split(), _INLINE),
    **dict.fromkeys(_LINE_TAGS, _LINE),
    "p": _PARA, "table": _TABLE, "br": _BR, "pre": _PRE,
    **dict.fromkeys(_SKIP_TAGS, _SKIP),
    etree.Comment: _SKIP, etree.ProcessingInstruction: _SKIP, etree.Entity: _SKIP,
}


@lru_cache(maxsize=1024)
def _tag_kind(tag) -> int:
    if not isinstance(tag, str):
        return _SKIP
    return _TAG_KIND.get(tag.lower(), _INLINE)


def layout_from_html(html: str) -> Layout:
    """Walk the DOM in order: leaf tables become grids, everything else text lines.

    A block element (``<p>``, ``<div>``, ``<br>``…) ends a line.  An empty
    ``<p></p>`` is kept as an empty line and ``<p>&nbsp;</p>`` as a line of
    spaces: in tables flattened to paragraphs those are the blank cells.
    Inside ``<pre>`` the page's own line breaks count.
    """
    layout = Layout()
    html = strip_ruby_html(html)
    try:
        # lxml.html's parser makes a Python call per element to pick its class; lxml's
        # own (per-thread) HTML parser builds the same tree without, and we use no lxml.html API.
        root = etree.HTML(html) if html.strip() else None
    except (etree.ParserError, ValueError):
        root = None
    if root is None:
        return layout
    body = next(root.iterchildren("body"), None)
    if body is None:
        body = root

    text_run: list[str] = []
    line: list[str] = []
    append = line.append

    def flush(keep_empty=False):
        if not line:
            if keep_empty:
                text_run.append("")  # <p></p>
            return
        raw = "".join(line) if len(line) > 1 else line[0]
        line.clear()
        text = " ".join(raw.split())  # _squeeze, inlined: once per line of the page
        if text:
            text_run.append(text)
        elif keep_empty:
            text_run.append(" " if raw else "")  # "" for <p></p>, " " for <p>&nbsp;</p>

    def grid(el):
        flush()
        layout.add_text(text_run[:]) if text_run else None
        text_run.clear()
        layout.add_rows(_html_table_rows(el))

    # One loop per element of a 0.5 MB page: one dict look-up sorts the element,
    # the commonest kinds are tested first.
    def walk(el):
        for child in el:
            kind = _TAG_KIND.get(child.tag)
            if kind is None:
                kind = _tag_kind(child.tag)
            if kind == _INLINE or kind == _LINE or kind == _PARA or (
                    kind == _TABLE and next(child.iterdescendants("table"), None) is not None):  # not a leaf table
                block = kind != _INLINE
                if block and line:
                    flush()
                text = child.text
                if text:
                    append(text)
                if len(child):
                    walk(child)
                if block:
                    flush(kind == _PARA)
            elif kind == _TABLE:
                grid(child)
            elif kind == _BR:
                flush()
            elif kind == _PRE:
                flush()
                for piece in "".join(child.itertext()).split("\n"):
                    append(piece)
                    flush(keep_empty=True)
            # else _SKIP: a skipped element, a comment or a processing instruction
            tail = child.tail
            if tail:
                append(tail)

    if body.text:
        line.append(body.text)
    walk(body)
    flush()
    if text_run:
        layout.add_text(text_run)
    return layout
