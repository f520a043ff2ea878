"""A small HTTP server that plays a government portal on 127.0.0.1.

Tests, the offline demo and the benchmark crawl the real spider against it.
A *site* maps URL paths to canned responses (raw bytes in their real
encoding, with their real headers); the server adds what real portals do:
conditional requests, redirects, 404s, Hanweb's ``dataproxy.jsp`` paging,
``robots.txt``, and a request log to assert on.

Usage::

    from govcrawl.demo.server import DemoServer, Site

    site = Site.from_dir("tests/sites/trs")          # or Site() + site.add(...)
    with DemoServer(site) as srv:                    # binds 127.0.0.1, free port
        srv.url("/zfxxgk/ndbg/index.html")           # -> "http://127.0.0.1:PORT/zfxxgk/ndbg/index.html"
        ...crawl...
        srv.requests(path="/zfxxgk/ndbg/index_1.html")   # -> [RequestRecord, ...]
        srv.set("/a.html", "<html>new</html>".encode(), {"Content-Type": "text/html; charset=utf-8"})
        srv.remove("/a.html")                            # now 404
        srv.clear_log()

    python -m govcrawl.demo.server tests/sites/trs --port 8000

Site API (all thread-safe, also usable while the server runs):

* ``site.add(path, body, headers=None, status=200)`` — a static resource.
  ``path`` may carry a query (``/list?page=2``): an exact path+query match
  wins over the bare path.  A path ending in ``/`` serves ``index.html``.
* ``site.redirect(path, location, status=301)``.
* ``site.add_handler(path, func)`` — ``func(request: IncomingRequest) -> Resource``
  for dynamic pages (GET or POST).
* ``site.add_jpage(columnid, records, path=JPAGE_PATH)`` — Hanweb jpage proxy:
  ``POST/GET dataproxy.jsp?startrecord=S&endrecord=E&perpage=P`` (parameters
  in the query string or the form body, ``columnid`` likewise) returns the
  ``<datastore>`` XML holding records S..E (1-based, inclusive); ``page=N``
  is accepted instead of startrecord/endrecord.
* ``site.set(...)``/``site.remove(path)`` — same as ``add``/delete; a changed
  body gets a new ETag and a Last-Modified strictly later than the old one.

Server behaviour:

* Every request lands in ``srv.log`` (a list of :class:`RequestRecord`:
  method, path, query, status, host, if_none_match, if_modified_since,
  headers, body).  ``srv.requests(path=..., method=...)`` filters it.
* Static 200 responses carry ``ETag`` (sha1 of the body) and
  ``Last-Modified``; a GET/HEAD with a matching ``If-None-Match`` (checked
  first) or an ``If-Modified-Since`` not older than Last-Modified gets
  ``304``.  ``DemoServer(site, conditional=False)`` turns all of that off.
* ``/robots.txt`` allows everything unless the site has its own.
* The bytes ``@@PORT@@`` in a body or a header (``Location``) are replaced by the server's port when
  served — that is how a committed page links to ``http://localhost:@@PORT@@/``,
  the same server under another host name (off-site for a crawler that was
  given ``127.0.0.1``).

Directory sites (``Site.from_dir``): every file under the directory is served
at its relative path, except ``manifest.json`` and anything under a directory
whose name starts with ``_``.  ``manifest.json`` (optional) may hold::

    {"content_types": {".html": "text/html; charset=gb2312"},
     "files": {"/path": {"headers": {...}, "status": 200},
               "/list.jsp?page=2": {"file": "_query/list.jsp_page=2.html"}},
     "redirects": {"/old.html": {"location": "/new.html", "status": 301}},
     "jpage": [{"columnid": "1234", "records": "_jpage/1234.json"}]}

where a jpage ``records`` file is a JSON list of record HTML strings.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import mimetypes
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

JPAGE_PATH = "/module/web/jpage/dataproxy.jsp"
PORT_PLACEHOLDER = b"@@PORT@@"
ROBOTS_ALLOW_ALL = b"User-agent: *\nDisallow:\n"
# Fixed date for files loaded from disk: checkouts give files arbitrary mtimes,
# and tests want stable Last-Modified values.
DEFAULT_LAST_MODIFIED = 1704067200.0  # 2024-01-01T00:00:00Z

_DEFAULT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".shtml": "text/html",
    ".jsp": "text/html",
    ".js": "application/javascript",
    ".json": "application/json",
    ".css": "text/css",
    ".xml": "text/xml",
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}


def guess_content_type(path: str) -> str:
    ext = os.path.splitext(urlsplit(path).path)[1].lower()
    if not ext or path.endswith("/"):
        return "text/html"
    return _DEFAULT_TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"


@dataclass
class Resource:
    """One canned response."""

    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    last_modified: float = DEFAULT_LAST_MODIFIED


@dataclass
class IncomingRequest:
    """What a dynamic handler sees."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the form body, else the query string."""
        return self.form.get(name, self.query.get(name, default))


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    host: str
    if_none_match: str | None
    if_modified_since: str | None
    headers: dict[str, str]
    body: bytes
    time: float

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")


