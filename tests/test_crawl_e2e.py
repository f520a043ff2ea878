"""End-to-end: the real ``scrapy crawl portals`` against the fake web of tests/sites.

One crawl of the TRS + Hanweb + generic portals (module fixture) is checked from many
sides: the exact set of report URLs, tables cell for cell, attachments as
``provenance.source_url``, no look-alikes / 404s / off-site pages, the
twice-linked report once, pagination and dataproxy requests in the server log,
and a readable UTF-8 JSONL.  A second crawl needs Chromium (a list that only
JavaScript fills); a third checks unreachable portals end cleanly.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import urllib.request
from collections import Counter
from urllib.parse import urlsplit

import pytest

from conftest import STATIC_PORTALS, crawl_static_portals, diff_values

pytestmark = pytest.mark.timeout(300)

@pytest.fixture(scope="module")
def static_crawl(module_serve_site, expected_sites, tmp_path_factory):
    return crawl_static_portals(module_serve_site, expected_sites, tmp_path_factory.mktemp("static_crawl"))


def expected_urls(expected_sites, servers, key="reports") -> dict[str, tuple[str, object]]:
    """Full URL → (portal, expected entry) for every path under ``key``."""
    out = {}
    for name, srv in servers.items():
        entries = expected_sites[name][key]
        for path in entries:
            out[srv.url(path)] = (name, entries[path] if isinstance(entries, dict) else None)
    return out


def test_crawl_exits_cleanly(static_crawl):
    result, _ = static_crawl
    assert result.returncode == 0, result.describe()
    assert "Traceback" not in result.stderr, result.describe()


def test_the_crawl_opens_no_control_server(static_crawl):
    """Neither Scrapy's telnet console nor its remote-control server (which runs posted code) listens."""
    result, _ = static_crawl
    log = result.stderr + result.stdout
    enabled = log.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "scrapy.extensions.corestats.CoreStats" in enabled  # the list was found
    assert "TelnetConsole" not in enabled and "RemoteControl" not in enabled
    assert "Telnet console listening" not in log


def test_every_line_is_json_and_chinese_is_readable(static_crawl):
    result, _ = static_crawl
    assert result.raw.strip(), "no output at all\n" + result.describe()
    for n, line in enumerate(result.raw.splitlines(), 1):
        json.loads(line)  # raises with the line number in the traceback
        assert "\\u" not in line, f"line {n} has \\u escapes (set FEED_EXPORT_ENCODING=utf-8): {line[:200]}"
    assert re.search(r"[\u4e00-\u9fff]", result.raw), "no Chinese characters in the output"
    assert "年度报告" in result.raw


def test_exact_set_of_report_urls(static_crawl, expected_sites):
    result, servers = static_crawl
    want = set(expected_urls(expected_sites, servers))
    got = {item.get("url") for item in result.items}
    assert got == want, (f"missing: {sorted(want - got)}\nunexpected: {sorted(got - want)}\n"
                         + result.describe())


def test_twice_linked_report_appears_once(static_crawl):
    result, servers = static_crawl
    counts = Counter(item.get("url") for item in result.items)
    twice_linked = servers["trs"].url("/zfxxgk/ndbg/202401/t20240115_1001.html")
    assert counts[twice_linked] == 1
    assert [u for u, n in counts.items() if n > 1] == []


def test_tables_equal_expected_cell_for_cell(static_crawl, expected_sites):
    result, servers = static_crawl
    by_url = {item.get("url"): item for item in result.items}
    problems = []
    for url, (_, exp) in expected_urls(expected_sites, servers).items():
        item = by_url.get(url)
        if item is None:
            problems.append(f"{url}: no item")
            continue
        problems += [f"{url} tables{d}" for d in diff_values(exp["tables"], item.get("tables"))]
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:80])


