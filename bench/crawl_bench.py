"""Crawl benchmark: ``scrapy crawl portals`` over a generated web of ≥1000 reports, next to a plain Scrapy floor.

    .venv/bin/python bench/crawl_bench.py                       # 5 portals × 200 reports, a third as PDF/DOCX
    .venv/bin/python bench/crawl_bench.py --reports 2000 --portals 10 --concurrency 64
    .venv/bin/python bench/crawl_bench.py --attachment-share 0  # HTML report pages only
    .venv/bin/python bench/crawl_bench.py --pdf-fonts cid       # PDFs naming a font they do not embed

The web comes from ``govcrawl.demo.site.generate_bench_site`` (TRS-style
lists paginated by ``createPageHTML``, report pages rendered from random
tables; ``--attachment-share`` of the reports — a third by default, as on
real portals — hold their tables in a PDF or DOCX linked from the report
page, or in a PDF linked straight from the list; the PDFs embed subsets of a
TrueType CJK font, as real reports' PDFs do, unless ``--pdf-fonts``), one :class:`DemoServer`
per portal on 127.0.0.1.  Building the PDFs takes tens of seconds, so the
built web is kept on disk (``cached_bench_site``; ``--no-cache`` rebuilds),
and the build time is printed apart from the crawls.  Two crawls of it:

* **govcrawl** — the real spider with its pipelines (extraction, validation,
  ...), local settings (no delay, AutoThrottle off, higher concurrency), a
  fresh crawl state;
* **plain scrapy** — ``FloorSpider`` below, a bare ``scrapy.Spider`` outside
  the project that downloads exactly the URLs govcrawl requested and does
  nothing with them: the floor set by Scrapy + this local server.

Printed per crawl: pages (requests served), reports found / expected (and
the missing ones), wall time (interpreter start-up included) and its ratio
to the floor, pages/s, reports/s, peak RSS of the crawler process and all
its children together (the process tree sampled with psutil every 0.1 s, the
max of the sum; without psutil only the largest single process, from
``os.wait4``) and next to it the summed PSS (pages shared between the
processes counted once; read every 1 s), and CPU: seconds of the whole tree
(``os.wait4`` counts waited-for descendants; the samples count the others),
as cores busy (CPU s / wall s) and as % of this machine's cores.

The servers run in this process (threads), so they share the machine with
the crawler: their CPU seconds (this process's, during each crawl) are
printed too.  Each round's line also gives the host's steal time during each
crawl (``/proc/stat``): on a shared virtual machine, seconds the hypervisor
gave other guests, which slow a crawl on two cores more than one on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import scrapy

try:  # the `test` extra; without it only the largest single process's peak RSS is known
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

REPO = Path(__file__).resolve().parent.parent
SAMPLE_EVERY = 0.1  # seconds between samples of the process tree
# Listing the tree scans all of /proc (~3-5 ms) and PSS walks each process's page tables (~2-8 ms a
# process): at every sample that took a tenth of a core from the crawl. So the tree is listed every 5th
# sample (pool workers live as long as the pool) and PSS read every 10th; RSS and CPU at each.
LIST_EVERY = 5
PSS_EVERY = 10


class FloorSpider(scrapy.Spider):
    """Download every URL in ``-a urls_file=FILE`` (one per line); parse nothing."""

    name = "floor"
    custom_settings = {"LOG_LEVEL": "INFO"}

    async def start(self):
        for url in Path(self.urls_file).read_text("utf-8").split():
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response):
        return None


@dataclass
class Measured:
    """One measured run of a crawler process."""

    code: int
    wall: float          # seconds, start to exit
    rss_mib: float       # peak of the summed RSS of the process tree (or the largest process without psutil)
    rss_sampled: bool    # False: rss_mib is os.wait4's ru_maxrss (one process)
    pss_mib: float       # peak of the summed PSS (shared pages split between their processes); 0 if unknown
    cpu: float           # CPU seconds (user + system) of the whole tree
    processes: int       # most processes seen at once
    by_process: dict     # "pid name" -> (its own peak RSS in MiB, its CPU seconds), as sampled
    server_cpu: float    # CPU seconds of this process's other threads (the servers) during the run
    sampler_cpu: float   # CPU seconds of the sampling itself (this thread), also taken from the machine
    elapsed: float | None  # Scrapy's own elapsed_time_seconds (wall minus start-up and shutdown)
    started_at: float    # time.time() at the start, to place the servers' request log on the run
    stderr: str
    steal: float | None = None  # CPU seconds the hypervisor gave other guests while this machine's ran (Linux)


def _steal_seconds() -> float | None:
    """The machine's steal time so far (``/proc/stat``): CPU its virtual cores wanted and did not get."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _tree(root) -> list:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


