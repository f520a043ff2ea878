"""The seeded fake-web generator (govcrawl.demo.world): deterministic, varied, with consistent gold."""

from collections import Counter

from govcrawl.demo.world import AXES, NOISE, PLACEMENTS, generate_portal, looks_for
from govcrawl.extract.checks import run_checks

CRAWL_SEEDS = range(24)  # the seeds tests/test_crawl_world.py crawls


def test_same_seed_same_web():
    a, b = generate_portal(5), generate_portal(5)
    assert a.site.paths() == b.site.paths()
    assert all(a.site.resources[p].body == b.site.resources[p].body for p in a.site.paths())
    assert a.expected == b.expected


def test_crawled_seeds_cover_every_look_and_placement():
    seen = {axis: Counter() for axis in AXES}
    placements = Counter()
    for seed in CRAWL_SEEDS:
        for axis, value in looks_for(seed).items():
            seen[axis][value] += 1
    for seed in CRAWL_SEEDS[:8]:
        placements.update(generate_portal(seed).placements.values())
    for axis, values in AXES.items():
        assert set(seen[axis]) == set(values), f"{axis}: {set(values) - set(seen[axis])} never drawn"
    assert set(placements) == set(PLACEMENTS)


def test_gold_is_consistent_and_points_at_served_documents():
    world = generate_portal(3)
    assert 5 <= len(world.expected) <= 8
    for path, gold in world.expected.items():
        assert world.site.lookup(*(path.split("?", 1) + [""])[:2]) is not None, path
        assert world.site.lookup(*(gold["source"].split("?", 1) + [""])[:2]) is not None, gold["source"]
        assert gold["format"] == ("2021" if gold["year"] >= 2021 else "2019")
        assert all(check["ok"] is not False for check in run_checks(gold["tables"]))
        assert world.path_to(path)[0] == world.start, f"{path} cannot be reached from the start page"
    assert len(world.noise) == len(NOISE)


def test_traditional_ruby_portal_keeps_scripts_and_json_intact():
    seed = next(s for s in range(40) if looks_for(s)["script"] == "ruby" and looks_for(s)["family"] == "gkmlpt")
    world = generate_portal(seed)
    codec = "utf-8" if world.looks["charset"] == "utf-8" else "gbk"
    catalogue = world.site.lookup("/gkmlpt/index").body.decode(codec)
    assert "<ruby>" in catalogue  # the page's text carries pinyin …
    script = catalogue.split("<script>", 1)[1].split("</script>", 1)[0]
    assert "<ruby>" not in script  # … its script does not, and still names the column in Traditional
    assert "年報" in script or "年度報告" in script
