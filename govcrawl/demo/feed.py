"""Generated feeds: report items as the crawl writes them, with seeded random tables.

For the export's tests, its benchmark and the README picture: a world of
portals, each with a people's government and some departments and townships
reporting over several years (both templates), published around the
条例第五十条 deadlines, so every part of the export has something to show.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

from govcrawl.demo.render import random_tables
from govcrawl.extract.template import APPLICANT_COLUMNS

SUFFIXES = ("人民政府", "教育局", "财政局", "卫生健康委员会", "人民政府办公室", "城关镇人民政府")


def report_item(*, portal: str, agency: str, year: int, tables: dict, url: str,
                published_date: str | None, fetched_at: str, change: str = "new") -> dict:
    """One feed line's item for the given report (provenance filled like a crawl would)."""
    fmt = "2021" if year >= 2021 else "2019"
    body = f"{url}|{fetched_at}|{tables}".encode("utf-8")
    return {
        "url": url, "portal": portal, "title": f"{agency}{year}年政府信息公开工作年度报告",
        "agency": agency, "year": year, "format": fmt, "change": change,
        "provenance": {
            "index_no": None, "publisher": agency, "doc_no": None, "category": None,
            "created_date": published_date, "published_date": published_date,
            "source_url": url, "referer": url.rsplit("/", 1)[0] + "/index.html",
            "fetched_at": fetched_at, "http_last_modified": None, "etag": None,
            "content_sha256": hashlib.sha256(body).hexdigest(), "encoding": "utf-8",
            "reader": "html", "archive": None,
        },
        "tables": tables,
        "checks": [{"rule": "applications_balance", "ok": True, "detail": "7 comparisons hold"}],
        "warnings": [],
    }


def removal_item(item: dict, *, fetched_at: str, reason: str = "removed: HTTP 404") -> dict:
    """The line a recrawl writes when ``item``'s page is gone (report contract, removal events)."""
    return {
        **{k: item[k] for k in ("url", "portal", "title", "agency", "year", "format")},
        "change": "removed",
        "provenance": {**item["provenance"], "fetched_at": fetched_at},
        "tables": {}, "checks": [], "warnings": [reason],
    }


def chain_carry_over(previous: dict, tables: dict) -> None:
    """Make ``tables``' 上年结转 equal ``previous``' 结转下年度, keeping the year's own balance."""
    last, apps = previous["applications"], tables["applications"]
    for col in APPLICANT_COLUMNS[:6]:
        over = last["carried_forward"][col] or 0
        handled = apps["total_handled"][col] or 0
        forward = max(apps["carried_forward"][col] or 0, over - handled)
        apps["carried_over"][col] = over
        apps["carried_forward"][col] = forward
        apps["new_requests"][col] = handled + forward - over
    for key in ("carried_over", "carried_forward", "new_requests"):
        apps[key]["total"] = sum(apps[key][c] for c in APPLICANT_COLUMNS[:6])


def generate_feed(n_reports: int, *, seed: int = 0, n_portals: int = 5, first_year: int = 2019,
                  last_year: int = 2024, fetched_at: str = "2026-03-01T00:00:00Z",
                  blanks: bool = True) -> list[dict]:
    """``n_reports`` items over ``n_portals`` portals; some publication dates miss the deadline."""
    rng = random.Random(seed)
    years = list(range(first_year, last_year + 1))
    items = []
    previous: dict[str, dict] = {}
    for i in range(n_reports):
        p = i % n_portals
        slot = i // n_portals
        agency_no, year = divmod(slot, len(years))
        year = years[year]
        city = f"示例{p + 1}市"
        suffix = SUFFIXES[agency_no % len(SUFFIXES)]
        agency = city + suffix if agency_no < len(SUFFIXES) else f"{city}第{agency_no}{suffix}"
        fmt = "2021" if year >= 2021 else "2019"
        published = date(year + 1, 1, 10) + timedelta(days=rng.choice([0, 0, 5, 5, 10, 15, 20, 30, 60, 120]))
        tables = random_tables(rng, fmt, blanks=blanks)
        # Most bodies carry last year's open requests over correctly; about one in ten does not.
        if agency in previous and rng.random() < 0.9:
            chain_carry_over(previous[agency], tables)
        previous[agency] = tables
        url = f"https://www.example{p + 1}.gov.cn/zfxxgk/ndbg/{year + 1}/t{year + 1}_{i:06d}.html"
        items.append(report_item(portal=f"示例{p + 1}市", agency=agency, year=year,
                                 tables=tables, url=url,
                                 published_date=published.isoformat(), fetched_at=fetched_at))
    return items


