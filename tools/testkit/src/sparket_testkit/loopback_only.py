"""Refuse outbound connections to anything but loopback, inside the test process.

Test rule: tests talk only to servers they started on 127.0.0.0/8 (or ::1). KWOK's node
and pod addresses are labels, never targets. Wrapping `socket.connect` turns an accidental
dial of such an address into an immediate, named failure instead of stray traffic; it
covers urllib, httpx, aiohttp, redis-py and psycopg alike (they all end in connect).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class NonLoopbackConnection(ConnectionRefusedError):
    """Raised instead of connecting to an address outside loopback."""


def is_allowed(family: int, address: Any) -> bool:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True  # Unix sockets and netlink stay on this machine.
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # A DNS name: resolving and dialling it is outside the rules.


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not is_allowed(self.family, address):
        raise NonLoopbackConnection(f"tests may only connect to loopback, not {address!r}")
    _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not is_allowed(self.family, address):
        raise NonLoopbackConnection(f"tests may only connect to loopback, not {address!r}")
    return _original_connect_ex(self, address)


def install() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    socket.socket.connect = _original_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _original_connect_ex  # type: ignore[method-assign]
