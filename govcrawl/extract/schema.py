"""The item contract as a JSON Schema (``report.schema.json``) and its validator."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

SCHEMA_FILE = "report.schema.json"


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(resources.files("govcrawl.extract").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema())


def validate_item(item: dict) -> list[str]:
    """Every way ``item`` breaks the contract, as readable strings; ``[]`` when it is valid."""
    errors = sorted(_validator().iter_errors(item), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(item)'}: {e.message}" for e in errors]
