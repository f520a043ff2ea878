"""Incremental recrawl benchmark: a no-change recrawl next to the full crawl it follows.

    .venv/bin/python bench/recrawl_bench.py                  # 5 portals × 200 reports
    .venv/bin/python bench/recrawl_bench.py --reports 2000 --portals 10

One generated web (``govcrawl.demo.site.generate_bench_site``, HTML report
pages unless ``--attachment-share``; kept on disk by ``cached_bench_site``; one
DemoServer per portal on 127.0.0.1), one crawl state (a temp SQLite file), three runs of
the real ``scrapy crawl portals``:

1. **full crawl** — empty state: every list page, every report;
2. **recrawl, default** — nothing changed, ``GOVCRAWL_RECHECK_AFTER`` at its
   default (7 days): report pages are not requested at all;
3. **recrawl, recheck=0** — nothing changed, every known report re-checked
   with a conditional request (answered 304).

Printed per run: requests the servers answered (and how many were 304),
items emitted, crawl seconds (Scrapy's ``elapsed_time_seconds``), wall
seconds (with interpreter start-up), and each recrawl as a % of the full crawl.
Target: a no-change recrawl costs under 10% of the full crawl.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from govcrawl.demo.server import DemoServer  # noqa: E402
from govcrawl.demo.site import cached_bench_site  # noqa: E402

LOCAL = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "TELNETCONSOLE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
}


def crawl(urls: list[str], state: Path, out: Path, extra: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", "urls=" + ",".join(urls), "-O", str(out)]
    for key, value in {**LOCAL, "GOVCRAWL_STATE_PATH": str(state), "GOVCRAWL_LEDGER_PATH": str(out.with_suffix(".csv")),
                       "GOVCRAWL_ARCHIVE_DIR": str(state.parent / "archive"),
                       **extra}.items():
        cmd += ["-s", f"{key}={value}"]
    env = dict(os.environ)
    env.pop("GOVCRAWL_REDIS_URL", None)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"crawl failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    dump = proc.stderr[proc.stderr.rfind("Dumping Scrapy stats"):]
    elapsed = float(re.search(r"'elapsed_time_seconds': ([\d.]+)", dump).group(1))
    items = sum(1 for line in out.read_text("utf-8").splitlines() if line.strip())
    return {"wall": wall, "elapsed": elapsed, "items": items}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--portals", type=int, default=5)
    parser.add_argument("--per-page", type=int, default=20)
    # HTML report pages only by default, so the numbers stay comparable with earlier runs (and no PDFs to
    # build): what a recrawl skips does not depend on the document kind.
    parser.add_argument("--attachment-share", type=float, default=0.0,
                        help="share of reports whose tables are in a PDF/DOCX attachment (default: none)")
    args = parser.parse_args()

    webs = cached_bench_site(args.reports, n_portals=args.portals, per_page=args.per_page,
                             attachment_share=args.attachment_share)
    servers = [DemoServer(site).start() for _, site, _ in webs]
    try:
        urls = [srv.url("/index.html") for srv in servers]
        with tempfile.TemporaryDirectory(prefix="govcrawl-recrawl-bench-") as tmp:
            state = Path(tmp) / "state.sqlite3"
            rows = []
            for label, extra in (("full crawl", {}),
                                 ("recrawl, default recheck", {}),
                                 ("recrawl, recheck=0 (304s)", {"GOVCRAWL_RECHECK_AFTER": "0"})):
                for srv in servers:
                    srv.clear_log()
                result = crawl(urls, state, Path(tmp) / "out.jsonl", extra)
                log = [r for srv in servers for r in srv.log]
                result.update(label=label, requests=len(log), not_modified=sum(r.status == 304 for r in log))
                rows.append(result)
    finally:
        for srv in servers:
            srv.stop()

    full = rows[0]
    print(f"\nweb: {args.reports} reports on {args.portals} portals, {args.per_page} per list page\n")
    print(f"{'run':28} {'requests':>9} {'of them 304':>12} {'items':>6} {'crawl s':>8} {'wall s':>7}"
          f" {'requests %':>11} {'crawl s %':>10} {'wall s %':>9}")
    for r in rows:
        print(f"{r['label']:28} {r['requests']:>9} {r['not_modified']:>12} {r['items']:>6} {r['elapsed']:>8.1f}"
              f" {r['wall']:>7.1f} {100 * r['requests'] / full['requests']:>10.1f}%"
              f" {100 * r['elapsed'] / full['elapsed']:>9.1f}% {100 * r['wall'] / full['wall']:>8.1f}%")
    if full["items"] < args.reports:
        print(f"\nWARNING: the full crawl emitted {full['items']} of {args.reports} reports")


if __name__ == "__main__":
    main()
