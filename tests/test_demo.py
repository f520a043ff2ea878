"""The offline demo: ``python -m govcrawl.demo`` serves its bundled portal, crawls it, writes JSONL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from govcrawl.demo.site import build_demo_site
from conftest import diff_values

pytestmark = pytest.mark.timeout(180)


def test_demo_crawls_its_bundled_portal(tmp_path):
    out_dir = tmp_path / "out"
    # From a foreign working directory: the demo must not need the repo's tests/ or ../shared.
    env = dict(os.environ)
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    proc = subprocess.run([sys.executable, "-m", "govcrawl.demo", "--out", str(out_dir)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=150, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    files = list(out_dir.glob("demo-*.jsonl"))
    assert len(files) == 1, list(out_dir.iterdir())
    assert re.search(r"^\d+ reports found", proc.stdout, re.M), proc.stdout
    assert str(files[0]) in proc.stdout

    raw = files[0].read_text("utf-8")
    items = [json.loads(line) for line in raw.splitlines()]
    assert "\\u" not in raw
    _, expected = build_demo_site()
    by_path = {urlsplit(i["url"]).path: i for i in items}
    assert set(by_path) == set(expected), proc.stdout
    assert len(items) == len(expected)
    for path, exp in expected.items():
        item = by_path[path]
        assert item["year"] == exp["year"] and item["format"] == exp["format"], path
        assert urlsplit(item["provenance"]["source_url"]).path == exp["source"], path
        problems = diff_values(exp["tables"], item["tables"])
        assert not problems, f"{path}: " + "\n".join(problems[:20])
    # The server is gone once the demo returns.
    port = urlsplit(items[0]["url"]).port
    import socket
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    assert not any(Path(tmp_path).glob("output/*"))  # nothing written outside --out
