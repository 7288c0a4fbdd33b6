"""The test process cannot dial anything but loopback."""

from __future__ import annotations

import socket

import pytest

from sparket_testkit.loopback_only import NonLoopbackConnection, is_allowed


@pytest.mark.parametrize(
    ("family", "address", "allowed"),
    [
        (socket.AF_INET, ("127.0.0.1", 80), True),
        (socket.AF_INET, ("127.0.0.42", 80), True),
        (socket.AF_INET, ("localhost", 80), True),
        (socket.AF_INET6, ("::1", 80, 0, 0), True),
        (socket.AF_INET, ("203.0.113.10", 30000), False),  # a KWOK node ExternalIP
        (socket.AF_INET, ("198.51.100.7", 8091), False),  # a KWOK pod IP
        (socket.AF_INET, ("10.96.0.1", 443), False),  # a Service ClusterIP
        (socket.AF_INET, ("example.com", 443), False),
    ],
)
def test_only_loopback_destinations_are_allowed(family: int, address: tuple, allowed: bool) -> None:
    assert is_allowed(family, address) is allowed


def test_connect_to_a_fake_node_ip_fails_before_any_packet_leaves() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NonLoopbackConnection, match=r"203\.0\.113\.10"),
    ):
        sock.connect(("203.0.113.10", 30000))


def test_connect_to_loopback_still_works() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2) as client:
            assert client.getpeername() == server.getsockname()
