"""Archive benchmark: what the raw WARC archive costs a crawl, and how fast re-extraction runs.

    .venv/bin/python bench/archive_bench.py                 # 1000 reports, 5 rounds
    .venv/bin/python bench/archive_bench.py --reports 500 --rounds 2 --jobs 2

Crawls the generated web of ``bench/crawl_bench.py`` with the archive on and
off, alternating, ``--rounds`` times each, and prints the median CPU seconds
(user + system of the crawler's whole process tree, extraction workers included,
sampled as ``crawl_bench`` does: steadier under other load on the machine than
wall time) and wall seconds of each, the archive's size next to the
body bytes it holds, then ``python -m govcrawl.reextract`` over that archive:
documents/s and whether it gave back the crawl's feed (same URLs and tables).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crawl_bench import REPO, local_settings, run_measured, settings_args  # noqa: E402


def crawl(csv_path: Path, out: Path, tmp: Path, archive: bool, concurrency: int) -> tuple[float, float]:
    """One crawl; (CPU seconds of its process tree, wall seconds)."""
    settings = dict(local_settings(concurrency), GOVCRAWL_STATE_PATH=str(tmp / f"state-{time.monotonic_ns()}.sqlite3"),
                    GOVCRAWL_ARCHIVE="1" if archive else "0", GOVCRAWL_ARCHIVE_DIR=str(tmp / "archive"))
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"portals={csv_path}", "-O", str(out),
           *settings_args(settings)]
    env = {k: v for k, v in os.environ.items() if k not in ("GOVCRAWL_REDIS_URL", "GOVCRAWL_ARCHIVE")}
    run = run_measured(cmd, cwd=REPO, env=env, log_dir=tmp)
    if run.code != 0:
        sys.exit(f"crawl failed (exit code {run.code}):\n{run.stderr}")
    return run.cpu, run.wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--portals", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=1, help="re-extraction processes")
    args = parser.parse_args(argv)

    from govcrawl.demo.server import DemoServer
    from govcrawl.demo.site import cached_bench_site

    web = cached_bench_site(args.reports, n_portals=args.portals, per_page=20)
    servers = [DemoServer(site).start() for _, site, _ in web]
    with tempfile.TemporaryDirectory(prefix="govcrawl-archive-bench-") as tmp_name:
        tmp = Path(tmp_name)
        csv_path = tmp / "portals.csv"
        csv_path.write_text("name,url,region,level,render\n" + "".join(
            f"{name},{srv.url('/')},,,0\n" for (name, _, _), srv in zip(web, servers)), "utf-8")
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for _ in range(args.rounds):
            for archive in (True, False):
                if archive:  # measure one archive's size: start each archived crawl with an empty directory
                    for old in (tmp / "archive").glob("*.warc.gz"):
                        old.unlink()
                times[archive].append(crawl(csv_path, tmp / f"feed-{archive}.jsonl", tmp, archive, args.concurrency))
        for srv in servers:
            srv.stop()

        def median(archive: bool, i: int) -> float:
            return statistics.median(t[i] for t in times[archive])

        on_cpu, off_cpu = median(True, 0), median(False, 0)
        print(f"crawl of {args.reports} reports, median of {args.rounds}:")
        print(f"  archive off: {off_cpu:6.1f} s CPU  {median(False, 1):6.1f} s wall")
        print(f"  archive on:  {on_cpu:6.1f} s CPU  {median(True, 1):6.1f} s wall   "
              f"(+{(on_cpu - off_cpu) / off_cpu:.1%} CPU)")
        warcs = sorted((tmp / "archive").glob("*.warc.gz"))
        feed = [json.loads(line) for line in (tmp / "feed-True.jsonl").read_text("utf-8").splitlines()]
        warc_bytes = sum(p.stat().st_size for p in warcs)
        print(f"  archive: {len(warcs)} file(s), {warc_bytes / 1e6:.1f} MB for {len(feed)} reports "
              f"({warc_bytes / len(feed) / 1e3:.1f} kB per report)")

        out = tmp / "reextracted.jsonl"
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "govcrawl.reextract", *map(str, warcs), "-O", str(out),
                               "--no-progress", "--jobs", str(args.jobs)],
                              cwd=REPO, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        again = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
        same = {i["url"]: i["tables"] for i in again} == {i["url"]: i["tables"] for i in feed}
        print(f"re-extraction ({args.jobs} process(es)): {len(again)} reports in {seconds:.1f} s "
              f"= {len(again) / seconds:.1f} docs/s (process start included); same URLs and tables as the crawl: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
