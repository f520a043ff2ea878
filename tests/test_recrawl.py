"""Incremental recrawls, interrupted crawls and Redis scale-out: real ``scrapy crawl portals`` runs.

Each test serves a small generated TRS portal on 127.0.0.1 (``govcrawl.demo``)
and crawls it in subprocesses sharing one crawl state:

* recrawl after changing one report and adding one → exactly those two are
  emitted (``change`` = updated / new); the server saw the unchanged report
  pages answered 304 (``GOVCRAWL_RECHECK_AFTER=0``) or not requested at all
  (default recheck age); ``-a full=1`` re-emits everything; a server without
  ETag/Last-Modified gets full requests and the content hash decides;
* a crawl stopped midway by SIGTERM (graceful) or SIGKILL (a crash) and started
  again → the two outputs together hold every report exactly once;
* two workers on one real redis-server → every report once across both
  outputs, both workers fetched reports, the frontier is cleared at the end,
  and a recrawl through Redis emits nothing.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import FAST_SETTINGS, REPO
from govcrawl.archive import iter_documents
from govcrawl.demo import render
from govcrawl.demo.server import Site
from govcrawl.demo.site import ListEntry, Report, publish, trs_portal

sys.path.insert(0, str(Path(__file__).parent))
from redis_server import RedisServer  # noqa: E402

pytestmark = pytest.mark.timeout(240)


class FakePortal:
    """A TRS portal whose reports can be changed and added between crawls."""

    def __init__(self, n_reports: int, *, per_page: int = 5, seed: int = 7):
        self.site = Site()
        self.rng = random.Random(seed)
        self.per_page = per_page
        self.reports: list[Report] = []
        for _ in range(n_reports):
            self.reports.append(self._new_report(len(self.reports)))
        for report in self.reports:
            publish(self.site, report)
        self._publish_lists()

    def _new_report(self, i: int) -> Report:
        year = 2019 + i % 6
        fmt = "2021" if year >= 2021 else "2019"
        path = f"/zfxxgk/ndbg/{year + 1}01/t{year + 1}0115_{i:05d}.html"
        return Report(path=path, title=f"测试市第{i + 1}局{year}年政府信息公开工作年度报告", year=year,
                      fmt=fmt, tables=render.random_tables(self.rng, fmt), charset="utf-8")

    def _publish_lists(self) -> None:
        entries = [ListEntry(r.title, r.path, f"{r.year + 1}-01-15") for r in reversed(self.reports)]
        pages = [entries[i:i + self.per_page] for i in range(0, len(entries), self.per_page)]
        trs_portal(self.site, site_title="测试市人民政府", pages=pages, charset="utf-8")

    def change(self, i: int) -> Report:
        old = self.reports[i]
        tables = old.tables
        while tables == old.tables:
            tables = render.random_tables(self.rng, old.fmt)
        self.reports[i] = Report(path=old.path, title=old.title, year=old.year, fmt=old.fmt,
                                 tables=tables, charset=old.charset)
        publish(self.site, self.reports[i])
        return self.reports[i]

    def add(self) -> Report:
        report = self._new_report(len(self.reports))
        self.reports.append(report)
        publish(self.site, report)
        self._publish_lists()
        return report

    @property
    def paths(self) -> set[str]:
        return {r.path for r in self.reports}


def path_of(url: str) -> str:
    return urlsplit(url).path


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    items = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        assert line.strip(), f"{path.name} line {n} is empty"
        items.append(json.loads(line))  # every line must be valid JSON
    return items


def stats_from_log(log: str) -> dict[str, int]:
    """The integer stats of Scrapy's final stats dump."""
    dump = log[log.rfind("Dumping Scrapy stats"):]
    return {k: int(v) for k, v in re.findall(r"'([^']+)': (\d+),?\n", dump)}


def crawl_cmd(url: str, out: Path, state: str | None, settings: dict | None = None,
              args: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"urls={url}", "-O", str(out)]
    archive = {"GOVCRAWL_ARCHIVE_DIR": str(out.parent / "archive")}  # never the repository's output/
    merged = {**FAST_SETTINGS, **archive, **({"GOVCRAWL_STATE_PATH": state} if state else {}),
              "GOVCRAWL_LEDGER_PATH": str(out.with_suffix(".ledger.csv")), **(settings or {})}
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd + (args or [])


def crawl_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", **extra)
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    env.pop("GOVCRAWL_REDIS_URL", None)
    env.update(extra)
    return env


def run(cmd: list[str], log: Path, env: dict | None = None, timeout: float = 120) -> tuple[int, str]:
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT,
                              env=env or crawl_env(), timeout=timeout)
    text = log.read_text("utf-8", errors="replace")
    assert "Traceback" not in text, f"traceback in {log}:\n{text[-4000:]}"
    return proc.returncode, text


# --------------------------------------------------------------- recrawl

