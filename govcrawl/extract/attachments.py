"""Attachments: sniffing a document's kind, and DOCX and legacy DOC/WPS documents as a ``Layout``.

A report published as an attachment goes through the same table reader as a
web page; only the way to its cells differs (PDF has its own module, ``pdf.py``):

* DOCX (python-docx): body paragraphs and Word tables in document order;
  ``gridSpan``/``vMerge`` continuation cells are left out like merged HTML cells.
* DOC/WPS (OLE2 binaries): best effort – the UTF-16 text runs of the
  WordDocument stream, with a warning that the table structure is lost.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from govcrawl.extract.layout import Layout
from govcrawl.extract.ocr import image_format

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


def sniff_kind(body: bytes, content_type: str | None = None, url: str | None = None) -> str:
    """``pdf``, ``docx``, ``doc``, ``image``, ``html`` or ``text`` from the bytes first, then the label."""
    head = body[:1024].lstrip()
    if head.startswith(PDF_MAGIC) or b"%PDF-" in body[:1024]:
        return "pdf"
    if image_format(body):
        return "image"  # a scan or a picture of the tables: read by OCR (ocr.py)
    if body.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as zf:
                if "word/document.xml" in zf.namelist():
                    return "docx"
        except (zipfile.BadZipFile, OSError, ValueError):
            pass
        return "binary"
    if body.startswith(OLE2_MAGIC):
        return "doc"
    ctype = (content_type or "").lower()
    path = (url or "").lower().split("?")[0]
    if "pdf" in ctype or path.endswith(".pdf"):
        return "pdf"  # labelled PDF but no magic: the reader will say it is broken
    if "wordprocessingml" in ctype or path.endswith(".docx"):
        return "docx"
    if "msword" in ctype or path.endswith((".doc", ".wps")):
        return "doc"
    sample = body[:4096].lower()
    if b"<html" in sample or b"<!doctype" in sample or b"<body" in sample or b"<table" in sample \
            or b"<div" in sample or b"<p" in sample or b"<meta" in sample or "html" in ctype:
        return "html"
    return "text"


# --------------------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def layout_from_docx(body: bytes) -> Layout:
    layout = Layout()
    try:
        import docx

        document = docx.Document(io.BytesIO(body))
    except Exception as exc:  # python-docx raises KeyError/ValueError/BadZipFile on broken files
        layout.warnings.append(f"DOCX could not be opened ({type(exc).__name__}: {exc}); no text read")
        return layout
    run: list[str] = []
    for child in document.element.body.iterchildren():
        if child.tag == f"{_W}p":
            run.append("".join(t.text or "" for t in child.iter(f"{_W}t")))
        elif child.tag == f"{_W}tbl":
            if run:
                layout.add_text(run)
                run = []
            layout.add_grid(_docx_grid(child))
    if run:
        layout.add_text(run)
    return layout


def _docx_grid(tbl) -> list[list[str | None]]:
    grid: list[list[str | None]] = []
    for tr in tbl.iter(f"{_W}tr"):
        row: list[str | None] = []
        for tc in tr.iterchildren(f"{_W}tc"):
            props = tc.find(f"{_W}tcPr")
            span = 1
            continued = False
            if props is not None:
                gs = props.find(f"{_W}gridSpan")
                if gs is not None:
                    try:
                        span = max(1, int(gs.get(f"{_W}val", "1")))
                    except ValueError:
                        span = 1
                vm = props.find(f"{_W}vMerge")
                continued = vm is not None and vm.get(f"{_W}val", "continue") == "continue"
            paragraphs = ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in tc.iter(f"{_W}p")]
            text = "".join(paragraphs)
            row.append(None if continued else text)
            row.extend([None] * (span - 1))
        grid.append(row)
    return grid


# --------------------------------------------------------------------------- DOC / WPS

_UTF16_RUN = re.compile(rb"(?:[\x00-\xff][\x4e-\x9f]|[\x20-\x7e\r\n\t]\x00|[\x00-\xff]\x30|[\x00-\xff]\xff){4,}")


def layout_from_doc(body: bytes) -> Layout:
    """Legacy Word/WPS binaries: recover the text runs (stored as UTF-16LE in Word 97+)."""
    layout = Layout()
    pieces: list[str] = []
    for m in _UTF16_RUN.finditer(body):
        chunk = m.group(0)
        if len(chunk) % 2:
            chunk = chunk[:-1]
        text = chunk.decode("utf-16-le", errors="ignore")
        if sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= 2 or re.search(r"\d", text):
            pieces.append(text)
    text = "\r".join(pieces)
    # Word marks cell ends with \x07 and paragraphs with \r.
    lines = re.split(r"[\r\x07\x0b\x0c]+", text)
    layout.add_text([ln for ln in lines if ln.strip()])
    layout.warnings.append(
        "legacy .doc/.wps read heuristically (text runs only, table structure lost); "
        "check the numbers or convert the file to DOCX/PDF"
    )
    return layout
