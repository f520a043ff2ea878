"""Offline demo: serve a bundled fake portal on 127.0.0.1 and crawl it with ``scrapy crawl portals``.

    python -m govcrawl.demo                 # crawl, write output/demo-<timestamp>.jsonl, print a summary
    python -m govcrawl.demo --out DIR       # write the JSONL under DIR instead
    python -m govcrawl.demo --serve         # only serve the portal (Ctrl-C to stop)

The portal (示例市人民政府: TRS-style lists over two pages, GBK pages, a DOCX
attachment, look-alike noise) is built in memory by
``govcrawl.demo.site.build_demo_site`` — nothing outside the package is
needed, and no network beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from govcrawl.demo.server import DemoServer
from govcrawl.demo.site import build_demo_site

PORTAL_NAME = "示例市人民政府"
LOCAL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "TELNETCONSOLE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
}


def run_demo(out_dir: str | Path = "output", *, quiet: bool = False) -> tuple[int, Path, list[dict]]:
    """Serve the demo portal, crawl it, return (exit code, JSONL path, items)."""
    site, expected = build_demo_site()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = (out_dir / f"demo-{stamp}.jsonl").resolve()
    with DemoServer(site) as srv, tempfile.TemporaryDirectory(prefix="govcrawl-demo-") as tmp:
        csv_path = Path(tmp) / "portals.csv"
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "url", "region", "level", "render"])
            writer.writerow([PORTAL_NAME, srv.url("/"), "示例省", "city", "0"])
        settings = dict(LOCAL_SETTINGS, GOVCRAWL_STATE_PATH=str(Path(tmp) / "crawl-state.sqlite3"),
                        GOVCRAWL_ARCHIVE_DIR=str(Path(tmp) / "archive"))
        cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"portals={csv_path}", "-O", str(out)]
        for key, value in settings.items():
            cmd += ["-s", f"{key}={value}"]
        # The project settings by module name, so the demo runs from any directory.
        env = dict(os.environ, SCRAPY_SETTINGS_MODULE="govcrawl.settings")
        if not quiet:
            print(f"demo portal {PORTAL_NAME} at {srv.url('/')}", flush=True)
            print("crawling: scrapy crawl portals ...", flush=True)
        started = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
        elapsed = time.monotonic() - started
        pages = len(srv.log)
    items = []
    if out.exists():
        items = [json.loads(line) for line in out.read_text("utf-8").splitlines() if line.strip()]
    if not quiet:
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
        found = {i.get("url") for i in items}
        wanted = {srv.url(p) for p in expected}
        print(f"\n{len(items)} reports found ({len(found & wanted)} of {len(wanted)} published), "
              f"{pages} requests served, {elapsed:.1f} s")
        for item in sorted(items, key=lambda i: (i.get("year") or 0), reverse=True):
            tables = item.get("tables") or {}
            print(f"  {item.get('year')}  {item.get('format') or '-':4}  {len(tables)} tables  {item.get('title')}")
        print(f"output: {out}")
    return proc.returncode, out, items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govcrawl.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="output", help="directory for demo-<timestamp>.jsonl (default: output)")
    parser.add_argument("--serve", action="store_true", help="only serve the demo portal until Ctrl-C")
    parser.add_argument("--port", type=int, default=0, help="port for --serve (default: a free one)")
    args = parser.parse_args(argv)
    if args.serve:
        site, _ = build_demo_site()
        with DemoServer(site, port=args.port) as srv:
            print(f"serving the demo portal at {srv.url('/')} (Ctrl-C to stop)", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0
    code, _, items = run_demo(args.out)
    if code == 0 and not items:
        print("no reports found", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