def revised(tables: dict, rng: random.Random) -> dict:
    """A corrected edition of ``tables``: new sections 二 and 四, and more requests granted to natural
    persons in 三 (received, granted and handled grow together, so the template's checks and the
    carry-overs to and from the neighbouring years still hold)."""
    fmt = "2021" if "issued" in tables["active_disclosure"]["rules"] else "2019"
    fresh = random_tables(rng, fmt)
    apps = {key: dict(row) for key, row in tables["applications"].items()}
    more = rng.randint(1, 9)
    for key in ("new_requests", "granted", "total_handled"):
        for column in ("natural_person", "total"):
            apps[key][column] = (apps[key][column] or 0) + more
    return {**fresh, "applications": apps}


def two_runs(n_reports: int = 60, *, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """Two overlapping crawl runs, as an export meets them.

    Run 1 has ``n_reports`` reports.  Run 2, a month later, re-emits every
    third of them with revised figures (``updated``), removes every seventh
    (``removed: HTTP 404``), and adds one copy of the first report's agency
    and year at another url (a duplicate claim).
    """
    rng = random.Random(seed + 1)
    first = generate_feed(n_reports, seed=seed, fetched_at="2026-03-01T02:00:00Z")
    second = []
    for i, item in enumerate(first):
        if i % 7 == 6:
            second.append(removal_item(item, fetched_at="2026-04-01T02:00:00Z"))
        elif i % 3 == 0:
            tables = revised(item["tables"], rng)
            updated = report_item(portal=item["portal"], agency=item["agency"], year=item["year"], tables=tables,
                                  url=item["url"], published_date=item["provenance"]["published_date"],
                                  fetched_at="2026-04-01T02:00:00Z", change="updated")
            updated["previous_sha256"] = item["provenance"]["content_sha256"]
            second.append(updated)
    again = first[0]
    copy = report_item(portal=again["portal"], agency=again["agency"], year=again["year"],
                       tables=random_tables(rng, again["format"]), url=again["url"] + "?copy=2",
                       published_date=again["provenance"]["published_date"], fetched_at="2026-04-01T02:00:00Z")
    # The copy is also a typo'd edition: its 总计 of new requests is 3 more than its columns add up to.
    row = copy["tables"]["applications"]["new_requests"]
    row["total"] = (row["total"] or 0) + 3
    copy["checks"] = [{"rule": "applications_row_totals", "ok": False,
                       "detail": f"new_requests: total {row['total']} != sum {row['total'] - 3}"}]
    second.append(copy)
    return first, second


def main(argv: list[str] | None = None) -> int:
    """``python -m govcrawl.demo.feed DIR [--reports N]``: write two_runs() as DIR/run-1.jsonl and run-2.jsonl."""
    import argparse
    import json
    import os

    parser = argparse.ArgumentParser(prog="python -m govcrawl.demo.feed", description=main.__doc__)
    parser.add_argument("directory")
    parser.add_argument("--reports", type=int, default=120)
    args = parser.parse_args(argv)
    os.makedirs(args.directory, exist_ok=True)
    for n, items in enumerate(two_runs(args.reports), 1):
        path = os.path.join(args.directory, f"run-{n}.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
        print(f"{path}: {len(items)} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
