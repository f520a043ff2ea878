"""The extraction worker pool: real worker processes, a document that kills its worker, one that hangs."""

import asyncio
import random

import psutil

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


def test_a_crash_costs_only_the_work_of_its_own_worker():
    """A document that kills its worker leaves the other worker's task alone, and the tasks queued behind
    it on the dead worker go to a new one."""
    import os

    pool = ExtractorPool(2, max_pending=6, function="pool_faults:crashes_or_hangs")

    async def batch():
        await asyncio.gather(*(pool.run("pool_faults:slow_pid", delay=0.2) for _ in range(2)))  # workers up
        slow = asyncio.ensure_future(pool.run("pool_faults:slow_pid", delay=2.0))
        await asyncio.sleep(0.5)  # the slow task is in a worker when the crash comes
        crashed, *queued = await asyncio.gather(pool.extract(b"CRASH", "http://x.gov.cn/c.html"),
                                                *(pool.run("pool_faults:slow_pid", delay=0) for _ in range(2)))
        return await slow, crashed, queued

    try:
        during, crashed, queued = run(batch())
    finally:
        pool.close()
    assert "worker process died" in crashed["warnings"][0]
    assert during != os.getpid()  # finished in its worker, which the crash did not touch
    assert all(pid != os.getpid() for pid in queued)  # done by workers, not by the crawler


def test_other_work_whose_worker_dies_is_done_here():
    """``pool.run`` (the archive's record building) is never lost: if its worker dies, it runs in the caller."""
    import os

    pool = ExtractorPool(1)
    try:
        assert run(pool.run("pool_faults:crash_unless_in", pid=os.getpid())) == os.getpid()
        assert run(pool.run("pool_faults:slow_pid", delay=0)) != os.getpid()  # a new worker took over
    finally:
        pool.close()


def test_workers_exit_when_the_crawler_is_killed(tmp_path):
    """SIGKILL (or the OOM killer) gives the crawler no chance to close its pool: the workers, children
    of the fork server and not of the crawler, must still go, and the fork server with them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    owner = (
        "import asyncio, os, sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from govcrawl.extract.pool import ExtractorPool\n"
        "pool = ExtractorPool(2, function='pool_faults:worker_pid')\n"
        "async def up():\n"
        "    return await asyncio.gather(*(pool.run('pool_faults:slow_pid', delay=0.3) for _ in range(2)))\n"
        "print(' '.join(map(str, sorted(set(asyncio.run(up()))))), flush=True)\n"
        "time.sleep(600)\n"
    )
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    process = subprocess.Popen([sys.executable, "-c", owner, tests_dir], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in process.stdout.readline().split()]
        assert len(workers) == 2 and process.pid not in workers
        fork_server = {psutil.Process(pid).ppid() for pid in workers}
        assert all(_running(pid) for pid in workers)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 10
        alive = lambda: [pid for pid in workers + sorted(fork_server) if _running(pid)]  # noqa: E731
        while alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert alive() == []
    finally:
        if process.poll() is None:
            process.kill()


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # a zombie has ended
    except psutil.NoSuchProcess:
        return False


def test_workers_run_below_the_crawlers_priority():
    import os

    here = os.nice(0)
    for nice, expected in ((7, min(19, here + 7)), (0, here)):
        pool = ExtractorPool(1, nice=nice)
        try:
            assert run(pool.run("pool_faults:niceness")) == expected
        finally:
            pool.close()


def test_workers_start_with_the_readers_tables_built():
    """The fork server builds them once (``govcrawl.extract.warm``): no worker spends its first document on them."""
    pool = ExtractorPool(1)
    try:
        assert run(pool.run("pool_faults:tables_built")) == [1, 1, 1]
    finally:
        pool.close()


def test_workers_are_recycled_while_documents_wait():
    """A worker retires with documents waiting for a place: a new one takes them, none is lost."""
    pool = ExtractorPool(2, max_tasks_per_child=3, function="pool_faults:worker_pid")

    async def many():
        return await asyncio.gather(*(pool.extract(b"", f"http://x/{n}") for n in range(20)))

    try:
        items = run(many())
    finally:
        pool.close()
    assert [item["url"] for item in items] == [f"http://x/{n}" for n in range(20)]
    assert len({item["pid"] for item in items}) >= 20 // 3


def test_a_worker_holds_several_documents_but_not_too_many_bytes():
    """Documents wait at a worker (6 by default), so it never waits for the crawler between two; but a worker
    with 16 MiB sent and unanswered gets no more until it answers, unless it has nothing."""
    from govcrawl.extract.pool import DEFAULT_DEPTH, QUEUED_BYTES

    pool = ExtractorPool(1, function="pool_faults:body_size_after_a_while")
    big = b"%PDF-" + b"x" * (QUEUED_BYTES // 2 - 1000)
    huge = b"%PDF-" + b"x" * (QUEUED_BYTES + 1000)

    async def scenario():
        await pool.extract(b"", "http://x/warm")  # the worker is up
        seen = []
        for bodies in ([b"small"] * 10, [big] * 4, [huge, huge]):
            futures = [asyncio.ensure_future(pool.extract(body, f"http://x/{n}")) for n, body in enumerate(bodies)]
            await asyncio.sleep(0)  # every one has been handed over or is waiting
            worker = pool._live[0]
            seen.append((len(worker.tasks), len(pool._waiting), worker.queued))
            items = await asyncio.gather(*futures)
            assert [item["size"] for item in items] == [len(body) for body in bodies]
        return seen

    try:
        seen = run(scenario())
    finally:
        pool.close()
    small, halves, too_big = seen
    assert small[:2] == (DEFAULT_DEPTH, 10 - DEFAULT_DEPTH)
    assert halves[:2] == (2, 2) and halves[2] <= QUEUED_BYTES  # a third half would pass the cap
    assert too_big[:2] == (1, 1)  # one bigger than the cap still goes to an idle worker, alone
