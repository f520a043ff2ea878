"""One downloaded document in, one report item out.

``extract_document`` sniffs the document kind, decodes and repairs the text,
flattens the layout into cells, reads the tables and the metadata, runs the
checks and assembles the item of ``report-schema.md``.  It never raises on
bad input: whatever went wrong is said in ``item["warnings"]``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

from govcrawl.extract import is_report, ocr
from govcrawl.extract.attachments import layout_from_doc, layout_from_docx, mht_html, sniff_kind, zip_report
from govcrawl.extract.checks import run_checks
from govcrawl.extract.decode import decode_body
from govcrawl.extract.layout import Layout, layout_from_html, layout_from_text
from govcrawl.extract.markdown import is_markdown, layout_from_markdown
from govcrawl.extract.metadata import extract_metadata
from govcrawl.extract.pdf import layout_from_pdf
from govcrawl.extract.rtf import layout_from_rtf
from govcrawl.extract.tables import read_tables

logger = logging.getLogger(__name__)

# Text beyond this is not read: real reports are well under 1 MB of text, and a
# 50 MB page must still give a result in seconds, not minutes.
MAX_TEXT_CHARS = 4_000_000
NOT_A_REPORT = "not a report: no statistical tables and no report title found"

PROVENANCE_KEYS = (
    "index_no", "publisher", "doc_no", "category", "created_date", "published_date",
    "source_url", "referer", "fetched_at", "http_last_modified", "etag", "content_sha256", "encoding",
    "reader", "archive",
)
OCR_OFF = "OCR is off (GOVCRAWL_OCR=0)"


def _content_type(headers: Mapping | None) -> str | None:
    if not headers:
        return None
    for key in headers:
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if name.lower() == "content-type":
            value = headers[key]
            if isinstance(value, (list, tuple)):
                value = value[0] if value else b""
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def _read_layout(
    body: bytes, kind: str, headers: Mapping | None, url: str | None = None
) -> tuple[Layout, str | None, str | None, list[str], str | None]:
    """The layout, the decoded HTML (for <meta>), the text encoding used, warnings, and the reader."""
    if kind == "pdf":
        layout = layout_from_pdf(body)
        if not layout.lines and ocr.enabled() and ocr.pdf_is_scanned(body):
            scanned = ocr.layout_from_scanned_pdf(body)  # its warnings replace "no text layer"
            scanned.document_title = layout.document_title
            return scanned, None, None, [], "ocr"
        return layout, None, None, [], "pdf"
    if kind == "image":
        if not ocr.enabled():
            return Layout(), None, None, [f"an image: {OCR_OFF}, no tables read"], None
        return ocr.layout_from_images([body]), None, None, [], "ocr"
    if kind == "docx":
        return layout_from_docx(body), None, None, [], "docx"
    if kind == "doc":
        return layout_from_doc(body), None, None, [], "doc"
    if kind == "rtf":  # a legacy Word document too, in Word's interchange format
        return layout_from_rtf(body), None, None, [], "doc"
    if kind == "mht":
        part = mht_html(body)
        if part is None:
            return Layout(), None, None, ["MIME (.mht) document with no HTML part; nothing read"], None
        body, headers, kind = part[0], {"Content-Type": part[1]}, "html"
    if kind == "zip":
        name, member, zip_warnings = zip_report(body)
        if not name:
            return Layout(), None, None, zip_warnings, None
        kind = sniff_kind(member, None, name)
        if kind in ("zip", "binary"):  # a zip in the zip is not opened
            return Layout(), None, None, zip_warnings + [f"{name} is not a document; nothing read"], None
        layout, html, encoding, warnings, reader = _read_layout(member, kind, None, name)
        return layout, html, encoding, zip_warnings + warnings, reader
    if kind == "binary":
        return Layout(), None, None, ["a zip (or DOCX) that cannot be opened; nothing read"], None
    decoded = decode_body(body, headers)
    warnings = list(decoded.warnings)
    text = decoded.text
    if len(text) > MAX_TEXT_CHARS:
        warnings.append(
            f"document is {len(text):,} characters; only the first {MAX_TEXT_CHARS:,} were read"
        )
        text = text[:MAX_TEXT_CHARS]
    if kind == "html":
        return layout_from_html(text), text, decoded.encoding, warnings, "html"
    if is_markdown(text, url):
        return layout_from_markdown(text), None, decoded.encoding, warnings, "text"
    return layout_from_text(text), None, decoded.encoding, warnings, "text"


def _text_layer_tokens(layout: Layout) -> list[str]:
    """The layout's tokens without those OCR read."""
    kept: list[str] = []
    last = 0
    for start, end in layout.ocr_tokens:
        kept += layout.tokens[last:start]
        last = end
    return kept + layout.tokens[last:]


def extract_document(
    body: bytes, url: str, headers: Mapping | None = None, *, portal: str | None = None,
    images: Sequence[bytes] = (),
) -> dict:
    """The report item for one document (HTML page, text, PDF, DOCX, DOC, RTF, MHT or image).

    ``images`` are the pictures in a report page's content area, in page
    order: when the page's own text holds no tables, they are read by OCR.
    """
    body = body or b""
    warnings: list[str] = []
    kind = sniff_kind(body, _content_type(headers), url)
    if not body:
        warnings.append("empty document")
    try:
        layout, html, encoding, read_warnings, reader = _read_layout(body, kind, headers, url)
    except Exception as exc:  # a reader bug must cost one document, never the crawl
        logger.exception("could not read %s", url)
        layout, html, encoding, read_warnings, reader = Layout(), None, None, [f"{kind} could not be read: {exc!r}"], None
    warnings += read_warnings + layout.warnings

    text = layout.text  # joined once: metadata and the narrative check both read it
    meta = extract_metadata(text, html=html, url=url, document_title=layout.document_title)
    warnings += meta.get("warnings", [])
    result = read_tables(layout.tokens, year=meta.get("year"))
    if images and not result.tables:
        if ocr.enabled():
            pictures = ocr.layout_from_images(list(images))
            warnings += pictures.warnings
            result, reader = read_tables(pictures.tokens, year=meta.get("year")), "ocr"
        else:
            warnings.append(f"{len(images)} image(s) on the page: {OCR_OFF}, not read")
    if reader == "pdf" and layout.ocr_tokens and result.tables:
        # A PDF with some scanned pages read by OCR: its tables are "ocr" where those pages changed them.
        if read_tables(_text_layer_tokens(layout), year=meta.get("year")).tables != result.tables:
            reader = "ocr"
    warnings += result.warnings

    provenance = {key: None for key in PROVENANCE_KEYS}
    provenance.update({k: v for k, v in (meta.get("provenance") or {}).items() if k in provenance})
    provenance.update(
        source_url=url,
        content_sha256=hashlib.sha256(body).hexdigest(),
        encoding=encoding,
        reader=reader if result.tables else None,
    )
    item = {
        "url": url,
        "portal": portal,
        "title": meta.get("title"),
        "agency": meta.get("agency"),
        "year": meta.get("year"),
        "format": result.format,
        "provenance": provenance,
        "tables": result.tables,
        "checks": run_checks(result.tables, text, meta.get("year")),
        "warnings": warnings,
    }
    if not is_report(item):
        item["warnings"].insert(0, NOT_A_REPORT)
    return item


