"""The item contract as a JSON Schema (``report.schema.json``) and its validator.

Every item of a crawl is validated, so speed matters: ``fastjsonschema``
compiles the schema to Python once and answers "valid" about 20× faster than
``jsonschema`` walks it.  Only when it says "invalid" does ``jsonschema`` (the
reference implementation) list every error in readable form — so the
messages, and the last word, are always the reference's.  The schema uses
only keywords that draft 7 and 2020-12 read alike.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

SCHEMA_FILE = "report.schema.json"


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(resources.files("govcrawl.extract").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema())


def cache_dir() -> Path:
    """Where generated code is kept between runs: ``$XDG_CACHE_HOME/govcrawl`` (``~/.cache/govcrawl``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "govcrawl"


@lru_cache(maxsize=1)
def _fast_check():
    """fastjsonschema's validator of the schema.

    Generating it (~0.5 MB of Python, one check per table cell) and compiling that took ~0.12 s
    of every crawl's start: the compiled code is kept in :func:`cache_dir`, keyed by the schema,
    fastjsonschema's version and Python's, and only run on later starts.  Without a writable
    cache it is generated in memory each time, as before.
    """
    import fastjsonschema

    schema = dict(load_schema(), **{"$schema": "http://json-schema.org/draft-07/schema#"})
    key = hashlib.sha256(json.dumps([schema, fastjsonschema.VERSION, sys.version], sort_keys=True).encode())
    path = cache_dir() / f"schema-check-{key.hexdigest()[:20]}.marshal"
    try:
        code = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        code = compile(fastjsonschema.compile_to_code(schema), f"<{SCHEMA_FILE} check>", "exec")
        temporary = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
            with os.fdopen(fd, "wb") as out:
                out.write(marshal.dumps(code))
            os.replace(temporary, path)  # whole or not at all, whoever else writes it at the same time
        except OSError:
            if temporary is not None:  # a full disk must not leave half-written files behind
                Path(temporary).unlink(missing_ok=True)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - code fastjsonschema generated from our own schema
    entry = next(name for name in code.co_names if name.startswith("validate"))
    return namespace[entry]


def validate_item(item: dict) -> list[str]:
    """Every way ``item`` breaks the contract, as readable strings; ``[]`` when it is valid."""
    import fastjsonschema

    try:
        _fast_check()(item)
        return []
    except fastjsonschema.JsonSchemaException:
        pass  # the reference implementation has the last word, and says it in full
    errors = sorted(_validator().iter_errors(item), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(item)'}: {e.message}" for e in errors]


def main(argv: list[str] | None = None) -> int:
    """``python -m govcrawl.extract.schema FEED.jsonl…``: check every line of feeds against the contract."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m govcrawl.extract.schema", description=main.__doc__)
    parser.add_argument("feeds", nargs="+", help="JSON Lines files written by govcrawl")
    args = parser.parse_args(argv)
    bad = total = 0
    for name in args.feeds:
        with open(name, encoding="utf-8") as feed:
            for number, line in enumerate(feed, 1):
                if not line.strip():
                    continue
                total += 1
                try:
                    errors = validate_item(json.loads(line))
                except json.JSONDecodeError as exc:
                    errors = [f"not JSON: {exc}"]
                if errors:
                    bad += 1
                    for error in errors:
                        print(f"{name}:{number}: {error}", file=sys.stderr)
    print(f"{total - bad} of {total} items valid")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