def test_format_and_year(static_crawl, expected_sites):
    result, servers = static_crawl
    by_url = {item.get("url"): item for item in result.items}
    problems = []
    for url, (_, exp) in expected_urls(expected_sites, servers).items():
        item = by_url.get(url, {})
        if (item.get("format"), item.get("year")) != (exp["format"], exp["year"]):
            problems.append(f"{url}: format/year {item.get('format')}/{item.get('year')}, "
                            f"expected {exp['format']}/{exp['year']}")
    assert not problems, "\n".join(problems)


def test_portal_name_on_every_item(static_crawl, expected_sites):
    result, servers = static_crawl
    for url, (name, _) in expected_urls(expected_sites, servers).items():
        items = [i for i in result.items if i.get("url") == url]
        assert items and items[0].get("portal") == expected_sites[name]["name"], url


def test_source_url_is_the_attachment_for_attachment_reports(static_crawl, expected_sites):
    result, servers = static_crawl
    by_url = {item.get("url"): item for item in result.items}
    attachments = 0
    for url, (name, exp) in expected_urls(expected_sites, servers).items():
        want = servers[name].url(exp["source"])
        attachments += want != url
        got = (by_url.get(url) or {}).get("provenance", {}).get("source_url")
        assert got == want, f"{url}: provenance.source_url {got!r}, expected {want!r}"
    assert attachments == 2  # the DOCX and the PDF report


def test_no_lookalike_404_or_offsite_in_output(static_crawl, expected_sites):
    result, servers = static_crawl
    bad = set(expected_urls(expected_sites, servers, "absent")) | set(
        expected_urls(expected_sites, servers, "offsite"))
    for srv in servers.values():  # the off-site copy lives under localhost:PORT
        bad |= {f"http://localhost:{srv.port}{p}" for p in ("/offsite/202401/t20240120_9001.html",)}
    found = set()
    for item in result.items:
        found |= {item.get("url"), (item.get("provenance") or {}).get("source_url")} & bad
    assert not found, f"should not be reports: {sorted(found)}"
    assert not any("localhost" in (item.get("url") or "") for item in result.items)


def test_offsite_link_is_not_followed(static_crawl, expected_sites):
    result, servers = static_crawl
    srv = servers["trs"]
    for path in expected_sites["trs"]["offsite"]:
        hits = srv.requests(path=path)
        assert not hits, f"crawler followed the off-site link {path} (Host: {hits[0].host})"


def test_redirected_report_has_final_url(static_crawl):
    result, servers = static_crawl
    srv = servers["trs"]
    urls = {item.get("url") for item in result.items}
    assert srv.url("/zfxxgk/ndbg/202001/t20200115_1006.html") in urls
    assert srv.url("/zfxxgk/ndbg/202001/t20200110_0999.html") not in urls
    assert [r.status for r in srv.requests(path="/zfxxgk/ndbg/202001/t20200110_0999.html")] == [301]


def requested(srv, target: str) -> list:
    """Log records for ``target``: with a query, that exact URL; without, that path with any query.
    A directory URL counts for its index.html."""
    alias = target[: -len("index.html")] if target.endswith("/index.html") else None
    key = (lambda r: r.target) if "?" in target else (lambda r: r.path)
    return [r for r in srv.log if key(r) in (target, alias)]


@pytest.mark.parametrize("portal", STATIC_PORTALS)
def test_every_list_page_was_requested(portal, static_crawl, expected_sites):
    _, servers = static_crawl
    srv = servers[portal]
    for target in expected_sites[portal]["must_request"]:
        assert any(r.status == 200 for r in requested(srv, target)), f"{portal}: {target} not requested"


def test_trs_pagination_pages_were_requested(static_crawl):
    _, servers = static_crawl
    srv = servers["trs"]
    # Page 0 is linked as the column directory (ndbg/), which serves index.html.
    first = srv.requests(path="/zfxxgk/ndbg/") + srv.requests(path="/zfxxgk/ndbg/index.html")
    assert [r.status for r in first][:1] == [200], "the column's first page was not requested"
    for path in ("/zfxxgk/ndbg/index_1.html", "/zfxxgk/ndbg/index_2.html"):
        assert [r.status for r in srv.requests(path=path)][:1] == [200], f"{path} not requested"