def run_measured(cmd: list[str], *, cwd: Path, env: dict, log_dir: Path) -> Measured:
    """Run ``cmd``, sampling its process tree every :data:`SAMPLE_EVERY` s. The log goes to ``log_dir``."""
    err_path = Path(log_dir) / f"stderr-{time.monotonic_ns()}.log"
    peak_rss = peak_pss = 0
    most_procs = 1
    by_process: dict[str, tuple[float, float]] = {}
    cpu_seen: dict[tuple[int, float], float] = {}  # (pid, create_time) -> last CPU seconds seen
    self_before, sampler_before, steal_before = os.times(), time.thread_time(), _steal_seconds()
    with open(err_path, "w") as err:
        started, started_at = time.monotonic(), time.time()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        root = psutil.Process(proc.pid) if psutil else None
        procs = [root]
        samples = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if root is not None:
                rss = pss = 0
                if samples % LIST_EVERY == 0:
                    procs = _tree(root)
                with_pss = samples % PSS_EVERY == 0
                samples += 1
                for p in procs:
                    try:
                        with p.oneshot():
                            own = p.memory_info().rss
                            rss += own
                            if with_pss:
                                pss += getattr(p.memory_full_info(), "pss", 0)
                            label = f"{p.pid} {p.name()}"
                            t = p.cpu_times()
                            cpu_seen[(p.pid, p.create_time())] = t.user + t.system
                            by_process[label] = (max(by_process.get(label, (0, 0))[0], own / 2**20),
                                                 t.user + t.system)
                    except psutil.Error:  # gone between listing and reading
                        pass
                peak_rss = max(peak_rss, rss)
                peak_pss = max(peak_pss, pss)
                most_procs = max(most_procs, len(procs))
            time.sleep(SAMPLE_EVERY)
        wall = time.monotonic() - started
    self_after, sampler_cpu, steal_after = os.times(), time.thread_time() - sampler_before, _steal_seconds()
    proc.returncode = os.waitstatus_to_exitcode(status)
    # wait4's rusage covers the crawler and the descendants it waited for; a descendant that was never
    # waited for is only in the samples, so take the larger of the two.
    cpu = max(usage.ru_utime + usage.ru_stime, sum(cpu_seen.values()))
    sampled = root is not None and peak_rss > 0
    return Measured(
        code=proc.returncode, wall=wall,
        rss_mib=(peak_rss / 2**20) if sampled else usage.ru_maxrss / 1024, rss_sampled=sampled, pss_mib=peak_pss / 2**20,
        cpu=cpu, processes=most_procs, by_process=by_process,
        server_cpu=(self_after.user - self_before.user) + (self_after.system - self_before.system) - sampler_cpu,
        sampler_cpu=sampler_cpu,
        elapsed=_elapsed(err_path.read_text("utf-8", "replace")), started_at=started_at,
        stderr=err_path.read_text("utf-8", "replace")[-3000:],
        steal=None if steal_before is None or steal_after is None else steal_after - steal_before)


def _elapsed(log: str) -> float | None:
    found = re.findall(r"'elapsed_time_seconds': ([\d.]+)", log)
    return float(found[-1]) if found else None


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


