"""Attachments: sniffing a document's kind, and DOCX and legacy DOC/WPS documents as a ``Layout``.

A report published as an attachment goes through the same table reader as a
web page; only the way to its cells differs (PDF has its own module, ``pdf.py``):

* DOCX (word/document.xml read with lxml; python-docx for packages laid out
  otherwise): body paragraphs and Word tables in document order;
  ``gridSpan``/``vMerge`` continuation cells are left out like merged HTML cells.
* DOC/WPS (OLE2 binaries): read as Word 97–2003 documents (``worddoc.py``),
  tables as grids like a DOCX's; a file that reader cannot follow has its
  UTF-16 text runs recovered, with a warning that the table structure is lost.
* What portals post as ``.doc`` but is none: RTF (``rtf.py``), a web page, and
  a MIME single-file web page (``.mht``: its HTML part, ``mht_html``) are known
  by their bytes, whatever the name or the Content-Type says.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile

from lxml import etree

from govcrawl.extract.layout import Layout
from govcrawl.extract.ocr import image_format
from govcrawl.extract.rtf import RTF_MAGIC
from govcrawl.extract.worddoc import WordDocError, layout_from_word97

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


def sniff_kind(body: bytes, content_type: str | None = None, url: str | None = None) -> str:
    """The document's kind, from its bytes first, then its label.

    ``pdf``, ``docx``, ``doc``, ``rtf``, ``mht``, ``zip`` (not a DOCX), ``image``, ``html``, ``text``
    or ``binary``.
    """
    head = body[:1024].lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if head.startswith(PDF_MAGIC) or b"%PDF-" in body[:1024]:
        return "pdf"
    if image_format(body):
        return "image"  # a scan or a picture of the tables: read by OCR (ocr.py)
    if body.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as zf:
                return "docx" if "word/document.xml" in zf.namelist() else "zip"
        except (zipfile.BadZipFile, OSError, ValueError):
            return "binary"
    if body.startswith(OLE2_MAGIC):
        return "doc"
    if head.startswith(RTF_MAGIC):
        return "rtf"  # "export to Word" of many report tools, often posted as .doc
    if _MIME_HEADER.match(head) and b"multipart/related" in head.lower():
        return "mht"  # Word's single-file web page, also posted as .doc
    ctype = (content_type or "").lower()
    path = (url or "").lower().split("?")[0]
    if "pdf" in ctype or path.endswith(".pdf"):
        return "pdf"  # labelled PDF but no magic: the reader will say it is broken
    sample = body[:4096].lower()
    markup = (b"<html" in sample or b"<!doctype" in sample or b"<body" in sample or b"<table" in sample
              or b"<div" in sample or b"<p" in sample or b"<meta" in sample)
    # A Word file with none of Word's magic numbers but markup is a web page named .doc: the
    # "export to Word" of many systems sends HTML as application/msword.
    if ("wordprocessingml" in ctype or path.endswith(".docx")) and not markup:
        return "docx"
    if ("msword" in ctype or path.endswith((".doc", ".wps"))) and not markup and b"\x00" in sample:
        return "doc"  # a binary in a format of its own (Word 6, old WPS): text runs at best
    # Bytes with no NUL under a Word name are text: some systems save plain text as .doc.
    if markup or "html" in ctype:
        return "html"
    return "text"


# The first header line of a MIME document (an .mht/.mhtml file).
_MIME_HEADER = re.compile(
    rb"(?i)(mime-version|content-type|content-location|from|date|subject|message-id|x-[\w-]+)\s*:")


def mht_html(body: bytes) -> tuple[bytes, str] | None:
    """The HTML part of a MIME (``.mht``) document, undone from its transfer encoding, and its Content-Type."""
    import email
    import email.policy

    message = email.message_from_bytes(body, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if payload:
                return payload, part.get("Content-Type", "text/html")
    return None


# Files a zip of attachments holds that may be the report, and how big one may be once unpacked.
_ZIP_DOCUMENT = re.compile(r"\.(pdf|docx|doc|wps|rtf|html?|txt)$", re.I)
_ZIP_MEMBER_MAX = 50 * 1024 * 1024
_REPORT_NAME = re.compile(r"年度?报|年报|年度工作报告")


def zip_report(body: bytes) -> tuple[str, bytes, list[str]]:
    """The report inside a zip of attachments: (its name, its bytes, warnings); ("", b"", warnings) if none.

    Portals bundle a report's files (正文, 附件) in one zip.  The member taken is the
    first whose name reads like a report (年度报告, 年报), else the largest document;
    a zip in the zip is not opened.  Names stored in GBK without the zip's UTF-8 flag
    (what Chinese Windows tools write) are read as GBK.  A member larger than 50 MB
    unpacked, or that unpacks to more than its header says, is not read.
    """
    warnings: list[str] = []
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        members = [(_zip_name(info), info) for info in zf.infolist() if not info.is_dir()]
        documents = [(name, info) for name, info in members if _ZIP_DOCUMENT.search(name)]
        if not documents:
            warnings.append(f"a zip of {len(members)} file(s), none a document; nothing read")
            return "", b"", warnings
        named = [d for d in documents if _REPORT_NAME.search(posixpath.basename(d[0]))]
        name, info = named[0] if named else max(documents, key=lambda d: d[1].file_size)
        if info.file_size > _ZIP_MEMBER_MAX:
            warnings.append(f"{name} in the zip is {info.file_size:,} bytes unpacked; not read")
            return "", b"", warnings
        try:
            with zf.open(info) as member:
                data = member.read(_ZIP_MEMBER_MAX + 1)
        except (RuntimeError, NotImplementedError, zipfile.BadZipFile, OSError, EOFError) as exc:
            # encrypted (password), a compression zipfile lacks, a broken member
            warnings.append(f"{name} in the zip could not be unpacked ({type(exc).__name__}: {exc}); not read")
            return "", b"", warnings
        if len(data) > _ZIP_MEMBER_MAX:
            warnings.append(f"{name} in the zip unpacks past {_ZIP_MEMBER_MAX:,} bytes; not read")
            return "", b"", warnings
    others = len(documents) - 1
    warnings.append(f"read {name} from a zip" + (f" ({others} other document(s) in it not read)" if others else ""))
    return name, data, warnings


def _zip_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:  # the zip says UTF-8
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


# --------------------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BODY, _P, _T, _TBL, _TR, _TC, _TCPR, _GRID_SPAN, _V_MERGE, _VAL = (
    _W + name for name in ("body", "p", "t", "tbl", "tr", "tc", "tcPr", "gridSpan", "vMerge", "val"))
_SDT, _SDT_CONTENT, _CUSTOM_XML, _CUSTOM_XML_PR, _TXBX_CONTENT = (
    _W + name for name in ("sdt", "sdtContent", "customXml", "customXmlPr", "txbxContent"))
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_WML_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
# python-docx's parser settings: the same text nodes (blank ones dropped) as python-docx would give.
_XML_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False)


def layout_from_docx(body: bytes) -> Layout:
    layout = Layout()
    document_body = _main_document_body(body)
    if document_body is None:  # not a plain DOCX: python-docx decides, and says what is wrong
        try:
            import docx

            document_body = docx.Document(io.BytesIO(body)).element.body
        except Exception as exc:  # python-docx raises KeyError/ValueError/BadZipFile on broken files
            layout.warnings.append(f"DOCX could not be opened ({type(exc).__name__}: {exc}); no text read")
            return layout
    _unwrap(document_body)
    run: list[str] = []
    for child in document_body.iterchildren():
        if child.tag == _P:
            run.append("".join(child.itertext(_T, with_tail=False)))
        elif child.tag == _TBL:
            if run:
                layout.add_text(run)
                run = []
            layout.add_grid(_docx_grid(child))
    if run:
        layout.add_text(run)
    return layout


def _unwrap(document_body) -> None:
    """Content in wrappers read as if it stood in their place.

    A content control (``w:sdt``) or a custom-XML element (``w:customXml``) may hold paragraphs,
    tables, rows, cells or runs; each stands here for what it holds (its properties dropped), so
    a table in a template's content control, or a cell in one, is read like any other.  Of an
    ``mc:AlternateContent`` the first choice is read: its ``mc:Fallback`` repeats the same text
    box for older readers, and its text would count twice (a title in a text box, doubled).  What
    a text box in a paragraph of the body holds (paragraphs, a table) follows that paragraph, so a
    table in a text box is read as a table, not as one paragraph of all its cells.
    """
    for fallback in list(document_body.iter(_MC_FALLBACK)):
        fallback.getparent().remove(fallback)
    for wrapper in list(document_body.iter(_SDT, _CUSTOM_XML)):  # outer ones first: inner ones move with them
        parent = wrapper.getparent()
        if wrapper.tag == _SDT:
            content = wrapper.find(_SDT_CONTENT)
            held = list(content) if content is not None else []
        else:
            held = [child for child in wrapper if child.tag != _CUSTOM_XML_PR]
        index = parent.index(wrapper)
        parent[index:index + 1] = held
    after: dict = {}  # a body paragraph → where the next block taken out of its text boxes goes
    for box in list(document_body.iter(_TXBX_CONTENT)):
        holder = box
        while holder.getparent() is not None and holder.getparent() is not document_body:
            holder = holder.getparent()
        if holder.getparent() is None or holder.tag != _P:
            continue  # a box in a table cell: the cell reads its text (content controls are gone by now)
        at = after.get(holder, document_body.index(holder) + 1)
        blocks = list(box)
        document_body[at:at] = blocks
        after[holder] = at + len(blocks)


def _main_document_body(body: bytes):
    """The ``<w:body>`` of a DOCX read as python-docx finds it, without python-docx; None when in doubt.

    python-docx parses every XML part of the package (styles.xml alone is often
    hundreds of KB) to build its object model; only the main document is read
    here.  The path to it is python-docx's: the package's one officeDocument
    relationship, a part whose content type is a Word document's.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            rels = etree.fromstring(zf.read("_rels/.rels"), _XML_PARSER)
            types = etree.fromstring(zf.read("[Content_Types].xml"), _XML_PARSER)
            if rels.tag != _PR + "Relationships" or types.tag != _CT + "Types":
                return None
            targets = [rel for rel in rels.iterchildren(_PR + "Relationship") if rel.get("Type") == _OFFICE_DOCUMENT]
            if len(targets) != 1 or targets[0].get("TargetMode") == "External" or targets[0].get("Target") is None:
                return None
            partname = posixpath.abspath(posixpath.join("/", targets[0].get("Target")))
            # python-docx's content type map: case-insensitive, an Override before the Default, the last one wins.
            overrides, defaults = {}, {}
            for override in types.iterchildren(_CT + "Override"):
                overrides[override.get("PartName").lower()] = override.get("ContentType")
            for default in types.iterchildren(_CT + "Default"):
                defaults[default.get("Extension").lower()] = default.get("ContentType")
            if partname.lower() in overrides:
                content_type = overrides[partname.lower()]
            else:
                content_type = defaults.get(posixpath.splitext(partname)[1][1:].lower())
            if content_type != _WML_MAIN:
                return None
            root = etree.fromstring(zf.read(partname[1:]), _XML_PARSER)
    except Exception:  # noqa: BLE001 - python-docx will say what is wrong
        return None
    if root.tag != _W + "document":
        return None
    return next(root.iterchildren(_BODY), None)