def test_hanweb_dataproxy_pages_were_requested(static_crawl, expected_sites):
    result, servers = static_crawl
    srv = servers["hanweb"]
    calls = srv.requests(path="/module/web/jpage/dataproxy.jsp")
    assert calls, "dataproxy.jsp never requested"
    assert all(c.status == 200 for c in calls)
    urls = {item.get("url") for item in result.items}
    for path in expected_sites["hanweb"]["behind_dataproxy"]:
        assert srv.url(path) in urls, f"{path} is only listed by dataproxy.jsp and was not found"


@pytest.mark.parametrize("render", ["1", "0"], ids=["render=1", "automatic-browser-retry"])
def test_js_only_list_is_crawled_with_chromium(render, serve_site, expected_sites, run_crawl, tmp_path):
    """render=1 in the portal row, or (render=0) the spider's own retry through the browser."""
    assert shutil.which("chromium"), (
        "Chromium is required for JavaScript-only lists: install it (Debian: apt-get install chromium) "
        "— the project setup does this")
    exp = expected_sites["jslist"]
    srv = serve_site("jslist")
    result = run_crawl([{"name": exp["name"], "url": srv.url(exp["start"]), "render": render}], tmp_path,
                       timeout=180)
    assert result.returncode == 0, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert srv.requests(path="/api/ndbg.json"), "the browser never ran the list's script\n" + result.describe()
    by_url = {item.get("url"): item for item in result.items}
    want = {srv.url(p) for p in exp["reports"]}
    assert set(by_url) == want, f"got {sorted(by_url)}, expected {sorted(want)}\n" + result.describe()
    for path, entry in exp["reports"].items():
        assert not diff_values(entry["tables"], by_url[srv.url(path)].get("tables")), path


def test_unreachable_portals_end_cleanly_with_error_summary(run_crawl, tmp_path):
    rows = [{"name": "关闭的端口", "url": "http://127.0.0.1:9/"},
            {"name": "不存在的域名", "url": "http://nonexistent.invalid/"}]
    result = run_crawl(rows, tmp_path, settings={"RETRY_TIMES": "0", "DOWNLOAD_TIMEOUT": "5"}, timeout=90)
    assert result.returncode == 0, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert result.items == []
    log = result.stderr + result.stdout
    # Per portal: a line naming it with the cause, or a summary with a non-zero error count.
    for name, cause in (("关闭的端口", r"refused"), ("不存在的域名", r"DNS|resolv|not known|lookup")):
        lines = [line for line in log.splitlines() if name in line
                 and (re.search(cause, line, re.I) or re.search(r"\b[1-9]\d* *(errors?|错误)", line, re.I))]
        assert lines, f"no per-portal error summary line for {name}\n" + result.describe()


def test_provenance_keeps_http_validators_and_body_hash(static_crawl, expected_sites):
    result, servers = static_crawl
    by_url = {item.get("url"): item for item in result.items}
    checked = 0
    for url, (_, exp) in expected_urls(expected_sites, servers).items():
        parts = urlsplit(url)
        if exp["source"] != parts.path + ("?" + parts.query if parts.query else ""):
            continue  # attachment reports: which body is hashed is the pipeline's choice
        with urllib.request.urlopen(url, timeout=10) as resp:
            body, etag, last_modified = resp.read(), resp.headers["ETag"], resp.headers["Last-Modified"]
        prov = by_url[url]["provenance"]
        assert prov.get("etag") == etag, url
        assert prov.get("http_last_modified") == last_modified, url
        assert prov.get("content_sha256") == hashlib.sha256(body).hexdigest(), url
        checked += 1
    assert checked >= 10