def test_recrawl_emits_only_the_changed_and_the_new_report(serve_site, tmp_path):
    portal = FakePortal(8)
    srv = serve_site(portal.site)
    start = srv.url("/index.html")
    state = str(tmp_path / "state.sqlite3")
    always_conditional = {"GOVCRAWL_RECHECK_AFTER": "0"}

    code, log = run(crawl_cmd(start, tmp_path / "1.jsonl", state, always_conditional), tmp_path / "1.log")
    first = read_jsonl(tmp_path / "1.jsonl")
    assert code == 0, log[-3000:]
    assert {path_of(i["url"]) for i in first} == portal.paths
    assert {i["change"] for i in first} == {"new"}

    changed, added = portal.change(2), portal.add()
    srv.clear_log()
    code, log = run(crawl_cmd(start, tmp_path / "2.jsonl", state, always_conditional), tmp_path / "2.log")
    second = read_jsonl(tmp_path / "2.jsonl")
    assert code == 0, log[-3000:]
    assert {path_of(i["url"]): i["change"] for i in second} == {changed.path: "updated", added.path: "new"}
    by_path = {path_of(i["url"]): i for i in second}
    assert by_path[changed.path]["tables"] == changed.tables  # re-extracted, new numbers
    assert by_path[added.path]["tables"] == added.tables
    for report in portal.reports:
        if report.path in (changed.path, added.path):
            continue
        seen = srv.requests(path=report.path)
        assert seen, f"RECHECK_AFTER=0 must re-check {report.path} conditionally"
        assert all(r.status == 304 and r.if_none_match for r in seen), [(r.status, r.if_none_match) for r in seen]
    assert [r.status for r in srv.requests(path=changed.path)] == [200]
    stats = stats_from_log(log)
    assert stats["govcrawl/state/not_modified"] == len(portal.reports) - 2

    # Default recheck age (7 days): the unchanged report pages are not requested at all.
    srv.clear_log()
    code, log = run(crawl_cmd(start, tmp_path / "3.jsonl", state), tmp_path / "3.log")
    assert code == 0 and read_jsonl(tmp_path / "3.jsonl") == []
    assert not [r for r in srv.log if r.path in portal.paths], "fresh reports must not be requested"
    lists = [r for r in srv.log if r.path.startswith("/zfxxgk/ndbg/") and r.path not in portal.paths]
    assert lists and all(r.status == 200 for r in lists), "list pages are re-read on every crawl"
    assert stats_from_log(log)["govcrawl/state/skipped_fresh"] == len(portal.reports)

    # -a full=1: everything again, state still updated.
    code, log = run(crawl_cmd(start, tmp_path / "4.jsonl", state, args=["-a", "full=1"]), tmp_path / "4.log")
    full = read_jsonl(tmp_path / "4.jsonl")
    assert code == 0
    assert {path_of(i["url"]) for i in full} == portal.paths
    assert {i["change"] for i in full} == {"unchanged"}


def test_recrawl_of_a_server_without_validators_compares_content(serve_site, tmp_path):
    portal = FakePortal(4)
    srv = serve_site(portal.site, conditional=False)  # no ETag, no Last-Modified, never 304
    start = srv.url("/index.html")
    state = str(tmp_path / "state.sqlite3")
    recheck = {"GOVCRAWL_RECHECK_AFTER": "0"}
    code, log = run(crawl_cmd(start, tmp_path / "1.jsonl", state, recheck), tmp_path / "1.log")
    assert code == 0 and len(read_jsonl(tmp_path / "1.jsonl")) == 4
    changed = portal.change(0)
    srv.clear_log()
    code, log = run(crawl_cmd(start, tmp_path / "2.jsonl", state, recheck), tmp_path / "2.log")
    assert code == 0
    assert [(path_of(i["url"]), i["change"]) for i in read_jsonl(tmp_path / "2.jsonl")] == [(changed.path, "updated")]
    assert all(r.status == 200 and not r.if_none_match for r in srv.log if r.path in portal.paths)
    assert stats_from_log(log)["govcrawl/state/unchanged"] == 3


# --------------------------------------------------------------- interrupted crawls

@pytest.mark.parametrize("sig,jobdir", [(signal.SIGTERM, False), (signal.SIGKILL, False), (signal.SIGTERM, True)],
                         ids=["sigterm", "sigkill", "sigterm-jobdir"])