_NS = {"w": _W[1:-1]}
# Tables _docx_grid_any must read: a nested table, a paragraph in a paragraph (text box), a row in a cell.
_NESTED = etree.XPath("boolean(.//w:tbl | .//w:p//w:p | .//w:tc//w:tr)", namespaces=_NS)
# What a table's grid is made of, in document order: its rows, their cells, each cell's first
# gridSpan and vMerge, and the w:t of the paragraphs in the cells.
_GRID_PARTS = etree.XPath(
    ".//w:tr | .//w:tr/w:tc | .//w:tr/w:tc/w:tcPr[1]/w:gridSpan[1] | .//w:tr/w:tc/w:tcPr[1]/w:vMerge[1]"
    " | .//w:tr/w:tc//w:p//w:t", namespaces=_NS)


def _docx_grid(tbl) -> list[list[str | None]]:
    """The grid of a Word table: ``None`` for the positions a gridSpan covers and for vMerge continuations.

    The parts of a plain table come from one XPath query (a Python call per
    element of every cell costs 3x more); a table nested in another, or one
    holding text boxes, is read by ``_docx_grid_any``.
    """
    if _NESTED(tbl):
        return _docx_grid_any(tbl)
    grid: list[list[str | None]] = []
    row: list[str | None] = []
    texts: list[str] | None = None  # of the cell being read; None before the row's first cell
    span, continued = 1, False

    def end_cell():
        row.append(None if continued else "".join(texts))
        if span > 1:
            row.extend([None] * (span - 1))

    for part in _GRID_PARTS(tbl):
        tag = part.tag
        if tag == _T:
            if part.text:
                texts.append(part.text)
        elif tag == _TC:
            if texts is not None:
                end_cell()
            texts, span, continued = [], 1, False
        elif tag == _TR:
            if texts is not None:
                end_cell()
                texts = None
            row = []
            grid.append(row)
        elif tag == _GRID_SPAN:
            span = _span(part)
        else:  # vMerge
            continued = _continues(part)
    if texts is not None:
        end_cell()
    return grid


