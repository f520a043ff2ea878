"""The crawl under faults, on a local fault world: it never leaves the portal, never loops, never loses
or repeats a report, and stops fast.

One portal on 127.0.0.1 holds every fault below; the crawl runs with a
``sitecustomize`` (tests/data/netguard) that refuses and logs any connection
or name lookup beyond this machine, and ``localhost`` stands for "another
host" (same server, other name: a request that went there shows in the
server log with ``Host: localhost``).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import FAST_SETTINGS, REPO
from govcrawl.demo import render
from govcrawl.demo.server import DemoServer, Resource, Site

pytestmark = pytest.mark.timeout(300)
NETGUARD = Path(__file__).parent / "data" / "netguard"
HTML = {"Content-Type": "text/html; charset=utf-8"}
CHALLENGE_412 = (b"<html><head><script>var _$ts=1;document.cookie='wzws_cid=ok; path=/';"
                 b"location.reload();</script></head><body></body></html>")


def page(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1>{body}</body></html>").encode()


def links(pairs) -> str:
    return "<ul>" + "".join(f"<li><a href='{href}'>{text}</a></li>" for href, text in pairs) + "</ul>"


def report(title: str, seed: int) -> bytes:
    import random

    return render.render_report_html(render.random_tables(random.Random(seed), "2021"), fmt="2021",
                                     title=title).encode()


class FaultWorld:
    """Builds the fault portal; ``expected`` are the report paths a correct crawl emits."""

    def __init__(self):
        self.site = Site()
        self.hung = threading.Event()
        self.seen_b = 0
        site = self.site
        site.add("/index.html", page("故障市人民政府", links([("/xxgk/index.html", "政府信息公开")])), HTML)
        site.add("/xxgk/index.html", page("政府信息公开", links([
            ("/xxgk/ndbg/index.html", "政府信息公开年报"),
            ("/xxgk/old/index.html", "信息公开年报（旧版）"),       # 302 to another host
            ("/xxgk/refresh.html", "政府信息公开年报（新版）"),       # meta refresh to another host
            ("/xxgk/endless/list.jsp?page=1", "政府信息公开年度报告"),  # ?page=N for ever
            ("/xxgk/cal/nb?date=2024-01-01", "年报日历"),            # a calendar trap
            ("/xxgk/archive/index.html", "政府信息公开年报归档"),      # never answers
        ])), HTML)
        site.redirect("/xxgk/old/index.html", "http://localhost:@@PORT@@/xxgk/ndbg/index.html", 302)
        site.add("/xxgk/refresh.html", b"<html><head><meta http-equiv='refresh' "
                 b"content='0;url=http://localhost:@@PORT@@/elsewhere.html'></head></html>", HTML)
        site.add("/xxgk/ndbg/index.html", page("政府信息公开年报", links([
            ("a.html", "故障市2023年政府信息公开工作年度报告"),
            ("moved.html", "故障市2022年政府信息公开工作年度报告"),     # 302 off the portal
            ("b.html", "故障市教育局2023年政府信息公开工作年度报告"),   # a 412 stub, clears on the next try
        ])), HTML)
        site.add("/xxgk/ndbg/a.html", report("故障市2023年政府信息公开工作年度报告", 1), HTML)
        site.redirect("/xxgk/ndbg/moved.html", "http://localhost:@@PORT@@/xxgk/ndbg/a2.html", 302)
        site.add_handler("/xxgk/ndbg/b.html", self.clears_on_retry)
        site.add_handler("/xxgk/endless/list.jsp", self.endless)
        site.add_handler("/xxgk/cal/nb", self.calendar)
        site.add_handler("/xxgk/archive/index.html", self.never_answers)
        self.expected = {"/xxgk/ndbg/a.html", "/xxgk/ndbg/b.html"}

    def clears_on_retry(self, request) -> Resource:
        self.seen_b += 1
        if self.seen_b == 1:
            return Resource(CHALLENGE_412, {**HTML, "Set-Cookie": "wzws_cid=abc; Domain=127.0.0.1; Path=/"}, 412)
        return Resource(report("故障市教育局2023年政府信息公开工作年度报告", 2), HTML)

    @staticmethod
    def endless(request) -> Resource:
        n = int(request.query.get("page", "1"))
        pager = " ".join(f"<a href='list.jsp?page={k}'>{k}</a>" for k in range(n + 1, n + 11))
        return Resource(page("政府信息公开年度报告", f"<p>第{n}页</p>{pager} <a href='list.jsp?page={n + 1}'>下一页</a>"),
                        HTML)

    @staticmethod
    def calendar(request) -> Resource:
        from datetime import date, timedelta

        day = date.fromisoformat(request.query.get("date", "2024-01-01"))
        days = [day + timedelta(days=k) for k in range(-15, 16) if k]
        return Resource(page(f"年报日历 {day}", links([(f"nb?date={d}", f"政府信息公开年报 {d}") for d in days])), HTML)

    def never_answers(self, request) -> Resource:
        self.hung.wait(120)
        return Resource(page("归档", ""), HTML)


def run_crawl(srv: DemoServer, workdir: Path, *, settings: dict | None = None, stop_after: float | None = None,
              scheme: str = "http"):
    out, state, ledger, netlog = (workdir / "out.jsonl", workdir / "state.sqlite3", workdir / "ledger.csv",
                                  workdir / "net.log")
    start = srv.url("/index.html").replace("http://", f"{scheme}://", 1)
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"urls={start}", "-O", str(out)]
    merged = {**FAST_SETTINGS, "GOVCRAWL_STATE_PATH": str(state), "GOVCRAWL_LEDGER_PATH": str(ledger),
              "GOVCRAWL_PAGE_TIMEOUT": "4", "GOVCRAWL_RETRY_BACKOFF_BASE": "0.2", **(settings or {})}
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    env = dict(os.environ, PYTHONUNBUFFERED="1", GOVCRAWL_TEST_NET_LOG=str(netlog),
               PYTHONPATH=os.pathsep.join([str(NETGUARD), os.environ.get("PYTHONPATH", "")]))
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stopped_at = None
    if stop_after is not None:
        time.sleep(stop_after)
        proc.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
    _, stderr = proc.communicate(timeout=240)
    ended = time.monotonic()
    import json

    items = [json.loads(line) for line in out.read_text("utf-8").splitlines()] if out.exists() else []
    ledger_rows = list(csv.DictReader(ledger.open(encoding="utf-8"))) if ledger.exists() else []
    return {"code": proc.returncode, "stderr": stderr, "items": items, "seconds": ended - started,
            "stop_seconds": (ended - stopped_at) if stopped_at else None, "ledger": ledger_rows,
            "net": netlog.read_text("utf-8") if netlog.exists() else "", "raw": out.read_text("utf-8")
            if out.exists() else ""}


@pytest.fixture(scope="module")
def fault_crawl(tmp_path_factory):
    world = FaultWorld()
    srv = DemoServer(world.site).start()
    try:
        result = run_crawl(srv, tmp_path_factory.mktemp("faults"))
    finally:
        world.hung.set()
        srv.stop()
    return world, srv, result


def test_fault_crawl_ends_cleanly_with_every_report(fault_crawl):
    world, srv, result = fault_crawl
    assert result["code"] == 0, result["stderr"][-4000:]
    assert "Traceback" not in result["stderr"], result["stderr"][-4000:]
    got = {item["url"].removeprefix(srv.base_url) for item in result["items"]}
    assert got == world.expected, result["stderr"][-4000:]


def test_nothing_requested_off_the_portal(fault_crawl):
    _, srv, result = fault_crawl
    foreign = [r.target for r in srv.log if r.host.startswith("localhost")]
    assert foreign == [], f"requests to another host: {foreign}"
    assert "not leaving the portal for localhost" in result["stderr"]  # logged once per host
    # both 302s (a list link, a report link) and the meta refresh were refused, counted by how
    assert "'govcrawl/offsite/redirect': 2" in result["stderr"]
    assert "'govcrawl/offsite/refresh': 1" in result["stderr"]
    assert result["net"] == "", f"connections beyond this machine: {result['net']}"


def test_endless_list_and_calendar_are_bounded_and_logged(fault_crawl):
    _, srv, result = fault_crawl
    endless = [r for r in srv.log if r.path == "/xxgk/endless/list.jsp"]
    calendar = [r for r in srv.log if r.path == "/xxgk/cal/nb"]
    # bounded far below GOVCRAWL_MAX_LIST_PAGES (200): pages already in flight when the list stops still arrive
    assert 1 < len(endless) <= 50, len(endless)
    assert 1 < len(calendar) <= 40, len(calendar)
    assert "stopped paging the list" in result["stderr"] and "without a new report" in result["stderr"]
    assert "not following more links shaped like" in result["stderr"]


def test_challenge_that_clears_on_retry_gives_the_report(fault_crawl):
    world, srv, result = fault_crawl
    assert world.seen_b >= 2
    assert any(item["url"].endswith("/xxgk/ndbg/b.html") and item["tables"] for item in result["items"])


def test_hung_page_costs_its_page_timeout_only(fault_crawl):
    _, srv, result = fault_crawl
    hung = [r for r in srv.log if r.path == "/xxgk/archive/index.html"]
    assert 1 <= len(hung) <= 2  # GOVCRAWL_PAGE_RETRY_TIMES=1
    # 2 tries × GOVCRAWL_PAGE_TIMEOUT=4 s, not the 20 s DOWNLOAD_TIMEOUT of report downloads
    assert result["seconds"] < 60, result["seconds"]


def test_ledger_names_each_portal_status(fault_crawl):
    _, srv, result = fault_crawl
    assert [(row["portal"], row["status"], row["reports"]) for row in result["ledger"]] == [
        (f"127.0.0.1:{srv.port}", "ok", "2")]


def test_sigterm_with_a_hung_download_stops_within_seconds(tmp_path):
    world = FaultWorld()
    srv = DemoServer(world.site).start()
    try:
        # a long page timeout: only the stop's grace period can end the hung download early
        result = run_crawl(srv, tmp_path, settings={"GOVCRAWL_PAGE_TIMEOUT": "60"}, stop_after=6)
    finally:
        world.hung.set()
        srv.stop()
    assert result["stop_seconds"] < 12, result["stderr"][-3000:]
    assert "Traceback" not in result["stderr"]
    for line in result["raw"].splitlines():
        assert line.startswith("{") and line.endswith("}")


def test_same_report_under_two_urls_across_two_crawls_is_emitted_once(tmp_path):
    site = Site()
    body = report("某县2023年政府信息公开工作年度报告", 7)
    site.add("/index.html", page("某县", links([("/nb/index.html", "政府信息公开年报")])), HTML)
    site.add("/nb/index.html", page("政府信息公开年报", links([("x.html", "某县2023年政府信息公开工作年度报告")])), HTML)
    site.add("/nb/x.html", body, HTML)
    srv = DemoServer(site).start()
    try:
        first = run_crawl(srv, tmp_path)
        site.remove("/nb/x.html")
        site.add("/nb/y.html", body, HTML)  # the CMS moved it
        site.add("/nb/index.html", page("政府信息公开年报", links([("y.html", "某县2023年政府信息公开工作年度报告")])), HTML)
        second = run_crawl(srv, tmp_path)
        # two more crawls that ask about every known report again: the old address answers 404, but the
        # report lives on at the new one, so it is not "removed"
        later = [run_crawl(srv, tmp_path, settings={"GOVCRAWL_RECHECK_AFTER": "0"}) for _ in range(2)]
    finally:
        srv.stop()
    assert [item["url"].removeprefix(srv.base_url) for item in first["items"]] == ["/nb/x.html"]
    assert second["items"] == [], second["stderr"][-3000:]
    assert [r.path for r in srv.log if r.path == "/nb/y.html"][:1] == ["/nb/y.html"]
    assert [item for run in later for item in run["items"]] == [], later[-1]["stderr"][-3000:]
    assert [r.status for r in srv.log if r.path == "/nb/x.html"][1:] == [404, 404]  # asked about, found gone


def test_challenge_only_a_browser_passes(tmp_path):
    """A 瑞数-style stub: a script sets a cookie and reloads; without running it, every answer is the stub."""
    site = Site()
    stub = (b"<html><head><script>document.cookie='wzws_cid=passed; path=/';"
            b"setTimeout(function(){location.reload();}, 300);</script></head>"
            b"<body><img src='http://localhost:@@PORT@@/track.gif'></body></html>")
    title = "某区2023年政府信息公开工作年度报告"
    real = report(title, 11)

    def guarded(request) -> Resource:
        if "wzws_cid=passed" in request.headers.get("Cookie", ""):
            return Resource(real, HTML)
        return Resource(stub, HTML, 412)

    site.add("/index.html", page("某区", links([("/nb/index.html", "政府信息公开年报")])), HTML)
    site.add("/nb/index.html", page("政府信息公开年报", links([("r.html", title)])), HTML)
    site.add_handler("/nb/r.html", guarded)
    srv = DemoServer(site).start()
    try:
        result = run_crawl(srv, tmp_path, settings={"GOVCRAWL_CHALLENGE_TIMEOUT": "20"})
    finally:
        srv.stop()
    assert result["code"] == 0 and "Traceback" not in result["stderr"], result["stderr"][-4000:]
    assert [item["url"].removeprefix(srv.base_url) for item in result["items"]] == ["/nb/r.html"], \
        result["stderr"][-4000:]
    assert result["items"][0]["tables"]
    assert "passed the challenge" in result["stderr"]
    # the report's bytes came from a plain request carrying the cookie the browser earned
    plain = [r for r in srv.log if r.path == "/nb/r.html" and "wzws_cid=passed" in r.headers.get("Cookie", "")]
    assert plain and "HeadlessChrome" not in plain[-1].headers.get("User-Agent", "")
    assert [r.target for r in srv.log if r.host.startswith("localhost")] == []  # the stub's tracker: aborted


def test_legacy_tls_server_is_read_after_one_permissive_retry(tmp_path):
    """A portal that speaks only TLS 1.0 with old ciphers, as many county servers still do."""
    import ssl
    import warnings

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    context.set_ciphers("AES128-SHA:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
    site = Site()
    title = "旧县2023年政府信息公开工作年度报告"
    site.add("/index.html", page("旧县人民政府", links([("/nb/index.html", "政府信息公开年报")])), HTML)
    site.add("/nb/index.html", page("政府信息公开年报", links([("r.html", title)])), HTML)
    site.add("/nb/r.html", report(title, 5), HTML)
    srv = DemoServer(site)
    srv._httpd.socket = context.wrap_socket(srv._httpd.socket, server_side=True)
    srv.start()
    try:
        result = run_crawl(srv, tmp_path, settings={"ROBOTSTXT_OBEY": "False"}, scheme="https")
    finally:
        srv.stop()
    assert result["code"] == 0, result["stderr"][-3000:]
    assert [item["url"].rsplit("/", 1)[1] for item in result["items"]] == ["r.html"], result["stderr"][-3000:]
    assert "'govcrawl/tls/legacy_retries': 1" in result["stderr"]
    # the handler builds the permissive contexts itself: no deprecated Scrapy setting, no warning at start
    assert "DOWNLOADER_CLIENTCONTEXTFACTORY" not in result["stderr"]


def test_a_context_factory_the_user_sets_is_used():
    """DOWNLOADER_CLIENTCONTEXTFACTORY (deprecated in Scrapy 2.19, still honoured) replaces govcrawl's."""
    # In a child: building the handler imports Twisted's reactor, which this test process must not install.
    code = """
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy.utils.test import get_crawler
from govcrawl.handlers import LazyPlaywrightDownloadHandler
from govcrawl.tls import LegacyTolerantContextFactory
settings = {"TWISTED_REACTOR_ENABLED": True}
own = LazyPlaywrightDownloadHandler(get_crawler(settings_dict=settings))
theirs = LazyPlaywrightDownloadHandler(get_crawler(settings_dict=dict(settings, DOWNLOADER_CLIENTCONTEXTFACTORY=
    "scrapy.core.downloader.contextfactory._ScrapyClientContextFactory")))
print(type(own._contextFactory).__name__, type(theirs._contextFactory).__name__)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["LegacyTolerantContextFactory", "_ScrapyClientContextFactory"], out.stderr[-2000:]
