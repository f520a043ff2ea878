"""Scrapy-free extraction: one downloaded document in, one report item out.

Public API (the pipelines and the CLI use only this):

    extract_document(body: bytes, url: str, headers: Mapping | None = None,
                     *, portal: str | None = None) -> dict

returns a report item as described in ``../shared/spec/report-schema.md`` and
validated by ``govcrawl/extract/report.schema.json``.  It never raises on bad
input: problems land in ``item["warnings"]``.  ``is_report(item)`` tells a real
report from a page that merely looked like one.
"""

from govcrawl.extract.report import NOT_A_REPORT, extract_document, is_report

__all__ = ["NOT_A_REPORT", "extract_document", "is_report"]
