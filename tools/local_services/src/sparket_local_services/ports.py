"""Free TCP ports on loopback, never fixed ones, so parallel runs do not collide."""

from __future__ import annotations

import random
import socket
import threading
import urllib.request

# Below Linux's ephemeral range (32768-60999): an outgoing connection's local port can never
# take a port we handed out before its server binds it. bittensor's Axon binds 0.0.0.0, which
# clashes with a client socket bound to any 127.0.0.x on the same port.
PORT_RANGE = (20000, 32000)

_handed_out: set[int] = set()
_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port that was free a moment ago and that this process has not handed out.

    Ports come from below the ephemeral range and are checked free on every address;
    remembering what we handed out avoids giving the same port to two servers that are
    started before either of them binds.
    """
    for _ in range(200):
        port = random.randrange(*PORT_RANGE)
        with _lock:
            if port in _handed_out:
                continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("0.0.0.0" if host.startswith("127.") else host, port))
            except OSError:
                continue
        with _lock:
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("could not find a free port after 200 tries")


def http_ok(url: str, *, timeout: float = 2.0) -> bool:
    """True when a GET of `url` answers 200; any connection trouble is just "not yet"."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:  # URLError, refused, reset, timed out
        return False


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port (loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