Handler = Callable[[IncomingRequest], Resource]


def _norm_path(path: str) -> str:
    if not path.startswith("/"):
        path = "/" + path
    return path


class Site:
    """Path → :class:`Resource`, plus dynamic handlers.  Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.resources: dict[str, Resource] = {}
        self.handlers: dict[str, Handler] = {}

    # -- building -------------------------------------------------------
    def add(self, path: str, body: bytes | str, headers: dict | None = None,
            status: int = 200, *, last_modified: float | None = None) -> Resource:
        if isinstance(body, str):
            body = body.encode("utf-8")
        path = _norm_path(path)
        headers = dict(headers or {})
        if not any(k.lower() == "content-type" for k in headers) and status == 200:
            headers["Content-Type"] = guess_content_type(path)
        with self._lock:
            old = self.resources.get(path)
            if last_modified is None:
                last_modified = time.time() if old is not None else DEFAULT_LAST_MODIFIED
                if old is not None and old.body != body:
                    # HTTP dates have 1 s resolution: a change must move the date.
                    last_modified = max(float(int(last_modified)), old.last_modified + 1)
                elif old is not None:
                    last_modified = old.last_modified
            res = Resource(body, headers, status, last_modified)
            self.resources[path] = res
            return res

    set = add

    def remove(self, path: str) -> None:
        with self._lock:
            self.resources.pop(_norm_path(path), None)

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.add(path, b"", {"Location": location}, status)

    def add_handler(self, path: str, func: Handler) -> None:
        with self._lock:
            self.handlers[_norm_path(path)] = func

    def add_jpage(self, columnid: str | int, records: list[str], path: str = JPAGE_PATH) -> None:
        """Serve Hanweb jpage records of one column from ``path``."""
        with self._lock:
            handler = self.handlers.get(path)
            if not isinstance(handler, JPageProxy):
                handler = JPageProxy()
                self.handlers[path] = handler
            handler.columns[str(columnid)] = list(records)

    # -- lookup ---------------------------------------------------------
    def lookup(self, path: str, query: str = "") -> Resource | None:
        with self._lock:
            candidates = []
            if query:
                candidates.append(f"{path}?{query}")
            candidates.append(path)
            if path.endswith("/"):
                candidates.append(path + "index.html")
            for key in candidates:
                if key in self.resources:
                    return self.resources[key]
            return None

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self.resources)

    # -- loading --------------------------------------------------------
    @classmethod
    def from_dir(cls, directory: str | os.PathLike) -> "Site":
        root = Path(directory)
        site = cls()
        manifest = {}
        if (root / "manifest.json").is_file():
            manifest = json.loads((root / "manifest.json").read_text("utf-8"))
        types = manifest.get("content_types", {})
        files = manifest.get("files", {})
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root)
            if not file.is_file() or rel.as_posix() == "manifest.json":
                continue
            if any(part.startswith("_") for part in rel.parts[:-1]):
                continue
            path = "/" + rel.as_posix()
            spec = files.get(path, {})
            headers = {}
            ext = file.suffix.lower()
            if ext in types:
                headers["Content-Type"] = types[ext]
            headers.update(spec.get("headers", {}))
            site.add(path, file.read_bytes(), headers, spec.get("status", 200))
        for path, spec in files.items():
            if "file" in spec:  # e.g. a path with a query, kept in a hidden file
                headers = {}
                if Path(spec["file"]).suffix.lower() in types:
                    headers["Content-Type"] = types[Path(spec["file"]).suffix.lower()]
                headers.update(spec.get("headers", {}))
                site.add(path, (root / spec["file"]).read_bytes(), headers, spec.get("status", 200))
            elif site.lookup(path) is None:  # status-only entries (e.g. 410, 500)
                site.add(path, spec.get("body", "").encode("utf-8"),
                         spec.get("headers", {}), spec.get("status", 200))
        for path, spec in manifest.get("redirects", {}).items():
            site.redirect(path, spec["location"], spec.get("status", 301))
        for spec in manifest.get("jpage", []):
            records = json.loads((root / spec["records"]).read_text("utf-8"))
            site.add_jpage(spec["columnid"], records, spec.get("path", JPAGE_PATH))
        return site


class JPageProxy:
    """Hanweb ``/module/web/jpage/dataproxy.jsp``: records S..E of a column as datastore XML."""

    def __init__(self) -> None:
        self.columns: dict[str, list[str]] = {}

    def __call__(self, req: IncomingRequest) -> Resource:
        records = self.columns.get(req.param("columnid") or "", [])
        perpage = _int(req.param("perpage"), 15) or 15
        start = _int(req.param("startrecord"), 0)
        end = _int(req.param("endrecord"), 0)
        if not start:
            page = _int(req.param("page"), 1) or 1
            start, end = (page - 1) * perpage + 1, page * perpage
        start = max(start, 1)
        end = max(end, start - 1)
        chosen = records[start - 1:end]
        total = len(records)
        return Resource(datastore_xml(chosen, total, perpage, nextgroup=""),
                        {"Content-Type": "text/xml; charset=utf-8"})


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def datastore_xml(records: list[str], total: int, perpage: int, nextgroup: str = "") -> bytes:
    """The ``<datastore>`` XML Hanweb puts in list pages and returns from dataproxy.jsp."""
    pages = (total + perpage - 1) // perpage if perpage else 0
    parts = ['<?xml version="1.0" encoding="utf-8"?>', "<datastore>",
             f"<nextgroup><![CDATA[{nextgroup}]]></nextgroup>",
             f"<totalrecord>{total}</totalrecord>", f"<totalpage>{pages}</totalpage>",
             "<recordset>"]
    parts += [f"<record><![CDATA[{r}]]></record>" for r in records]
    parts += ["</recordset>", "</datastore>"]
    return "\n".join(parts).encode("utf-8")


class _RequestHandler(BaseHTTPRequestHandler):
    server: "_HTTPServer"
    protocol_version = "HTTP/1.1"
    server_version = "TRS-WCM/7.0"  # look like a portal, not like Python
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - silence stderr noise
        pass

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method: str) -> None:
        demo: DemoServer = self.server.demo
        split = urlsplit(self.path)
        path, query = split.path or "/", split.query
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        status, out_headers, out_body = demo._respond(method, path, query, headers, body)
        demo._record(RequestRecord(
            method=method, path=path, query=query, status=status,
            host=self.headers.get("Host", ""),
            if_none_match=self.headers.get("If-None-Match"),
            if_modified_since=self.headers.get("If-Modified-Since"),
            headers=headers, body=body, time=time.time()))
        try:
            self.send_response(status)
            for k, v in out_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out_body)))
            self.end_headers()
            if method != "HEAD" and status not in (204, 304):
                self.wfile.write(out_body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, demo: "DemoServer"):
        self.demo = demo
        super().__init__(addr, _RequestHandler)


class DemoServer:
    """Serve a :class:`Site` on 127.0.0.1 in a background thread."""

    def __init__(self, site: Site | str | os.PathLike | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, conditional: bool = True):
        if site is None:
            site = Site()
        elif not isinstance(site, Site):
            site = Site.from_dir(site)
        self.site = site
        self.host = host
        self.conditional = conditional
        self.log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), self)
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "DemoServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever,
                                            kwargs={"poll_interval": 0.1}, daemon=True,
                                            name=f"DemoServer:{self.port}")
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "DemoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + _norm_path(path)

    # -- mutation (delegates to the site) --------------------------------
    def set(self, path: str, body: bytes | str, headers: dict | None = None, status: int = 200) -> Resource:
        return self.site.set(path, body, headers, status)

    def remove(self, path: str) -> None:
        self.site.remove(path)

    # -- request log -----------------------------------------------------
    def requests(self, path: str | None = None, method: str | None = None) -> list[RequestRecord]:
        with self._log_lock:
            return [r for r in self.log
                    if (path is None or r.path == path) and (method is None or r.method == method)]

    def clear_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    def _record(self, rec: RequestRecord) -> None:
        with self._log_lock:
            self.log.append(rec)

    # -- the response ----------------------------------------------------
    def _respond(self, method: str, path: str, query: str, headers: dict, body: bytes):
        lower = {k.lower(): v for k, v in headers.items()}
        handler = self.site.handlers.get(path)
        if handler is not None:
            form = {}
            if method == "POST" and body:
                form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                                      keep_blank_values=True).items()}
            req = IncomingRequest(method, path, {k: v[-1] for k, v in parse_qs(query).items()},
                                  form, headers, body)
            res = handler(req)
            return res.status, dict(res.headers), self._substitute(res.body)
        res = self.site.lookup(path, query)
        if res is None and path == "/robots.txt":
            res = Resource(ROBOTS_ALLOW_ALL, {"Content-Type": "text/plain"})
        if res is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body><h1>404 Not Found</h1></body></html>"
        out = self._substitute(res.body)
        out_headers = {k: self._substitute(v.encode("latin-1")).decode("latin-1") if isinstance(v, str) else v
                       for k, v in res.headers.items()}
        if res.status == 200 and self.conditional:
            etag = '"%s"' % hashlib.sha1(out).hexdigest()[:20]
            out_headers["ETag"] = etag
            out_headers["Last-Modified"] = email.utils.formatdate(res.last_modified, usegmt=True)
            if method in ("GET", "HEAD") and self._not_modified(lower, etag, res.last_modified):
                keep = {k: v for k, v in out_headers.items() if k in ("ETag", "Last-Modified")}
                return 304, keep, b""
        return res.status, out_headers, out

    @staticmethod
    def _not_modified(lower: dict, etag: str, last_modified: float) -> bool:
        inm = lower.get("if-none-match")
        if inm is not None:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return etag in tags or "*" in tags
        ims = lower.get("if-modified-since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(last_modified) <= since
        return False

    def _substitute(self, body: bytes) -> bytes:
        if PORT_PLACEHOLDER in body:
            return body.replace(PORT_PLACEHOLDER, str(self.port).encode())
        return body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m govcrawl.demo.server",
                                     description="Serve a fake government portal directory.")
    parser.add_argument("directory", help="site directory (e.g. tests/sites/trs)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-conditional", action="store_true", help="no ETag/Last-Modified/304")
    args = parser.parse_args(argv)
    srv = DemoServer(args.directory, host=args.host, port=args.port,
                     conditional=not args.no_conditional)
    print(f"serving {args.directory} at {srv.base_url}/ (Ctrl-C to stop)", flush=True)
    try:
        srv._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv._httpd.server_close()


if __name__ == "__main__":
    main()