def test_interrupted_crawl_resumes_without_loss_or_duplicates(serve_site, tmp_path, sig, jobdir):
    portal = FakePortal(40, per_page=10)
    srv = serve_site(portal.site)
    start = srv.url("/index.html")
    state = str(tmp_path / "state.sqlite3")
    job = {"JOBDIR": str(tmp_path / "job")} if jobdir else {}
    slow = {"CONCURRENT_REQUESTS": "1", "CONCURRENT_REQUESTS_PER_DOMAIN": "1", "DOWNLOAD_DELAY": "0.15", **job}
    out1 = tmp_path / "1.jsonl"
    with open(tmp_path / "1.log", "w") as log1:
        proc = subprocess.Popen(crawl_cmd(start, out1, state, slow), cwd=REPO, stdout=log1,
                                stderr=subprocess.STDOUT, env=crawl_env())
        try:
            deadline = time.time() + 90
            while time.time() < deadline and proc.poll() is None:
                if out1.exists() and out1.read_bytes().count(b"\n") >= 5:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the crawl ended before it could be interrupted"
            proc.send_signal(sig)
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    first = read_jsonl(out1)
    assert 5 <= len(first) < len(portal.reports), f"{len(first)} items: not interrupted midway"

    srv.clear_log()
    code, log = run(crawl_cmd(start, tmp_path / "2.jsonl", state, job), tmp_path / "2.log")
    second = read_jsonl(tmp_path / "2.jsonl")
    assert code == 0, log[-3000:]
    if jobdir:
        # Scrapy resumed its pickled queue: the entry page was not fetched again
        # (its fingerprint is in the JOBDIR seen-set).
        assert "Resuming crawl" in log and not srv.requests(path="/index.html")
    urls = [path_of(i["url"]) for i in first + second]
    assert sorted(urls) == sorted(set(urls)), "a report was emitted twice"
    assert set(urls) == portal.paths, f"missing: {portal.paths - set(urls)}"
    assert {i["change"] for i in second} == {"new"}
    # The raw archive survived the interruption: every emitted item's record reads back, whole.
    archived = {(d.warc, d.record_id): d.content_sha256
                for path in sorted((tmp_path / "archive").glob("*.warc.gz")) for d in iter_documents(path)}
    for item in first + second:
        pointer = item["provenance"]["archive"]
        assert archived[(pointer["warc"], pointer["record_id"])] == item["provenance"]["content_sha256"]


# --------------------------------------------------------------- Redis scale-out

@pytest.fixture
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


def test_two_workers_share_one_frontier_on_redis(serve_site, tmp_path, redis_server):
    from govcrawl.state import RedisCrawlState

    portal = FakePortal(30, per_page=5)
    srv = serve_site(portal.site)
    start = srv.url("/index.html")
    env = crawl_env(GOVCRAWL_REDIS_URL=redis_server.url)
    # One slot per worker: a worker cannot pull the whole frontier into its own downloader.
    shared = {"CONCURRENT_REQUESTS": "1", "CONCURRENT_REQUESTS_PER_DOMAIN": "1", "DOWNLOAD_DELAY": "0.15",
              "GOVCRAWL_REDIS_IDLE_SECONDS": "2"}
    procs, logs = [], []
    for n in (1, 2):
        logs.append(open(tmp_path / f"w{n}.log", "w"))
        cmd = crawl_cmd(start, tmp_path / f"w{n}.jsonl", None, {**shared, "USER_AGENT": f"govcrawl-test-worker-{n}"})
        procs.append(subprocess.Popen(cmd, cwd=REPO, stdout=logs[-1], stderr=subprocess.STDOUT, env=env))
    try:
        for proc in procs:
            proc.wait(150)
    finally:
        for proc, log in zip(procs, logs):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    texts = [(tmp_path / f"w{n}.log").read_text("utf-8", errors="replace") for n in (1, 2)]
    for proc, text in zip(procs, texts):
        assert proc.returncode == 0 and "Traceback" not in text, text[-4000:]

    outputs = [read_jsonl(tmp_path / f"w{n}.jsonl") for n in (1, 2)]
    urls = [path_of(i["url"]) for items in outputs for i in items]
    assert sorted(urls) == sorted(set(urls)), "a report was emitted by both workers"
    assert set(urls) == portal.paths
    for n in (1, 2):
        fetched = {r.path for r in srv.log if r.headers.get("User-Agent") == f"govcrawl-test-worker-{n}"}
        assert fetched & portal.paths, f"worker {n} fetched no report page: it did not share the work"
    # Every entry/list/report page was fetched once in all (the entry page too, despite two start()s).
    pages = [r.path for r in srv.log if r.path != "/robots.txt"]
    assert sorted(pages) == sorted(set(pages)), "a page was fetched by both workers"

    # The last worker out clears the frontier; the crawl state stays, shared.
    assert not redis_server.client.keys("govcrawl:portals:*")
    assert RedisCrawlState(redis_server.url).count_reports() == len(portal.reports)

    srv.clear_log()
    code, log = run(crawl_cmd(start, tmp_path / "again.jsonl", None, {"GOVCRAWL_REDIS_IDLE_SECONDS": "1"}),
                    tmp_path / "again.log", env=env)
    assert code == 0
    assert read_jsonl(tmp_path / "again.jsonl") == []
    assert srv.requests(path="/index.html"), "a new run must start with an empty seen-set"
    assert not [r for r in srv.log if r.path in portal.paths]