def report_kind(path: str, gold: dict) -> str:
    """HTML, PDF, PDF (from the list) or DOCX: where the report's tables are."""
    source = gold["source"]
    if source.endswith(".pdf"):
        return "PDF (from list)" if source == path else "PDF"
    return "DOCX" if source.endswith(".docx") else "HTML"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--portals", type=int, default=5)
    parser.add_argument("--per-page", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--attachment-share", type=float, default=1 / 3,
                        help="share of reports whose tables are in a PDF/DOCX attachment (default: a third)")
    parser.add_argument("--pdf-fonts", choices=("embedded", "cid", "mixed"), default="embedded",
                        help="the PDFs' fonts: embedded subsets, as real reports have them (default); 'cid': "
                             "named, not embedded, so the reader loads a system CJK font for each PDF; 'mixed'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5,
                        help="crawl N times each, alternating, and print the median ratio (default 5: on a shared "
                             "machine single runs move by ±30%%; --rounds 1 for a quick look)")
    parser.add_argument("--cache-dir", help="where built webs are kept (default: $TMPDIR/govcrawl-bench-webs)")
    parser.add_argument("--no-cache", action="store_true", help="build the web in memory, keep nothing")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (JSONL, logs)")
    parser.add_argument("--workers", type=int, help="GOVCRAWL_EXTRACT_WORKERS for the govcrawl crawl (default: its own)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from govcrawl.demo.server import DemoServer
    from govcrawl.demo.site import BENCH_CACHE_DIR, cached_bench_site, generate_bench_site

    params = dict(n_portals=args.portals, per_page=args.per_page, seed=args.seed,
                  attachment_share=args.attachment_share, pdf_fonts=args.pdf_fonts)
    cache_dir = Path(args.cache_dir or BENCH_CACHE_DIR)
    cached_before = set(cache_dir.glob("web-*"))
    t0 = time.monotonic()
    web = (generate_bench_site(args.reports, **params) if args.no_cache
           else cached_bench_site(args.reports, cache_dir=cache_dir, **params))
    how = ("built" if args.no_cache else f"built, kept in {cache_dir}" if set(cache_dir.glob("web-*")) - cached_before
           else f"loaded from {cache_dir}")
    print(f"web: {args.reports} reports on {args.portals} portals ready in {time.monotonic() - t0:.1f} s "
          f"({how}; not part of any crawl below)", flush=True)
    gold = {(p, path): g for p, (_, _, expected) in enumerate(web) for path, g in expected.items()}
    kinds_expected = Counter(report_kind(path, g) for (_, path), g in gold.items())
    print("reports by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds_expected.items()))
          + f"; PDF fonts: {args.pdf_fonts}", flush=True)

    servers = [DemoServer(site).start() for _, site, _ in web]
    top = Path(tempfile.mkdtemp(prefix="govcrawl-bench-"))
    rounds: list[tuple[Measured, Measured]] = []
    try:
        for round_no in range(max(1, args.rounds)):
            for srv in servers:
                srv.clear_log()
            tmp = top / f"round{round_no + 1}"  # a fresh crawl state each round: every crawl is a full one
            tmp.mkdir()
            rows = []
            csv_path = tmp / "portals.csv"
            csv_path.write_text("name,url,region,level,render\n" + "".join(
                f"{name},{srv.url('/')},,,0\n" for (name, _, _), srv in zip(web, servers)), "utf-8")
            out = tmp / "bench.jsonl"
            settings = dict(local_settings(args.concurrency), GOVCRAWL_STATE_PATH=str(tmp / "state.sqlite3"),
                            GOVCRAWL_LEDGER_PATH=str(tmp / "ledger.csv"),
                            GOVCRAWL_ARCHIVE_DIR=str(tmp / "archive"))
            if args.workers is not None:
                settings["GOVCRAWL_EXTRACT_WORKERS"] = str(args.workers)
            cmd = [sys.executable, "-m", "scrapy", "crawl", "portals", "-a", f"portals={csv_path}", "-O", str(out),
                   *settings_args(settings)]
            run = run_measured(cmd, cwd=REPO, env=dict(os.environ), log_dir=tmp)
            if run.code != 0:
                print(run.stderr, file=sys.stderr)
            served = [(srv, r) for srv in servers for r in srv.log]
            timelines = {"govcrawl portals": sorted(r.time - run.started_at for _, r in served)}
            requested = [srv.url(r.target) for srv, r in served]
            served_mb = sum(len(res.body) for srv, r in served if r.status == 200
                            and (res := srv.site.lookup(r.path, r.query)) is not None) / 1e6
            items = [json.loads(line) for line in out.read_text("utf-8").splitlines()] if out.exists() else []
            expected_urls = {srv.url(path): (p, path) for p, srv in enumerate(servers) for (q, path) in gold if q == p}
            found = {i.get("url") for i in items} & set(expected_urls)
            missing = sorted(set(expected_urls) - found)
            rows.append(("govcrawl portals", len(requested), len(found), run))

            for srv in servers:
                srv.clear_log()
            urls_file = tmp / "urls.txt"
            urls_file.write_text("\n".join(u for u in requested if not u.endswith("/robots.txt")) + "\n", "utf-8")
            floor_cmd = [sys.executable, "-m", "scrapy", "runspider", str(Path(__file__).resolve()),
                         "-a", f"urls_file={urls_file}", *settings_args(local_settings(args.concurrency))]
            env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
            floor = run_measured(floor_cmd, cwd=tmp, env=env, log_dir=tmp)  # no scrapy.cfg here
            if floor.code != 0:
                print(floor.stderr, file=sys.stderr)
            rows.append(("plain scrapy (floor)", sum(len(s.log) for s in servers), None, floor))
            timelines["plain scrapy (floor)"] = sorted(r.time - floor.started_at for srv in servers for r in srv.log)
            rounds.append((run, floor))
            steal = ("" if run.steal is None or floor.steal is None else
                     f" (host steal {run.steal:.1f} s and {floor.steal:.1f} s)")
            print(f"round {round_no + 1}: govcrawl {run.wall:.1f} s, plain scrapy {floor.wall:.1f} s, "
                  f"{run.wall / floor.wall:.2f} × the floor{steal}", flush=True)
    finally:
        for srv in servers:
            srv.stop()

    kinds_found = Counter(report_kind(expected_urls[u][1], gold[expected_urls[u]]) for u in found)
    print(f"\nreports found by govcrawl: {len(found)}/{len(gold)} (exit code {run.code}); by kind: "
          + ", ".join(f"{k} {kinds_found[k]}/{n}" for k, n in sorted(kinds_expected.items())))
    for url in missing[:20]:
        print(f"  missing ({report_kind(expected_urls[url][1], gold[expected_urls[url]])}): {url}")
    if len(missing) > 20:
        print(f"  ... and {len(missing) - 20} more")
    if len(items) != len(found):
        print(f"items emitted: {len(items)} ({len(items) - len(found)} not in the gold)")
    print(f"served to govcrawl: {len(requested)} requests, {served_mb:.1f} MB")

    cores = os.cpu_count() or 1
    rss_label = "peak RSS MiB" if all(r.rss_sampled for *_, r in rows) else "max RSS MiB*"
    header = (f"{'crawler':22} {'pages':>6} {'reports':>9} {'wall s':>7} {'× floor':>7} {'pages/s':>8}"
              f" {'reports/s':>9} {rss_label:>12} {'peak PSS':>8} {'procs':>5} {'CPU s':>6} {'cores':>5} {'CPU %':>5}"
              f" {'server CPU s':>12}")
    print()
    print(header)
    print("-" * len(header))
    floor_wall = rows[-1][3].wall
    for name, pages, reports, m in rows:
        rep = "-" if reports is None else f"{reports}/{len(gold)}"
        rps = "-" if reports is None else f"{reports / m.wall:.1f}"
        pss = f"{m.pss_mib:.0f}" if m.pss_mib else "-"
        print(f"{name:22} {pages:>6} {rep:>9} {m.wall:>7.1f} {m.wall / floor_wall:>7.2f} {pages / m.wall:>8.1f}"
              f" {rps:>9} {m.rss_mib:>12.0f} {pss:>8} {m.processes:>5} {m.cpu:>6.1f} {m.cpu / m.wall:>5.2f}"
              f" {100 * m.cpu / m.wall / cores:>4.0f}% {m.server_cpu:>12.1f}")
    rss_note = (f"the sum over the process tree, sampled every {SAMPLE_EVERY} s" if rss_label.startswith("peak")
                else "* psutil missing: the largest single process (os.wait4)")
    print(f"\npeak RSS: {rss_note}; peak PSS: the same with shared pages split between the processes sharing"
          f" them (every {PSS_EVERY * SAMPLE_EVERY:.0f} s);\ncores: CPU s / wall s; CPU %: of this machine's {cores} cores;\nserver CPU s: the DemoServer"
          " threads of this process during the crawl (sampling the tree took "
          + ", ".join(f"{m.sampler_cpu:.1f}" for *_, m in rows) + " CPU s more)")
    print("Scrapy's elapsed_time_seconds (wall minus start-up and shutdown): "
          + ", ".join(f"{name} {m.elapsed:.1f} s" for name, _, _, m in rows if m.elapsed is not None))
    for name, _, _, m in rows:
        if m.by_process:
            print(f"{name}: each process's own peak RSS and CPU: "
                  + ", ".join(f"{label} {mib:.0f} MiB {cpu:.1f} s" for label, (mib, cpu) in m.by_process.items()))
    print("timeline (s from start): " + "; ".join(
        f"{name} first request {t[0]:.1f}, half the requests by {t[len(t) // 2]:.1f}, last {t[-1]:.1f}, exit {m.wall:.1f}"
        for name, _, _, m in rows if (t := timelines.get(name))))
    crawl, floor_run = rows[0][3], rows[-1][3]
    if crawl.by_process:
        own = next(iter(crawl.by_process.values()))[1]  # the first process seen is the crawler itself
        others = max(crawl.cpu - own, 0.0)
        bound = max(own, crawl.cpu / cores)
        print(f"\nwhere the CPU goes: the crawler process {own:.1f} s (the floor's {floor_run.cpu:.1f} s), the other "
              f"processes (extraction workers, fork server) {others:.1f} s; on {cores} cores no schedule of this work "
              f"ends before max(crawler, all / cores) = {bound:.1f} s = {bound / floor_run.wall:.2f} × the floor's wall")
    if len(rounds) > 1:
        ratios = sorted(r.wall / f.wall for r, f in rounds)
        print(f"\n{len(rounds)} rounds (the tables above are the last one's): govcrawl / floor wall, median "
              f"{statistics.median(ratios):.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f}; median walls: govcrawl "
              f"{statistics.median(r.wall for r, _ in rounds):.1f} s, floor {statistics.median(f.wall for _, f in rounds):.1f} s")
        # CPU seconds move with the machine's speed as much as walls do; their ratios per round are steadier
        cpu_ratios = sorted(r.cpu / f.cpu for r, f in rounds)
        own_ratios = sorted(next(iter(r.by_process.values()))[1] / f.cpu for r, f in rounds if r.by_process)
        print(f"CPU seconds per round, govcrawl's whole tree / the floor's: median {statistics.median(cpu_ratios):.2f}, "
              f"range {cpu_ratios[0]:.2f}-{cpu_ratios[-1]:.2f}"
              + (f"; the crawler process alone / the floor's: median {statistics.median(own_ratios):.2f}, "
                 f"range {own_ratios[0]:.2f}-{own_ratios[-1]:.2f}" if own_ratios else ""))
    if args.keep:
        print(f"\nkept {top}")
    else:
        shutil.rmtree(top, ignore_errors=True)
    return 0 if run.code == 0 and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
