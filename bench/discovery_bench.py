"""Discovery over generated portals: recall, precision, pages per report, browser renders per portal.

    .venv/bin/python bench/discovery_bench.py            # 50 seeds
    .venv/bin/python bench/discovery_bench.py --seeds 24 --first 0 --verbose

Serves every portal of ``govcrawl.demo.world`` (seeds FIRST … FIRST+N-1) on
127.0.0.1, runs one real ``scrapy crawl portals`` over all of them, and prints
per seed and in total: recall, precision, pages fetched per report found and
browser renders; with ``--verbose`` the path to every missed report.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from govcrawl.demo.server import DemoServer  # noqa: E402
from govcrawl.demo.world import explain, generate_portal, score  # noqa: E402

FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "CONCURRENT_REQUESTS": "32",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "16", "RETRY_TIMES": "1", "TELNETCONSOLE_ENABLED": "False",
        "LOG_LEVEL": "INFO", "GOVCRAWL_STATE_ENABLED": "False"}


def diff(expected, actual) -> list[str]:
    from conftest import diff_values

    return diff_values(expected, actual)


def crawl_worlds(worlds, workdir: Path, timeout: float = 900):
    """Serve ``worlds``, crawl them all in one run; returns (servers, items, stats, seconds, stderr)."""
    servers = [DemoServer(w.site).start() for w in worlds]
    try:
        portals = workdir / "portals.csv"
        with open(portals, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "url"])
            for world, srv in zip(worlds, servers):
                writer.writerow([world.name, srv.url(world.start)])
        out = workdir / "items.jsonl"
        cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"portals={portals}", "-O", str(out),
               "-s", f"GOVCRAWL_LEDGER_PATH={workdir / 'ledger.csv'}"]
        for key, value in FAST.items():
            cmd += ["-s", f"{key}={value}"]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, PYTHONUNBUFFERED="1"))
        seconds = time.monotonic() - started
        items = [json.loads(line) for line in out.read_text("utf-8").splitlines() if line.strip()] \
            if out.exists() else []
        return servers, items, proc, seconds
    finally:
        for srv in servers:
            srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    worlds = [generate_portal(seed) for seed in range(args.first, args.first + args.seeds)]
    with tempfile.TemporaryDirectory() as tmp:
        servers, items, proc, seconds = crawl_worlds(worlds, Path(tmp))
    if proc.returncode != 0:
        print(proc.stderr[-3000:])
    renders = Counter()
    for line in proc.stderr.splitlines():
        match = re.search(r"\[([^\]]+)\] rendering \S+ in the browser", line)
        if match:
            renders[match.group(1)] += 1
    total_expected = total_found = total_emitted = total_pages = 0
    print(f"{'seed':>4} {'family':<13} {'charset':<9} {'script':<10} {'links':<11} {'recall':>6} {'prec':>6} "
          f"{'pages':>5} {'pg/rep':>6} {'renders':>7}")
    for world, srv in zip(worlds, servers):
        result = score(world, srv.base_url, items, diff)
        pages = len([r for r in srv.log if r.path != "/robots.txt"])
        total_expected += len(world.expected)
        total_found += len(result.found)
        total_emitted += len(result.found) + len(result.unexpected)
        total_pages += pages
        looks = world.looks
        print(f"{world.seed:>4} {looks['family']:<13} {looks['charset']:<9} {looks['script']:<10} "
              f"{looks['link_style']:<11} {result.recall:>6.2f} {result.precision:>6.2f} {pages:>5} "
              f"{pages / max(len(result.found), 1):>6.1f} {renders[world.name]:>7}")
        if args.verbose and (result.missed or result.unexpected or result.wrong):
            requested = {r.path + (f"?{r.query}" if r.query else "") for r in srv.log}
            print(explain(result, requested))
    print(f"\n{len(worlds)} portals, {total_expected} reports: recall {total_found / total_expected:.3f}, "
          f"precision {total_found / max(total_emitted, 1):.3f}, {total_pages / max(total_found, 1):.1f} pages "
          f"per report found, {sum(renders.values()) / len(worlds):.2f} browser renders per portal "
          f"({sum(renders.values())} in all), crawl {seconds:.1f} s")


if __name__ == "__main__":
    main()
