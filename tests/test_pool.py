"""The extraction worker pool: real worker processes, a document that kills its worker, one that hangs."""

import asyncio
import random

from govcrawl.demo import render
from govcrawl.extract import extract_document
from govcrawl.extract.pool import ExtractorPool

REPORT = render.render_report_html(render.random_tables(random.Random(4), "2021"), fmt="2021",
                                   title="某市2023年政府信息公开工作年度报告").encode()


def run(coroutine):
    return asyncio.run(coroutine)


def test_workers_give_the_same_item_as_in_process():
    pool = ExtractorPool(2)
    try:
        item = run(pool.extract(REPORT, "http://x.gov.cn/a.html", {b"Content-Type": [b"text/html; charset=utf-8"]},
                                portal="某市"))
    finally:
        pool.close()
    expected = extract_document(REPORT, "http://x.gov.cn/a.html", {"Content-Type": "text/html; charset=utf-8"},
                                portal="某市")
    assert item == expected


def test_a_document_that_kills_its_worker_costs_that_document_only():
    pool = ExtractorPool(2, function="pool_faults:crashes_or_hangs")

    async def batch():
        return await asyncio.gather(*(pool.extract(body, f"http://x.gov.cn/{n}.html")
                                      for n, body in enumerate([REPORT, b"CRASH", REPORT, REPORT])))

    try:
        items = run(batch())
    finally:
        pool.close()
    assert [bool(item["tables"]) for item in items] == [True, False, True, True]
    assert "worker process died" in items[1]["warnings"][0]
    assert items[1]["provenance"]["source_url"] == "http://x.gov.cn/1.html"


def test_a_document_that_hangs_is_stopped_and_the_rest_go_on():
    pool = ExtractorPool(2, timeout=3, function="pool_faults:crashes_or_hangs")

    async def batch():
        return await asyncio.gather(pool.extract(b"HANG", "http://x.gov.cn/h.html"),
                                    pool.extract(REPORT, "http://x.gov.cn/r.html"))

    try:
        hung, fine = run(batch())
        after = run(pool.extract(REPORT, "http://x.gov.cn/later.html"))
    finally:
        pool.close()
    assert hung["tables"] == {} and "longer than 3 s" in hung["warnings"][0]
    assert fine["tables"] and after["tables"]


def test_workers_are_recycled_after_max_tasks():
    pool = ExtractorPool(1, max_tasks_per_child=2, function="pool_faults:worker_pid")

    async def one_by_one():
        return [await pool.extract(b"", f"http://x/{n}") for n in range(5)]

    try:
        pids = [item["pid"] for item in run(one_by_one())]
    finally:
        pool.close()
    assert len(set(pids)) == 3  # 2 + 2 + 1 documents


def test_other_work_runs_in_a_worker_and_survives_a_crash_of_another_document():
    """``pool.run`` (the archive's record building) goes to a worker; when another document kills the
    workers under it, it is done in the calling process instead of being lost."""
    import os

    pool = ExtractorPool(2, function="pool_faults:crashes_or_hangs")

    async def batch():
        await asyncio.gather(*(pool.run("pool_faults:slow_pid", delay=0.2) for _ in range(2)))  # workers up
        slow = asyncio.ensure_future(pool.run("pool_faults:slow_pid", delay=2.0))
        await asyncio.sleep(0.5)  # the slow task is in a worker when the crash comes
        crashed = await pool.extract(b"CRASH", "http://x.gov.cn/c.html")
        return await slow, crashed, await pool.run("pool_faults:slow_pid", delay=0)

    try:
        during, crashed, after = run(batch())
    finally:
        pool.close()
    assert "worker process died" in crashed["warnings"][0]
    assert during == os.getpid()  # its worker was killed with the others: done here
    assert after != os.getpid()   # the next one goes to the new workers
