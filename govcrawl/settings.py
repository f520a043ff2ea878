"""Scrapy settings for govcrawl: polite defaults for Chinese government portals.

govcrawl's own knobs (override with ``-s NAME=VALUE``; documented in README):

  GOVCRAWL_MAX_DEPTH        4       how many links away from a portal's start URL discovery
                                    may go (pagination of a list does not count as depth)
  GOVCRAWL_CONTACT_URL      https://github.com/govcrawl/govcrawl
                                    where site operators can reach us; goes into USER_AGENT
  GOVCRAWL_CHROMIUM (env)   $GOVCRAWL_CHROMIUM or `which chromium`
                                    browser for JavaScript-only list pages; none → those
                                    pages are skipped with one WARNING and counted in stats
  GOVCRAWL_RENDER_RETRY     True    when a start page with <script> is too bare to hold links,
                                    fetch it once more through the browser
  GOVCRAWL_MAX_RENDERS_PER_PORTAL 20  browser renders per portal at most (report lists whose
                                    entries a script fills; see README "When the browser is used")
  GOVCRAWL_MAX_LIST_PAGES   200     pagination cap per list (pages, not records)
  GOVCRAWL_OUTPUT_DIR       output  where the default JSON Lines feed goes
                                    (output/<spider>-<time>.jsonl); -o/-O replace it
  GOVCRAWL_RETRY_BACKOFF_BASE 1.0   first retry waits this many seconds, then doubles …
  GOVCRAWL_RETRY_BACKOFF_MAX  60.0  … up to this (Retry-After is honoured up to it too)
  GOVCRAWL_ARCHIVE          1       raw archive of every report page and attachment (WARC,
                                    govcrawl/archive.py); 0 (setting or env) turns it off
  GOVCRAWL_ARCHIVE_DIR      <GOVCRAWL_OUTPUT_DIR>/archive (setting or env)
  GOVCRAWL_ARCHIVE_MAX_BYTES 1 GiB  a new .warc.gz starts once a file is this big

Spider arguments: ``-a portals=FILE`` (CSV name,url[,region,level,render]) or
``-a urls=URL[,URL…]`` replace the built-in ``govcrawl/portals.csv``.
"""

import os
import shutil

# Imported here, in the first project module a crawl loads, rather than when the engine loads the
# download handler: Scrapy 2.19's contextfactory builds its deprecated class aliases with
# inspect.stack(), which reads the source of every frame on the stack and maps every loaded module
# to its file: from inside the engine's construction (a deeper stack, more modules) that costs more.
# Importing it here brings the crawl's first request 0.08-0.3 s earlier (8 alternating runs of the
# benchmark crawl).
import scrapy.core.downloader.contextfactory  # noqa: F401

from scrapy.settings import default_settings as _scrapy_defaults

BOT_NAME = "govcrawl"

SPIDER_MODULES = ["govcrawl.spiders"]
NEWSPIDER_MODULE = "govcrawl.spiders"

# --- govcrawl knobs -------------------------------------------------------
GOVCRAWL_MAX_DEPTH = 4
GOVCRAWL_CONTACT_URL = "https://github.com/govcrawl/govcrawl"
GOVCRAWL_RENDER_RETRY = True
GOVCRAWL_MAX_RENDERS_PER_PORTAL = 20  # browser renders per portal at most; then script-filled lists are skipped
GOVCRAWL_MAX_LIST_PAGES = 200
GOVCRAWL_OUTPUT_DIR = "output"
GOVCRAWL_RETRY_BACKOFF_BASE = 1.0
GOVCRAWL_RETRY_BACKOFF_MAX = 60.0
GOVCRAWL_ARCHIVE = os.environ.get("GOVCRAWL_ARCHIVE", "1")
GOVCRAWL_ARCHIVE_DIR = os.environ.get("GOVCRAWL_ARCHIVE_DIR", "")  # empty: <GOVCRAWL_OUTPUT_DIR>/archive
GOVCRAWL_ARCHIVE_MAX_BYTES = 1024 ** 3
GOVCRAWL_CHROMIUM = os.environ.get("GOVCRAWL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

# The portals spider rebuilds it from a -s GOVCRAWL_CONTACT_URL unless USER_AGENT itself is set with -s.
USER_AGENT = f"govcrawl/0.1 (+{GOVCRAWL_CONTACT_URL})"

# --- politeness -----------------------------------------------------------
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
# Items (and requests) of one callback handled at once. Scrapy starts this many asyncio tasks for
# every callback, however little it yields (100 by default: a third of the crawl's CPU on a fast
# local web); ours yield one report, or links (handled synchronously), and items of different
# responses are handled at the same time anyway; the extraction pool's own bound (6 documents
# per worker) is the real limit. 8 tasks a callback still cost 4% of the crawler's CPU.
CONCURRENT_ITEMS = 2
# Scrapy reads the source of each callback (inspect + ast, ~40 ms for this spider's) the first
# time it runs, to warn of a generator that returns a value. tests/test_spider_portals.py runs
# that same check over every callback of ours, so crawls do not pay for it.
WARN_ON_GENERATOR_RETURN_VALUE = False
# Scanned annual-report PDFs run to tens of MB; anything larger is not a report.
DOWNLOAD_MAXSIZE = 60 * 1024 * 1024
DOWNLOAD_WARNSIZE = 20 * 1024 * 1024
HTTPCACHE_ENABLED = False
# No control servers in a crawl: Scrapy's telnet console, and its remote-control HTTP server
# (on by default since 2.19: runs Python code posted to it, keeps a token file under
# ~/.local/state/scrapy, and costs the crawl's start-up an aiohttp import). A crawl is watched
# through its log, stats and ledger; turn either on with -s ...=True to debug a live crawl.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
# Discovery depth is counted by the spider (GOVCRAWL_MAX_DEPTH) so pagination is free.
DEPTH_LIMIT = 0

# --- retries: 412 and 5xx gateways are how overloaded gov sites say "later" ---
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429, 412]
# The spider's errback reports every final failure once per portal; Scrapy's ERROR would say it twice.
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"

