"""Item pipelines, one job per file, chained in ``ITEM_PIPELINES`` order:

archive (50) → extract (100) → validate (200) → dedupe (300) → [incremental state, 450] →
provenance (500).
"""
