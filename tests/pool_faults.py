"""Extraction functions that misbehave, for tests/test_pool.py (imported by the worker processes)."""

import os
import time

from govcrawl.extract import extract_document


def crashes_or_hangs(body, url, headers=None, *, portal=None):
    if body.startswith(b"CRASH"):
        os._exit(3)  # a native reader's segfault, as seen from the pool
    if body.startswith(b"HANG"):
        time.sleep(600)
    return extract_document(body, url, headers, portal=portal)


def worker_pid(body, url, headers=None, *, portal=None):
    return {"pid": os.getpid(), "url": url}


def body_size_after_a_while(body, url, headers=None, *, portal=None):
    time.sleep(0.02)
    return {"url": url, "size": len(body)}


def slow_pid(delay=0.5):
    """Other work sent with ``ExtractorPool.run``: the pid of the process that did it, after a while."""
    time.sleep(delay)
    return os.getpid()


def niceness():
    """The CPU priority of the process running it (``ExtractorPool.run``)."""
    return os.nice(0)


def crash_unless_in(pid):
    """Kill any process but ``pid`` (a worker dying during ``ExtractorPool.run``); return the pid that ran it."""
    if os.getpid() != pid:
        os._exit(3)
    return os.getpid()


def tables_built():
    """Which of the readers' one-time tables the running process has (``govcrawl.extract.warm``)."""
    from govcrawl.extract import decode, textfix

    return [f.cache_info().currsize for f in (decode._common_hanzi_run, textfix._may_change, textfix._converter)]