DOWNLOADER_MIDDLEWARES = {
    # First of all: nothing leaves the portal's hosts, whatever redirect or refresh asked for it
    # (before robots.txt, so a foreign host's robots.txt is not fetched either).
    "govcrawl.middlewares.PortalScopeMiddleware": 50,
    "govcrawl.middlewares.ListBudgetMiddleware": 60,
    # Same robots.txt rules; an unreachable robots.txt is one WARNING line instead of a traceback.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "govcrawl.middlewares.RobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "govcrawl.middlewares.BackoffRetryMiddleware": 550,
    # Scrapy's own meta-refresh follower would loop and count nothing; ours follows once.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "govcrawl.middlewares.MetaRefreshStubMiddleware": 580,
    # Above retry (sees responses first): a JS challenge answered with 412 is not retried.
    "govcrawl.middlewares.ChallengePageMiddleware": 590,
}

EXTENSIONS = {
    # A SIGTERM/Ctrl-C stop waits GOVCRAWL_STOP_GRACE seconds for downloads in flight, not their whole timeout.
    "govcrawl.extensions.FastStop": 100,
    # Scrapy's remote control, imported only when REMOTE_CONTROL_ENABLED is on (its module imports aiohttp).
    "govcrawl.extensions.RemoteControlIfEnabled": 0,
    # The start-up's objects frozen and the cyclic collector's thresholds raised for the crawl.
    "govcrawl.extensions.LeanGarbageCollection": 0,
    # The extraction workers start while the engine is built, on the core the start-up leaves idle.
    "govcrawl.extensions.EarlyExtractionWorkers": 0,
}
# ... and so out of Scrapy's base list: Scrapy imports every listed extension's module, even one set to None.
EXTENSIONS_BASE = {path: order for path, order in _scrapy_defaults.EXTENSIONS_BASE.items()
                   if path != "scrapy.extensions.remote_control.RemoteControl"}
# Scrapy's in-memory stats without its per-attribute deprecation shim (govcrawl/stats.py).
STATS_CLASS = "govcrawl.stats.LeanStatsCollector"
GOVCRAWL_STOP_GRACE = 3.0
# Entry and list pages fail fast; reports and attachments get DOWNLOAD_TIMEOUT and RETRY_TIMES.
GOVCRAWL_PAGE_TIMEOUT = 15
GOVCRAWL_PAGE_RETRY_TIMES = 1
# List budgets and URL-space traps (see README "Faults"): pages in a row without a new report
# before a list is abandoned, and list pages of one URL shape (numbers masked) per portal.
GOVCRAWL_LIST_BARREN_PAGES = 5
GOVCRAWL_MAX_PAGES_PER_URL_SHAPE = 30
# Anti-bot challenges: plain retries with back-off, then one patient browser attempt.
GOVCRAWL_CHALLENGE_RETRIES = 2
GOVCRAWL_CHALLENGE_TIMEOUT = 45

# Extraction runs in worker processes (govcrawl/extract/pool.py): one per core by default, 0 = in the
# crawler's thread; a document gets GOVCRAWL_EXTRACT_TIMEOUT seconds; workers are replaced every
# GOVCRAWL_EXTRACT_MAX_TASKS documents (one task each: its archive records and its extraction).
GOVCRAWL_EXTRACT_WORKERS = None
GOVCRAWL_EXTRACT_TIMEOUT = 300  # above OCR's own cap per document (GOVCRAWL_OCR_MAX_SECONDS, 120)
GOVCRAWL_EXTRACT_MAX_TASKS = 1000
# Workers run this many nice steps below the crawler: parsing takes the CPU downloads leave (0 = same priority).
GOVCRAWL_EXTRACT_NICE = 5
GOVCRAWL_EXTRACT_IN_FLIGHT = 0  # documents handed to the workers at once; 0 = 6 per worker (≤ 16 MiB each)

