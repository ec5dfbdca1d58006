"""Refuse every network connection except loopback and `assistant model pull`.

Installed with `sys.addaudithook` at CLI start: the `socket.connect` audit
event fires for every connection Python makes (and for DNS-free raw sockets
too), so a library that tries to phone home fails loudly instead of leaking."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from assistant.errors import NetworkBlockedError

_lock = threading.Lock()
_resolving = threading.local()  # set while the guard itself resolves a name
_allowed_hosts: set[str] = set()  # names of the user's --endpoint (may be looked up)
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
    try:
        parts = urlparse(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a bad URL: nothing is allowed, the client says what is wrong
        return
    if not host:
        return
    _allowed_hosts.add(host)
    _allowed_endpoints.add((host, port))
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(host, port):
            _allowed_endpoints.add((str(info[4][0]), port))


@dataclass(frozen=True)
class _Opening:
    """Host names a `model pull` may reach: exact names and `.suffix` domains."""

    names: frozenset[str]
    suffixes: tuple[str, ...]

    def allows(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        return name in self.names or any(name.endswith(s) for s in self.suffixes)


_openings: list[_Opening] = []  # one per `allow_network` in progress (worker threads share it)
_resolved: set[str] = set()  # addresses the opened names resolved to


def _name_allowed(name: str) -> bool:
    return any(opening.allows(name) for opening in _openings)


@contextlib.contextmanager
def allow_network(hosts: Iterable[str], suffixes: Iterable[str] = ()) -> Iterator[None]:
    """Lift the guard, while a `model pull` runs, for these host names (and
    any name under one of `suffixes`, e.g. ".huggingface.co" for the hub's
    CDN) and nothing else. Checked by name when the name is looked up, and by
    address when a socket connects (the address must be one an allowed name
    resolves to)."""
    opening = _Opening(
        frozenset(h.lower().rstrip(".") for h in hosts),
        tuple("." + s.lower().strip(".") for s in suffixes),
    )
    with _lock:
        _openings.append(opening)
    try:
        yield
    finally:
        with _lock:
            _openings.remove(opening)
            if not _openings:
                _resolved.clear()


def _blocked(host: str) -> NetworkBlockedError:
    return NetworkBlockedError(
        f"blocked a network connection to {host}: assistant never sends your code anywhere "
        "(only `assistant model pull` may use the network)"
    )


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "socket.getaddrinfo":
        _audit_lookup(args)
    elif event == "socket.connect":
        _audit_connect(args)


def _audit_lookup(args: tuple[object, ...]) -> None:
    """During a pull, only the opened names may be looked up; the addresses
    they resolve to are remembered for `_audit_connect`."""
    if not _openings or getattr(_resolving, "active", False):
        return
    host = args[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or _is_loopback(host):
        return
    if not _name_allowed(host):
        raise _blocked(host)
    _resolving.active = True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return
    finally:
        _resolving.active = False
    with _lock:
        _resolved.update(str(info[4][0]) for info in infos)


def _audit_connect(args: tuple[object, ...]) -> None:
    sock, address = args[0], args[1]
    family = getattr(sock, "family", None)
    if family == socket.AF_UNIX or not isinstance(address, tuple):
        return
    host = str(address[0])
    port = address[1] if len(address) > 1 and isinstance(address[1], int) else -1
    if _is_loopback(host) or (host, port) in _allowed_endpoints:
        return
    if _openings and host in _resolved:
        return
    raise _blocked(host)


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True


def is_installed() -> bool:
    return _installed
