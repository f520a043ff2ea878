"""Discovery on generated portals: recall = precision = 1 on every seed, every table cell right.

One real ``scrapy crawl portals`` over 24 portals of ``govcrawl.demo.world``
(each on its own 127.0.0.1 server), every family, charset, script, link
style and report placement among them.  A seed that misses a report prints
the portal's looks and the path the crawl should have taken, each step
marked requested or not.  The script-computed lists need Chromium: without
it this test fails rather than skips.
"""

from __future__ import annotations

import re
from collections import Counter
import shutil

import pytest

from conftest import diff_values
from govcrawl.demo.world import explain, generate_portal, score

pytestmark = pytest.mark.timeout(600)
SEEDS = range(24)


@pytest.fixture(scope="module")
def world_crawl(module_serve_site, run_crawl, tmp_path_factory):
    assert shutil.which("chromium"), "Chromium is needed for script-computed lists (make setup installs it)"
    worlds = [generate_portal(seed) for seed in SEEDS]
    servers = [module_serve_site(world.site) for world in worlds]
    rows = [{"name": world.name, "url": srv.url(world.start)} for world, srv in zip(worlds, servers)]
    result = run_crawl(rows, tmp_path_factory.mktemp("world_crawl"), timeout=540)
    return worlds, servers, result


def test_world_crawl_ends_cleanly(world_crawl):
    _, _, result = world_crawl
    assert result.returncode == 0, result.describe()
    assert "Traceback" not in result.stderr, result.describe()


@pytest.mark.parametrize("seed", SEEDS)
def test_every_report_found_and_nothing_else(world_crawl, seed):
    worlds, servers, result = world_crawl
    world, srv = worlds[seed], servers[seed]
    outcome = score(world, srv.base_url, result.items, diff_values)
    requested = {r.path + (f"?{r.query}" if r.query else "") for r in srv.log}
    assert (outcome.recall, outcome.precision, outcome.wrong) == (1.0, 1.0, {}), explain(outcome, requested)


def test_browser_only_for_lists_no_plain_reading_can_see(world_crawl):
    worlds, _, result = world_crawl
    rendered = Counter(re.findall(r"\[([^\]]+)\] rendering \S+ in the browser", result.stderr))
    for world in worlds:
        needs_browser = world.looks["family"] == "js_computed"
        assert (rendered[world.name] >= 1) is needs_browser, (world.looks, rendered[world.name])
        assert rendered[world.name] <= 2



