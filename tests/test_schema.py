"""The JSON Schema of the item, and the feed checker built on it."""

from __future__ import annotations

import json

from govcrawl.extract import extract_document
from govcrawl.extract.schema import main, validate_item
from tests.shared_data import SHARED


def _item():
    path = SHARED / "seeds" / "000_81d7a68a0bd34fe9.txt"
    return extract_document(path.read_bytes(), "https://www.changzhou.gov.cn/r.html")


def test_a_real_item_is_valid():
    assert validate_item(_item()) == []


def test_schema_rejects_what_the_contract_forbids():
    item = _item()
    item["tables"]["applications"]["granted"]["natural_person"] = "0"  # a string, not a number
    item["provenance"]["published_date"] = "2020年1月17日"  # not ISO
    item["format"] = "2020"
    item["surprise"] = 1
    errors = validate_item(item)
    assert len(errors) == 4
    assert any(e.startswith("tables/applications/granted/natural_person") for e in errors)
    assert any(e.startswith("provenance/published_date") for e in errors)


def test_feed_checker_names_file_and_line(tmp_path, capsys):
    good = _item()
    bad = dict(good, year="2019")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in (good, bad)) + "\n{broken\n",
                    encoding="utf-8")
    assert main([str(feed)]) == 1
    out = capsys.readouterr()
    assert "1 of 3 items valid" in out.out
    assert f"{feed}:2: year" in out.err and f"{feed}:3: not JSON" in out.err


def test_the_fast_check_is_generated_once_kept_and_agrees_with_fastjsonschema(tmp_path, monkeypatch):
    """The generated validator is cached (a crawl's start-up does not compile it again), a broken
    cache file is replaced, and what it says is what fastjsonschema's own compile says."""
    import fastjsonschema

    from govcrawl.extract import schema

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    schema._fast_check.cache_clear()
    try:
        first = schema._fast_check()
        [kept] = (tmp_path / "govcrawl").glob("schema-check-*.marshal")
        schema._fast_check.cache_clear()
        second = schema._fast_check()  # from the file
        assert kept.stat().st_size > 10_000 and second is not first
        kept.write_bytes(b"not marshal data")
        schema._fast_check.cache_clear()
        third = schema._fast_check()  # generated again, and the file rewritten
        assert kept.read_bytes() != b"not marshal data"
        reference = fastjsonschema.compile(dict(schema.load_schema(), **{"$schema": "http://json-schema.org/draft-07/schema#"}))
        good = _item()
        bad = json.loads(json.dumps(good))
        bad["tables"]["applications"]["granted"]["natural_person"] = "0"
        for check in (first, second, third):
            assert check(good) == reference(good)
            for validator in (check, reference):
                try:
                    validator(bad)
                except fastjsonschema.JsonSchemaException as exc:
                    assert "natural_person" in str(exc.name) or "natural_person" in str(exc)
                else:
                    raise AssertionError("an invalid item passed")
    finally:
        schema._fast_check.cache_clear()
