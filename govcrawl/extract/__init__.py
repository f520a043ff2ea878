"""Scrapy-free extraction: one downloaded document in, one report item out.

Public API (the pipelines and the CLI use only this):

    extract_document(body: bytes, url: str, headers: Mapping | None = None,
                     *, portal: str | None = None) -> dict

returns a report item as described in ``../shared/spec/report-schema.md`` and
validated by ``govcrawl/extract/report.schema.json``.  It never raises on bad
input: problems land in ``item["warnings"]``.  ``is_report(item)`` tells a real
report from a page that merely looked like one.
"""

__all__ = ["NOT_A_REPORT", "extract_document", "is_report"]


def __getattr__(name: str):
    # The reader (report, metadata, tables, pdf, ocr ...) loads on first use, not when a submodule
    # is imported: the crawler process itself only needs ``textfix`` (discovery's text repair) and
    # ``is_report``, and its start-up and memory pay for what it imports.
    if name in __all__:
        from govcrawl.extract import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