# Hosts that fail the TLS handshake get one more try with TLS 1.0 and old ciphers (govcrawl/tls.py):
# the download handler (govcrawl/handlers.py) builds its TLS contexts with govcrawl.tls, not through
# Scrapy's DOWNLOADER_CLIENTCONTEXTFACTORY, deprecated since Scrapy 2.19 (a factory set there is used).

# --- items ----------------------------------------------------------------
ITEM_PIPELINES = {
    # Raw archive first: every downloaded document is kept, also those today's extractor rejects.
    "govcrawl.pipelines.archive.ArchivePipeline": 50,
    "govcrawl.pipelines.extract.ExtractPipeline": 100,
    "govcrawl.pipelines.validate.ValidatePipeline": 200,
    "govcrawl.pipelines.dedupe.DedupePipeline": 300,
    # 450: slot for the incremental-state pipeline (skips reports unchanged since the last run).
    "govcrawl.pipelines.provenance.ProvenancePipeline": 500,
}

# The default feed (output/<spider>-<time>.jsonl) is added by the portals spider only when
# FEEDS is empty, so -o/-O replace it instead of writing a second file.
FEEDS = {}
FEED_EXPORT_ENCODING = "utf-8"

# --- JavaScript-only list pages (scrapy-playwright, Debian's Chromium) ------
# Every request goes through this handler, but only requests with meta["playwright"]=True
# use the browser; Playwright's driver and Chromium start at the first such request, not before
# (govcrawl/handlers.py: most crawls never render a page).
DOWNLOAD_HANDLERS = {
    "http": "govcrawl.handlers.LazyPlaywrightDownloadHandler",
    "https": "govcrawl.handlers.LazyPlaywrightDownloadHandler",
}
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ],
}
if GOVCRAWL_CHROMIUM:
    PLAYWRIGHT_LAUNCH_OPTIONS["executable_path"] = GOVCRAWL_CHROMIUM
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 60 * 1000
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
# The browser's navigations and sub-requests stay on the portals' hosts too.
PLAYWRIGHT_ABORT_REQUEST = "govcrawl.browser.abort_offsite_request"

# --- crawl state and Redis scale-out (govcrawl.state) ---
# Incremental recrawls (govcrawl/state.py, docs/recrawl-and-scale.md): report pages and
# attachments already in the crawl state are not requested again for
# GOVCRAWL_RECHECK_AFTER seconds, then only conditionally (If-None-Match /
# If-Modified-Since, a 304 is dropped); only new and changed reports are emitted, with
# "change": "new" | "updated".  `-a full=1` re-fetches and re-emits everything
# ("change": "unchanged" for the rest).  GOVCRAWL_STATE_ENABLED = False turns it all off.
GOVCRAWL_STATE_ENABLED = True
GOVCRAWL_STATE_PATH = "output/crawl-state.sqlite3"  # GOVCRAWL_STATE_URI (sqlite:///… or redis://…) wins
GOVCRAWL_RECHECK_AFTER = 7 * 24 * 3600  # seconds; 0 = always send a conditional request
# Scale-out (govcrawl/redis_scale.py): set GOVCRAWL_REDIS_URL (here, with -s, or in the
# environment), e.g. redis://10.0.0.5:6379/0, and every worker shares one frontier, one
# seen-set and one crawl state in that Redis.
GOVCRAWL_REDIS_URL = os.environ.get("GOVCRAWL_REDIS_URL", "")
GOVCRAWL_REDIS_IDLE_SECONDS = 10  # a worker closes once the shared queue stayed empty and all workers idle this long
ADDONS = globals().get("ADDONS", {})
ADDONS["govcrawl.scale_addon.RedisScaleAddon"] = 0
SPIDER_MIDDLEWARES = globals().get("SPIDER_MIDDLEWARES", {})
SPIDER_MIDDLEWARES["govcrawl.middlewares_state.CrawlStateSpiderMiddleware"] = 700
DOWNLOADER_MIDDLEWARES["govcrawl.middlewares_state.CrawlStateMiddleware"] = 585
ITEM_PIPELINES["govcrawl.pipelines.state.CrawlStatePipeline"] = 450
# Report lifecycle (govcrawl/lifecycle.py): previous_sha256 on updated reports, one
# change="removed" line for a report gone (404/410, redirected to a list) on two crawls in a row.
DOWNLOADER_MIDDLEWARES["govcrawl.lifecycle.LifecycleDownloaderMiddleware"] = 610
SPIDER_MIDDLEWARES["govcrawl.lifecycle.LifecycleSpiderMiddleware"] = 690
ITEM_PIPELINES["govcrawl.lifecycle.LifecyclePipeline"] = 460
