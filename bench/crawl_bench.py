"""Crawl benchmark: ``scrapy crawl portals`` over a generated web of ≥1000 reports, next to a plain Scrapy floor.

    .venv/bin/python bench/crawl_bench.py                       # 5 portals × 200 reports, 20 per list page
    .venv/bin/python bench/crawl_bench.py --reports 2000 --portals 10 --concurrency 64

The web comes from ``govcrawl.demo.site.generate_bench_site`` (TRS-style
lists paginated by ``createPageHTML``, report pages rendered from random
tables), one :class:`DemoServer` per portal on 127.0.0.1.  Two crawls of it:

* **govcrawl** — the real spider with its pipelines (extraction, validation,
  ...), local settings (no delay, AutoThrottle off, higher concurrency), a
  fresh crawl state;
* **plain scrapy** — ``FloorSpider`` below, a bare ``scrapy.Spider`` outside
  the project that downloads exactly the URLs govcrawl requested and does
  nothing with them: the floor set by Scrapy + this local server.

Printed per crawl: pages (requests served), reports (items), wall time,
pages/s, reports/s and peak RSS of the crawler process (``os.wait4`` rusage,
so each child is measured alone).  The server runs in this process (threads),
so at high rates it is part of what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scrapy

REPO = Path(__file__).resolve().parent.parent


class FloorSpider(scrapy.Spider):
    """Download every URL in ``-a urls_file=FILE`` (one per line); parse nothing."""

    name = "floor"
    custom_settings = {"LOG_LEVEL": "INFO"}

    async def start(self):
        for url in Path(self.urls_file).read_text("utf-8").split():
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response):
        return None


def run_measured(cmd: list[str], *, cwd: Path, env: dict, log_dir: Path) -> tuple[int, float, float, str]:
    """Run ``cmd``; return (exit code, wall seconds, peak RSS in MiB, stderr tail). The log goes to ``log_dir``."""
    err_path = Path(log_dir) / f"stderr-{time.monotonic_ns()}.log"
    with open(err_path, "w") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_maxrss / 1024, err_path.read_text("utf-8", "replace")[-3000:]


def local_settings(concurrency: int) -> dict:
    return {
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
        "CONCURRENT_REQUESTS_PER_IP": "0",
        "HTTPCACHE_ENABLED": "False",
        "TELNETCONSOLE_ENABLED": "False",
        "LOG_LEVEL": "INFO",
    }


def settings_args(settings: dict) -> list[str]:
    return [arg for k, v in settings.items() for arg in ("-s", f"{k}={v}")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--portals", type=int, default=5)
    parser.add_argument("--per-page", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (JSONL, logs)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from govcrawl.demo.server import DemoServer
    from govcrawl.demo.site import generate_bench_site

    t0 = time.monotonic()
    web = generate_bench_site(args.reports, n_portals=args.portals, per_page=args.per_page)
    print(f"generated {args.reports} reports on {args.portals} portals in {time.monotonic() - t0:.1f} s",
          flush=True)
    servers = [DemoServer(site).start() for _, site, _ in web]
    tmp = Path(tempfile.mkdtemp(prefix="govcrawl-bench-"))
    rows = []
    try:
        csv_path = tmp / "portals.csv"
        csv_path.write_text("name,url,region,level,render\n" + "".join(
            f"{name},{srv.url('/')},,,0\n" for (name, _, _), srv in zip(web, servers)), "utf-8")
        out = tmp / "bench.jsonl"
        settings = dict(local_settings(args.concurrency), GOVCRAWL_STATE_PATH=str(tmp / "state.sqlite3"),
                        GOVCRAWL_ARCHIVE_DIR=str(tmp / "archive"))
        cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"portals={csv_path}", "-O", str(out),
               *settings_args(settings)]
        code, wall, rss, err = run_measured(cmd, cwd=REPO, env=dict(os.environ), log_dir=tmp)
        if code != 0:
            print(err, file=sys.stderr)
        requested = [srv.url(r.target) for srv in servers for r in srv.log]
        items = [json.loads(line) for line in out.read_text("utf-8").splitlines()] if out.exists() else []
        expected = {srv.url(p) for (_, _, exp), srv in zip(web, servers) for p in exp}
        found = {i.get("url") for i in items} & expected
        rows.append(("govcrawl portals", len(requested), len(items), wall, rss))

        for srv in servers:
            srv.clear_log()
        urls_file = tmp / "urls.txt"
        urls_file.write_text("\n".join(u for u in requested if not u.endswith("/robots.txt")) + "\n", "utf-8")
        floor_cmd = [sys.executable, "-m", "scrapy", "runspider", str(Path(__file__).resolve()),
                     "-a", f"urls_file={urls_file}", *settings_args(local_settings(args.concurrency))]
        env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
        fcode, fwall, frss, ferr = run_measured(floor_cmd, cwd=tmp, env=env, log_dir=tmp)  # no scrapy.cfg here
        if fcode != 0:
            print(ferr, file=sys.stderr)
        rows.append(("plain scrapy (floor)", sum(len(s.log) for s in servers), None, fwall, frss))
    finally:
        for srv in servers:
            srv.stop()

    print(f"\nreports found by govcrawl: {len(found)}/{len(expected)} (exit code {code})\n")
    header = f"{'crawler':22} {'pages':>6} {'reports':>7} {'wall s':>7} {'pages/s':>8} {'reports/s':>9} {'peak RSS MiB':>12}"
    print(header)
    print("-" * len(header))
    for name, pages, reports, wall_s, rss_mib in rows:
        rep = "-" if reports is None else str(reports)
        rps = "-" if reports is None else f"{reports / wall_s:.1f}"
        print(f"{name:22} {pages:>6} {rep:>7} {wall_s:>7.1f} {pages / wall_s:>8.1f} {rps:>9} {rss_mib:>12.0f}")
    if args.keep:
        print(f"\nkept {tmp}")
    else:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if code == 0 and len(found) == len(expected) else 1


if __name__ == "__main__":
    sys.exit(main())
