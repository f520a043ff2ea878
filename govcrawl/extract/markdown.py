"""Markdown copies of reports (a converter's output, a ``.md`` file) as a ``Layout``.

Owns ``is_markdown`` and ``layout_from_markdown``: ``#`` headings and
``**bold**`` lose their marks, a pipe table (``| a | b |`` rows with a
``|---|`` separator row) becomes a grid with one row per line, so the table
reader sees rows and cells as in an HTML table.  Blank lines only separate
paragraphs here; they are never cells.
"""

from __future__ import annotations

import re

from govcrawl.extract.layout import Layout

_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
# Chinese copies often leave out the space after the marks: "##四、…".
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?!#)\s*|\s+#+\s*$")
_MARKS = re.compile(r"^\s{0,3}>\s?|\*\*|__")


# A pipe-table row with content: "| 规章 | 0 | 0 | 0 |".  Copies of the template made
# cell by cell ("规章 |", "|||") have no leading pipe before content.
_CONTENT_ROW = re.compile(r"^\s*\|.*[^|\s].*\|\s*$")
_MIN_CONTENT_ROWS = 3


def is_markdown(text: str, url: str | None = None) -> bool:
    """Markdown: named ``.md``, or holding a ``|---|`` separator row or pipe-table rows (converters drop the separator)."""
    path = (url or "").split("?", 1)[0].lower()
    if path.endswith((".md", ".markdown")):
        return True
    if "|" not in text:
        return False
    rows = 0
    for line in text.splitlines():
        stripped = line.lstrip()
        if not stripped.startswith("|") and "-" not in stripped:
            continue  # neither a table row nor a separator row (most lines)
        if _SEPARATOR_ROW.match(line) and "|" in line:
            return True
        rows += bool(_CONTENT_ROW.match(line))
        if rows >= _MIN_CONTENT_ROWS:
            return True
    return False


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [cell.strip() for cell in inner.split("|")]


def layout_from_markdown(text: str) -> Layout:
    layout = Layout()
    prose: list[str] = []
    table: list[list[str | None]] = []

    def flush_prose():
        if prose:
            layout.add_text(prose[:])
            prose.clear()

    def flush_table():
        if table:
            layout.add_grid(table[:])
            table.clear()

    for line in text.replace("\r", "").split("\n"):
        if _TABLE_ROW.match(line):
            flush_prose()
            if not _SEPARATOR_ROW.match(line):
                table.append(_cells(line))
            continue
        flush_table()
        line = _MARKS.sub("", _HEADING.sub("", line)).strip()
        if line:
            prose.append(line)
    flush_table()
    flush_prose()
    return layout
