"""Shared fixtures: the fake government web of tests/sites, served on 127.0.0.1, and real crawls of it.

* ``serve_site(name_or_site)`` — start a :class:`DemoServer` on a free port for a
  directory under ``tests/sites`` (or a :class:`Site`); stopped at teardown.
* ``expected_sites`` — ``tests/sites/expected.json``.
* ``run_crawl(rows, out)`` — ``scrapy crawl portals`` in a subprocess (cwd =
  repo root) over a portal CSV built from ``rows``, with settings lowered for
  a local crawl; returns a :class:`CrawlResult` (exit code, stdout, stderr,
  items parsed from the JSONL, the raw output text).
* ``diff_values(expected, actual)`` — differences between two JSON values, as text.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from govcrawl.demo.server import DemoServer, Site

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "tests" / "sites"

# A local server answers in milliseconds: no politeness delays, fail fast.
FAST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "DOWNLOAD_TIMEOUT": "20",
    "RETRY_TIMES": "1",
    "HTTPCACHE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
    "TELNETCONSOLE_ENABLED": "False",
}


@dataclass
class CrawlResult:
    returncode: int
    stdout: str
    stderr: str
    raw: str          # the JSONL file as text
    items: list[dict]
    command: list[str]
    workdir: Path | None = None  # holds the crawl state and the raw archive (archive/)

    def describe(self) -> str:
        return (f"command: {' '.join(self.command)}\nexit code: {self.returncode}\n"
                f"--- stderr (last 6000 chars) ---\n{self.stderr[-6000:]}")


@pytest.fixture(scope="session")
def expected_sites() -> dict:
    return json.loads((SITES / "expected.json").read_text("utf-8"))


def _start(site: str | Site | os.PathLike, **kw) -> DemoServer:
    if isinstance(site, str) and not os.path.isabs(site):
        site = SITES / site
    return DemoServer(site, **kw).start()


def _servers():
    """Start sites on demand; stop every one of them when the fixture ends."""
    servers: list[DemoServer] = []

    def serve(site, **kw) -> DemoServer:
        srv = _start(site, **kw)
        servers.append(srv)
        return srv

    yield serve
    for srv in servers:
        srv.stop()


@pytest.fixture
def serve_site():
    yield from _servers()


@pytest.fixture(scope="module")
def module_serve_site():
    """Like ``serve_site`` but shared by a module's tests (one crawl, many assertions)."""
    yield from _servers()


def write_portals_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["name", "url", "region", "level", "render"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"region": "", "level": "", "render": "0", **row})
    return path


def crawl(rows: list[dict], workdir: Path, *, settings: dict | None = None, timeout: float = 120,
          extra_args: list[str] | None = None) -> CrawlResult:
    """Run ``scrapy crawl portals`` on ``rows`` (dicts with name/url[/render]) and read its JSONL."""
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = write_portals_csv(workdir / "portals.csv", rows)
    out = workdir / "items.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"portals={csv_path}", "-O", str(out)]
    # A fresh crawl state per run: a recrawl must not skip what an earlier test crawled.
    # The raw archive and the ledger go next to it, never into the repository's output/.
    state = {"GOVCRAWL_STATE_PATH": str(workdir / "crawl-state.sqlite3"),
             "GOVCRAWL_LEDGER_PATH": str(workdir / "portals.ledger.csv"),
             "GOVCRAWL_ARCHIVE_DIR": str(workdir / "archive")}
    for key, value in {**FAST_SETTINGS, **state, **(settings or {})}.items():
        cmd += ["-s", f"{key}={value}"]
    cmd += extra_args or []
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    raw = out.read_text("utf-8") if out.exists() else ""
    items = []
    for n, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:  # reported by the JSON test, not hidden here
                items.append({"__invalid_json__": f"line {n}: {exc}: {line[:200]}"})
    return CrawlResult(proc.returncode, proc.stdout, proc.stderr, raw, items, cmd, workdir)


@pytest.fixture(scope="session")
def run_crawl():
    return crawl


# The hand-made fake web that needs no browser: TRS, Hanweb and a generic ?page=N portal.
STATIC_PORTALS = ("trs", "hanweb", "generic")


def crawl_static_portals(serve, expected_sites: dict, workdir: Path, settings: dict | None = None):
    """Serve the static portals with ``serve`` and crawl them all in one run: (CrawlResult, servers by name)."""
    servers = {name: serve(name) for name in STATIC_PORTALS}
    rows = [{"name": expected_sites[name]["name"], "url": servers[name].url(expected_sites[name]["start"]),
             "render": "0"} for name in STATIC_PORTALS]
    return crawl(rows, workdir, settings=settings), servers


def diff_values(expected, actual, where: str = "") -> list[str]:
    """Differences between two JSON values (floats compared with a tolerance)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{where}/{key}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{where}/{key}: unexpected {actual[key]!r}")
            else:
                out += diff_values(expected[key], actual[key], f"{where}/{key}")
        return out
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) \
                and not isinstance(actual, bool) and math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9):
            return []
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    if expected != actual or type(expected) is not type(actual):
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []
