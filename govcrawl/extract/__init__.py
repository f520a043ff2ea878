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


def is_report(item: dict) -> bool:
    """A real annual report: it has statistical tables, or its own title *is* a report's title.

    The title rule is discovery's (``govcrawl.discovery.is_report_title``), so
    the crawler and the extractor never disagree on what a report title is:
    news about a report (``…年度报告编制培训会``) or a 解读 is not one.
    Defined here, not in ``report``, so that the crawler can ask without loading the reader.
    """
    if item.get("tables"):
        return True
    from govcrawl.discovery import is_report_title  # imported here: discovery imports the extractor's text repair

    return is_report_title(item.get("title"))


def __getattr__(name: str):
    # The reader (report, metadata, tables, pdf, ocr ...) loads on first use, not when a submodule
    # is imported: the crawler process itself only needs ``textfix`` (discovery's text repair) and
    # ``is_report``, and its start-up and memory pay for what it imports.
    if name in __all__:
        from govcrawl.extract import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
