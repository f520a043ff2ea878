"""ProvenancePipeline: record where and when each report was downloaded.

The extractor fills what the bytes say (source_url, content_sha256,
encoding, page metadata); this pipeline fills what only the download knows:
the list page that linked the report (``referer``), the UTC download time
(``fetched_at``), the ``ETag`` / ``Last-Modified`` response headers and
where the raw archive keeps the bytes (``archive``, null when archiving is off).
"""

from __future__ import annotations

from govcrawl.items import utc_timestamp


def header_value(headers, name: str) -> str | None:
    """One header from Scrapy ``Headers`` (bytes) or a plain dict, as text."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = {str(k).lower(): v for k, v in dict(headers).items()}
        value = lowered.get(name.lower())
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip() if isinstance(value, str) and value.strip() else None


class ProvenancePipeline:
    def process_item(self, item):
        document = getattr(item, "document", None)
        if not isinstance(item, dict) or document is None:
            return item
        provenance = item.setdefault("provenance", {})
        provenance["referer"] = document.get("referer")
        provenance["fetched_at"] = document.get("fetched_at") or utc_timestamp()
        headers = document.get("headers")
        provenance["etag"] = header_value(headers, "ETag")
        provenance["http_last_modified"] = header_value(headers, "Last-Modified")
        provenance["archive"] = document.get("archive")
        return item
