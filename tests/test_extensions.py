"""govcrawl.extensions: Scrapy's remote control is loaded only when it is turned on."""

import subprocess
import sys

import pytest
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from govcrawl.extensions import RemoteControlIfEnabled


def test_remote_control_off_by_default_and_scrapys_own_when_asked(monkeypatch):
    with pytest.raises(NotConfigured):
        RemoteControlIfEnabled.from_crawler(get_crawler(settings_dict={"REMOTE_CONTROL_ENABLED": False}))
    remote_control = pytest.importorskip("scrapy.extensions.remote_control")  # Scrapy 2.19+ only
    built = []
    monkeypatch.setattr(remote_control.RemoteControl, "from_crawler",
                        classmethod(lambda cls, crawler: built.append(crawler) or "scrapy's remote control"))
    crawler = get_crawler(settings_dict={"REMOTE_CONTROL_ENABLED": True})  # (Scrapy's defaults build one too)
    before = len(built)
    assert RemoteControlIfEnabled.from_crawler(crawler) == "scrapy's remote control"
    assert built[before:] == [crawler]


def run_python(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter (which must exit cleanly)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_a_crawler_with_the_project_settings_does_not_import_aiohttp_or_redis():
    """What every crawl's start-up pays for: the remote control's aiohttp and scrapy-redis stay unloaded."""
    code = (
        "import sys\n"
        "from scrapy.utils.project import get_project_settings\n"
        "from scrapy.crawler import AsyncCrawlerProcess\n"
        "from govcrawl.spiders.portals import PortalsSpider\n"
        "process = AsyncCrawlerProcess(get_project_settings())\n"
        "crawler = process.create_crawler(PortalsSpider)\n"
        "crawler._apply_settings()\n"
        "from scrapy.extension import ExtensionManager\n"
        "ExtensionManager.from_crawler(crawler)\n"
        "print(sorted(m for m in ('aiohttp', 'scrapy_redis', 'redis', 'playwright') if m in sys.modules))\n"
    )
    assert run_python(code).strip().splitlines()[-1] == "[]"


def test_the_collector_is_tuned_for_the_crawl_and_restored_after():
    import gc

    from scrapy.utils.test import get_crawler

    from govcrawl.extensions import LeanGarbageCollection

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    extension = LeanGarbageCollection.from_crawler(get_crawler(settings_dict={"GOVCRAWL_GC_THRESHOLD": 5000}))
    extension.spider_opened()
    try:
        assert gc.get_threshold() == (5000, 20, 20)
        assert gc.get_freeze_count() > frozen  # the start-up's objects are no longer walked
    finally:
        extension.spider_closed()
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen


def test_after_a_crawl_the_process_exit_does_not_walk_its_objects():
    """Objects are frozen at exit, after the handlers registered before the crawl closed (feeds, logs)."""
    code = (
        "import atexit, gc\n"
        "from scrapy.utils.test import get_crawler\n"
        "from govcrawl.extensions import LeanGarbageCollection\n"
        "atexit.register(lambda: print('at exit', gc.get_freeze_count() > 0))\n"
        "extension = LeanGarbageCollection.from_crawler(get_crawler())\n"
        "extension.spider_opened(); extension.spider_closed()\n"
        "print('after the crawl', gc.get_freeze_count() > 0)\n"
    )
    assert run_python(code).split("\n")[-3:] == ["after the crawl False", "at exit True", ""]


def test_the_collector_tuning_can_be_turned_off():
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from govcrawl.extensions import LeanGarbageCollection

    with pytest.raises(NotConfigured):
        LeanGarbageCollection.from_crawler(get_crawler(settings_dict={"GOVCRAWL_GC_THRESHOLD": 0}))


def test_extraction_workers_start_when_the_crawler_is_built_and_the_pipeline_uses_them():
    from govcrawl.extensions import EarlyExtractionWorkers
    from govcrawl.extract.pool import crawler_pool
    from govcrawl.pipelines.extract import ExtractPipeline

    crawler = get_crawler(settings_dict={"ITEM_PIPELINES": {"govcrawl.pipelines.extract.ExtractPipeline": 100},
                                         "GOVCRAWL_EXTRACT_WORKERS": 1})
    EarlyExtractionWorkers.from_crawler(crawler)
    pool = crawler_pool(crawler)
    try:
        assert pool.running  # before any spider opened
        assert ExtractPipeline.from_crawler(crawler).pool is pool  # the same workers, not a second set
    finally:
        crawler.signals.send_catch_log(signals.engine_stopped)  # the crawler owns the pool: it closes it
    assert not pool.running


@pytest.mark.parametrize("settings", [{"ITEM_PIPELINES": {}},
                                      {"ITEM_PIPELINES": {"govcrawl.pipelines.extract.ExtractPipeline": 100},
                                       "GOVCRAWL_EXTRACT_WORKERS": 0}])
def test_no_early_workers_without_extraction_or_with_workers_off(settings):
    from govcrawl.extensions import EarlyExtractionWorkers
    from govcrawl.extract.pool import crawler_pool

    crawler = get_crawler(settings_dict=settings)
    with pytest.raises(NotConfigured):
        EarlyExtractionWorkers.from_crawler(crawler)
    assert not crawler_pool(crawler).running


def test_the_crawl_keeps_its_stats_in_scrapys_collector_without_the_attribute_shim():
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.project import get_project_settings

    from govcrawl.stats import LeanStatsCollector

    assert get_project_settings()["STATS_CLASS"] == "govcrawl.stats.LeanStatsCollector"
    stats = LeanStatsCollector(get_crawler())
    assert isinstance(stats, MemoryStatsCollector)
    stats.open_spider()
    stats.inc_value("a")
    stats.inc_value("a", 2, spider=None)  # the old signature still works
    stats.max_value("m", 3)
    stats.max_value("m", 1)
    stats.min_value("n", 5)
    stats.set_value("s", "x")
    assert stats.get_stats() == {"a": 3, "m": 3, "n": 5, "s": "x"}
    assert stats.get_value("missing", 7) == 7
    # plain attribute reads: no per-call wrapper in between
    assert stats.inc_value.__func__ is MemoryStatsCollector.inc_value
