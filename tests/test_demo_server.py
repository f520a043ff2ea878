"""The demo server (govcrawl/demo/server.py): what crawl tests rely on, checked with urllib."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest

from govcrawl.demo.server import DemoServer, Site


def fetch(url: str, *, data: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) without following redirects or raising on 3xx/4xx."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture
def server():
    site = Site()
    site.add("/index.html", "<html><a href='/a.html'>a</a></html>".encode(),
             {"Content-Type": "text/html; charset=utf-8"})
    site.add("/a.html", "年度报告".encode("gbk"), {"Content-Type": "text/html; charset=gb2312"})
    site.add("/list?page=2", b"page two")
    site.redirect("/old.html", "/a.html", 301)
    site.add("/boom.html", b"error", status=500)
    site.add("/port.html", b"<a href='http://localhost:@@PORT@@/x.html'>x</a>")
    site.add_jpage(1234, [f"<li>{i}</li>" for i in range(1, 12)])
    with DemoServer(site) as srv:
        yield srv


def test_static_pages_keep_their_bytes_and_headers(server):
    status, headers, body = fetch(server.url("/a.html"))
    assert status == 200
    assert body == "年度报告".encode("gbk")
    assert headers["Content-Type"] == "text/html; charset=gb2312"
    assert headers["ETag"] and headers["Last-Modified"]
    assert fetch(server.url("/"))[2].startswith(b"<html>")  # / serves index.html


def test_conditional_requests_get_304(server):
    _, headers, _ = fetch(server.url("/a.html"))
    assert fetch(server.url("/a.html"), headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert fetch(server.url("/a.html"), headers={"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert fetch(server.url("/a.html"), headers={"If-None-Match": '"other"'})[0] == 200
    rec = server.requests(path="/a.html")
    assert [r.status for r in rec] == [200, 304, 304, 200]
    assert rec[1].if_none_match == headers["ETag"]
    assert rec[2].if_modified_since == headers["Last-Modified"]


def test_conditional_off(server):
    site = server.site
    with DemoServer(site, conditional=False) as plain:
        status, headers, _ = fetch(plain.url("/a.html"), headers={"If-None-Match": "*"})
        assert status == 200 and "ETag" not in headers


def test_changed_page_gets_new_validators(server):
    _, old, _ = fetch(server.url("/a.html"))
    server.set("/a.html", "新版本".encode("gbk"), {"Content-Type": "text/html; charset=gb2312"})
    status, new, body = fetch(server.url("/a.html"), headers={"If-None-Match": old["ETag"]})
    assert status == 200 and body == "新版本".encode("gbk")
    assert new["ETag"] != old["ETag"]
    assert new["Last-Modified"] != old["Last-Modified"]
    assert fetch(server.url("/a.html"), headers={"If-Modified-Since": old["Last-Modified"]})[0] == 200
    server.remove("/a.html")
    assert fetch(server.url("/a.html"))[0] == 404


def test_redirect_404_custom_status_and_query_pages(server):
    status, headers, _ = fetch(server.url("/old.html"))
    assert status == 301 and headers["Location"] == "/a.html"
    assert fetch(server.url("/missing.html"))[0] == 404
    assert fetch(server.url("/boom.html"))[0] == 500
    assert fetch(server.url("/list?page=2"))[2] == b"page two"


def test_robots_allows_all(server):
    status, _, body = fetch(server.url("/robots.txt"))
    assert status == 200 and b"Disallow:\n" in body and b"Disallow: /" not in body


def test_port_placeholder_is_replaced(server):
    assert fetch(server.url("/port.html"))[2] == f"<a href='http://localhost:{server.port}/x.html'>x</a>".encode()


def test_hanweb_dataproxy_pages(server):
    url = server.url("/module/web/jpage/dataproxy.jsp?startrecord=5&endrecord=8&perpage=4")
    status, headers, body = fetch(url, data=b"col=1&webid=12&columnid=1234&unitid=5678")
    assert status == 200 and "xml" in headers["Content-Type"]
    text = body.decode("utf-8")
    assert re.findall(r"<li>(\d+)</li>", text) == ["5", "6", "7", "8"]
    assert "<totalrecord>11</totalrecord>" in text and "<totalpage>3</totalpage>" in text
    # Parameters may also all come in the query string, or as page=N.
    _, _, body = fetch(server.url("/module/web/jpage/dataproxy.jsp?columnid=1234&page=3&perpage=4"))
    assert re.findall(r"<li>(\d+)</li>", body.decode()) == ["9", "10", "11"]
    rec = server.requests(path="/module/web/jpage/dataproxy.jsp", method="POST")
    assert len(rec) == 1 and rec[0].query.startswith("startrecord=5") and b"columnid=1234" in rec[0].body


def test_request_log_is_thread_safe_under_load(server):
    from concurrent.futures import ThreadPoolExecutor

    server.clear_log()
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: fetch(server.url("/a.html"))[0], range(200)))
    assert statuses == [200] * 200
    assert len(server.requests(path="/a.html")) == 200


def test_from_dir_with_manifest(tmp_path):
    (tmp_path / "zfxxgk").mkdir()
    (tmp_path / "zfxxgk" / "index.html").write_bytes("政府信息公开".encode("gbk"))
    (tmp_path / "plain.html").write_bytes(b"<html></html>")
    (tmp_path / "_jpage").mkdir()
    (tmp_path / "_jpage" / "9.json").write_text(json.dumps(["<li>r1</li>"]), "utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps({
        "content_types": {".html": "text/html; charset=gb2312"},
        "files": {"/plain.html": {"headers": {"Content-Type": "text/html"}}, "/gone.html": {"status": 410}},
        "redirects": {"/old/": {"location": "/zfxxgk/", "status": 302}},
        "jpage": [{"columnid": "9", "records": "_jpage/9.json"}],
    }), "utf-8")
    with DemoServer(tmp_path) as srv:
        status, headers, body = fetch(srv.url("/zfxxgk/"))
        assert (status, headers["Content-Type"], body) == (200, "text/html; charset=gb2312",
                                                           "政府信息公开".encode("gbk"))
        assert fetch(srv.url("/plain.html"))[1]["Content-Type"] == "text/html"
        assert fetch(srv.url("/gone.html"))[0] == 410
        assert fetch(srv.url("/old/"))[:2][0] == 302
        assert fetch(srv.url("/manifest.json"))[0] == 404
        assert fetch(srv.url("/_jpage/9.json"))[0] == 404
        body = fetch(srv.url("/module/web/jpage/dataproxy.jsp"), data=b"columnid=9&startrecord=1&endrecord=3")[2]
        assert b"<li>r1</li>" in body


def test_committed_sites_load(expected_sites):
    from conftest import SITES

    for name, exp in expected_sites.items():
        with DemoServer(SITES / name) as srv:
            for path, entry in exp["reports"].items():
                assert fetch(srv.url(path))[0] == 200, (name, path)
                assert fetch(srv.url(entry["source"]))[0] == 200, (name, entry["source"])
            for path in exp["must_request"]:
                assert fetch(srv.url(path), data=b"columnid=1234" if path.endswith(".jsp") else None)[0] == 200


def test_start_stop_frees_the_port():
    srv = DemoServer(Site()).start()
    port = srv.port
    srv.stop()
    time.sleep(0.05)
    with DemoServer(Site(), port=port) as again:  # rebinding works once stopped
        assert again.port == port