def _span(grid_span) -> int:
    """The columns a ``w:gridSpan`` covers (1 when its value is not a number)."""
    try:
        return max(1, int(grid_span.get(_VAL, "1")))
    except ValueError:
        return 1


def _continues(v_merge) -> bool:
    """A ``w:vMerge`` that continues the cell above (no value means continue)."""
    return v_merge.get(_VAL, "continue") == "continue"


def _docx_grid_any(tbl) -> list[list[str | None]]:
    """Any Word table: a row per ``w:tr`` below it (a nested table's too), the cells of each in order.

    A cell's text is every ``w:t`` of every paragraph below it, a nested table's
    or a text box's included (a text box's text counts once per paragraph holding it).
    """
    grid: list[list[str | None]] = []
    for tr in tbl.iter(_TR):
        row: list[str | None] = []
        for tc in tr.iterchildren(_TC):
            props = tc.find(_TCPR)
            grid_span = props.find(_GRID_SPAN) if props is not None else None
            v_merge = props.find(_V_MERGE) if props is not None else None
            span = _span(grid_span) if grid_span is not None else 1
            if v_merge is not None and _continues(v_merge):
                row.append(None)
            else:
                row.append("".join(["".join(p.itertext(_T, with_tail=False)) for p in tc.iter(_P)]))
            if span > 1:
                row.extend([None] * (span - 1))
        grid.append(row)
    return grid


