"""Item pipelines, one job per file, chained in ``ITEM_PIPELINES`` order:

archive (50) → extract (100) → validate (200) → dedupe (300) → [incremental state, 450] →
provenance (500).
"""

from __future__ import annotations

from typing import Any

EXTRACT_PIPELINE = "govcrawl.pipelines.extract.ExtractPipeline"


def pipeline_order(settings: Any) -> list[str]:
    """The crawl's ``ITEM_PIPELINES`` in the order they run, each as its dotted path."""
    from scrapy.utils.conf import build_component_list

    return [path if isinstance(path, str) else f"{path.__module__}.{path.__qualname__}"
            for path in build_component_list(settings.getwithbase("ITEM_PIPELINES"))]
