"""The add-on that puts a crawl on the shared Redis frontier when ``GOVCRAWL_REDIS_URL`` is set.

Registered in ``settings.ADDONS``, so Scrapy loads it for every crawl: it is kept
apart from ``govcrawl.redis_scale`` (the scheduler and dupefilter, built on
scrapy-redis), which a crawl without Redis never imports (scrapy-redis and
redis-py cost ~0.1 s of every start-up).
"""

from __future__ import annotations

import os
from typing import Any

KEY_PREFIX = "govcrawl:%(spider)s"


def redis_url_from(settings: Any) -> str | None:
    return settings.get("GOVCRAWL_REDIS_URL") or os.environ.get("GOVCRAWL_REDIS_URL") or None


class RedisScaleAddon:
    """Turns on the Redis scheduler and dupefilter when GOVCRAWL_REDIS_URL is set."""

    def update_settings(self, settings: Any) -> None:
        url = redis_url_from(settings)
        if not url:
            return
        # "project" priority: beats settings.py defaults, loses to -s on the command line.
        for name, value in {
            "GOVCRAWL_REDIS_URL": url,
            "REDIS_URL": url,
            "SCHEDULER": "govcrawl.redis_scale.RedisScheduler",
            "DUPEFILTER_CLASS": "govcrawl.redis_scale.RedisDupeFilter",
            "SCHEDULER_QUEUE_KEY": KEY_PREFIX + ":requests",
            "SCHEDULER_DUPEFILTER_KEY": KEY_PREFIX + ":dupefilter",
            "SCHEDULER_PERSIST": True,
        }.items():
            settings.set(name, value, priority="project")
