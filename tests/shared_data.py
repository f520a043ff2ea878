"""Where the team's shared material (../shared: seeds, real PDFs, spec) lives for the tests.

CI clones the repo with ``shared/`` beside it; ``GOVCRAWL_SHARED`` overrides.
A missing folder is an error, never a reason to skip the gold tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SHARED = Path(os.environ.get("GOVCRAWL_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")


def gold_documents() -> list[tuple[Path, dict]]:
    """Every seed text and real PDF with its gold item."""
    if not SHARED.is_dir():
        raise FileNotFoundError(f"shared material not found at {SHARED} (set GOVCRAWL_SHARED)")
    docs = []
    for pattern in ("seeds/*.txt", "real/*.pdf"):
        for path in sorted(SHARED.glob(pattern)):
            gold = path.with_suffix(".gold.json")
            docs.append((path, json.loads(gold.read_text(encoding="utf-8"))))
    if len(docs) < 7:
        raise FileNotFoundError(f"expected the 4 seeds and 3 real PDFs under {SHARED}, found {len(docs)}")
    return docs