# --------------------------------------------------------------------------- DOC / WPS

_UTF16_RUN = re.compile(rb"(?:[\x00-\xff][\x4e-\x9f]|[\x20-\x7e\r\n\t]\x00|[\x00-\xff]\x30|[\x00-\xff]\xff){4,}")


def layout_from_doc(body: bytes) -> Layout:
    """Legacy Word/WPS binaries: read as Word 97–2003 (``worddoc``), tables included.

    A file that reader cannot follow (encrypted, older than Word 97, broken)
    has its UTF-16 text runs recovered instead, with a warning that says why
    and that its table structure is lost.
    """
    try:
        layout = layout_from_word97(body)
    except WordDocError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - a reader bug costs the tables of this file, never its text
        logger.warning("Word 97 reader failed on a document", exc_info=True)
        reason = f"the Word reader failed ({type(exc).__name__}: {exc})"
    else:
        if layout.lines:
            return layout
        reason = "no text in its main document"
    return _doc_text_runs(body, reason)


def _doc_text_runs(body: bytes, reason: str) -> Layout:
    """The UTF-16 text runs of a binary the Word reader could not follow (stored as UTF-16LE in Word 97+)."""
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
        f"legacy .doc/.wps read heuristically ({reason}): text runs only, table structure lost; "
        "check the numbers or convert the file to DOCX/PDF"
    )
    return layout
