"""Refuse every network connection except loopback, the user's own
`--endpoint`, and `assistant model pull`.

Installed with `sys.addaudithook` at CLI start: the `socket.connect` audit
event fires for every connection Python makes (and for DNS-free raw sockets
too), so a library that tries to phone home fails loudly instead of leaking."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

from assistant.errors import NetworkBlockedError

_open = 0  # > 0 while `model pull` runs (its downloader uses worker threads)
_lock = threading.Lock()
_allowed_endpoints: set[tuple[str, int]] = set()  # (address, port) of the user's --endpoint
_installed = False


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def allow_endpoint(url: str) -> None:
    """Allow connections to exactly the host and port of the user's `--endpoint`
    (the host's resolved addresses, since the guard sees addresses)."""
    parts = urlparse(url)
    host = parts.hostname
    if not host:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    _allowed_endpoints.add((host, port))
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(host, port):
            _allowed_endpoints.add((str(info[4][0]), port))


@contextlib.contextmanager
def allow_network() -> Iterator[None]:
    """Lift the guard while a `model pull` runs."""
    global _open
    with _lock:
        _open += 1
    try:
        yield
    finally:
        with _lock:
            _open -= 1


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event != "socket.connect" or _open > 0:
        return
    sock, address = args[0], args[1]
    family = getattr(sock, "family", None)
    if family == socket.AF_UNIX or not isinstance(address, tuple):
        return
    host = str(address[0])
    port = address[1] if len(address) > 1 and isinstance(address[1], int) else -1
    if _is_loopback(host) or (host, port) in _allowed_endpoints:
        return
    raise NetworkBlockedError(
        f"blocked a network connection to {host}: assistant never sends your code anywhere "
        "(only `assistant model pull` and your own --endpoint may use the network)"
    )


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True


def is_installed() -> bool:
    return _installed
