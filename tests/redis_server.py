"""A throwaway redis-server on 127.0.0.1 for the state and scale-out tests.

No persistence (``--save "" --appendonly no``), a free port, a temp dir; the
server is stopped by the test that started it. A missing ``redis-server`` is
an error, not a skip: the project setup installs it (Debian ``redis-server``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server") or (
            "/usr/bin/redis-server" if shutil.which("/usr/bin/redis-server") else None
        )
        if binary is None:
            pytest.fail(
                "redis-server not found: install it (Debian: apt-get install redis-server); "
                "the Redis scale-out tests need a real server",
                pytrace=False,
            )
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="govcrawl-redis-")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        self.client = redis.Redis.from_url(self.url, decode_responses=True)
        deadline = time.time() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    pytest.fail("redis-server did not start", pytrace=False)
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
