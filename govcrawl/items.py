"""What the portal spider yields and what the feed receives.

* ``DocumentItem`` — one downloaded candidate report: the raw bytes plus the
  facts of the download.  Only pipelines see it; ``ExtractPipeline`` turns it
  into a ``ReportItem`` and the body never reaches the feed.
* ``ReportItem`` — the report dict of ``shared/spec/report-schema.md``.  It is
  a plain ``dict`` for exporters and ``validate_item``; the ``document``
  attribute (not a key, so never exported) keeps the download facts for the
  pipelines after extraction (provenance, incremental state).
"""

from __future__ import annotations

from datetime import datetime, timezone

import scrapy


def utc_timestamp() -> str:
    """``fetched_at`` format: UTC ISO-8601 to the second, ``2026-11-21T10:00:00Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _body_summary(body: bytes | None) -> str:
    # A safety net: if a DocumentItem ever reaches an exporter, it must not dump megabytes of PDF.
    return f"<{len(body or b'')} bytes>"


class DocumentItem(scrapy.Item):
    url = scrapy.Field()  # the report page (after redirects); an attachment's URL when linked straight from a list
    source_url = scrapy.Field()  # the document whose bytes are in `body` (page or attachment)
    portal = scrapy.Field()  # portal name from the portal list
    kind = scrapy.Field()  # "report" (an HTML/text report page) or "attachment" (PDF/DOC/DOCX/WPS)
    referer = scrapy.Field()  # the list page that linked to the report
    title_hint = scrapy.Field()  # the anchor text that led here, for reports whose body has no title
    body = scrapy.Field(serializer=_body_summary)
    headers = scrapy.Field()  # response headers (scrapy Headers or dict)
    status = scrapy.Field()
    fetched_at = scrapy.Field()  # UTC ISO-8601, when the response arrived
    archive = scrapy.Field()  # {"warc": file, "record_id": "urn:uuid:…"} once the raw archive has the bytes
    images = scrapy.Field(serializer=lambda images: [_body_summary(i) for i in images or ()])  # a 图片版 page's pictures

    def __repr__(self) -> str:
        # Dropped items are logged with their repr; keep PDF bytes out of the log.
        shown = {k: (_body_summary(v) if k == "body" else v) for k, v in self.items() if k not in ("headers", "images")}
        return f"DocumentItem({shown!r})"


class ReportItem(dict):
    """A report item (dict) that remembers the DocumentItem it came from."""

    document: DocumentItem | None

    def __init__(self, *args, document: DocumentItem | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.document = document
