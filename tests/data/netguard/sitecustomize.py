"""Loaded by a crawl under test (PYTHONPATH): any connection or name lookup beyond this machine is refused and logged.

The fault tests assert the log stays empty: the crawler may talk to 127.0.0.1 / localhost only.
"""

import os
import socket

_LOG = os.environ.get("GOVCRAWL_TEST_NET_LOG")


def _local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host)
    return host in ("localhost", "::1", "0.0.0.0", "") or host.startswith("127.") or host.startswith("/")


def _refuse(what: str):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(what + "\n")
    raise OSError(f"non-local network access refused by the test: {what}")


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def connect(self, address):
    if isinstance(address, tuple) and not _local(address[0]):
        _refuse(f"connect {address!r}")
    return _connect(self, address)


def connect_ex(self, address):
    if isinstance(address, tuple) and not _local(address[0]):
        _refuse(f"connect {address!r}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _local(host):
        _refuse(f"lookup {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


if _LOG:
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
