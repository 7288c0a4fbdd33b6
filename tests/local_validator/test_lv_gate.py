"""The front gate: client IP, scanner bans, skipped utility paths, then `check_request`."""

from __future__ import annotations

import pytest

from sparket_local_validator.clock import FakeClock
from sparket_local_validator.decisions import Allow, Cooldown, Forbidden
from sparket_local_validator.engine import ValidatorEngine
from sparket_local_validator.failures import FailureType
from sparket_local_validator.gate import client_ip, is_scanner

BT = {"bt_header_dendrite_hotkey": "hk00", "bt_header_dendrite_nonce": "1"}
SCANNER_PATHS = ["/", "/admin", "/api", "/login", "/wp-admin", "/robots.txt"]
SKIP_PATHS = ["/health", "/healthz", "/ready", "/metrics", "/favicon.ico"]


def test_client_ip_trusts_forwarding_headers() -> None:
    xff = {"X-Forwarded-For": "198.51.100.7, 10.0.0.1"}
    assert client_ip(xff, "127.0.0.11") == "198.51.100.7"
    assert client_ip({"x-real-ip": "192.0.2.4"}, "127.0.0.11") == "192.0.2.4"
    assert client_ip({**xff, "X-Real-IP": "192.0.2.4"}, "127.0.0.11") == "198.51.100.7"
    assert client_ip({}, "127.0.0.11") == "127.0.0.11"
    assert client_ip({}, None) is None


@pytest.mark.parametrize("path", SCANNER_PATHS)
def test_scanner_paths_without_bt_headers(path: str) -> None:
    assert is_scanner(path, {"User-Agent": "curl"})
    assert not is_scanner(path, {"bt_header_axon_ip": "x", "bt_header_dendrite_hotkey": "k"})


def test_root_with_bt_headers_but_no_hotkey_is_a_scanner() -> None:
    assert is_scanner("/", {"bt_header_axon_ip": "x"})
    assert not is_scanner("/admin", {"bt_header_axon_ip": "x"})
    assert not is_scanner("/SparketSynapse", {})
    assert not is_scanner("/health", {})


@pytest.mark.parametrize("path", SCANNER_PATHS)
def test_a_scanner_probe_bans_the_ip_forever(
    engine: ValidatorEngine, clock: FakeClock, path: str
) -> None:
    decision = engine.gate.admit(path, {"User-Agent": "masscan"}, "127.0.0.8")
    assert decision == Forbidden("forbidden")
    assert decision.body() == {"success": False, "error": "forbidden", "message": "Access denied"}
    assert engine.counters.scanner_bans == 1
    clock.advance(10 * 365 * 86400.0)
    assert engine.gate.admit("/SparketSynapse", BT, "127.0.0.8") == Forbidden("ip_blacklisted")
    assert engine.gate.admit("/SparketSynapse", BT, "127.0.0.9") == Allow()


def test_repeated_probes_ban_once(engine: ValidatorEngine) -> None:
    for _ in range(3):
        assert engine.gate.admit("/", {}, "127.0.0.8") == Forbidden("forbidden")
    assert engine.counters.scanner_bans == 1
    assert engine.security.blacklist_entries()[0].expires_at is None


def test_scanner_ban_keys_on_forwarded_ip(engine: ValidatorEngine) -> None:
    engine.gate.admit("/", {"X-Forwarded-For": "198.51.100.7"}, "127.0.0.11")
    assert engine.gate.admit("/SparketSynapse", BT, "127.0.0.11") == Allow()
    spoofed = {**BT, "X-Forwarded-For": "198.51.100.7"}
    assert engine.gate.admit("/SparketSynapse", spoofed, "127.0.0.11") == Forbidden(
        "ip_blacklisted"
    )


def test_bt_headed_admin_is_not_a_scanner(engine: ValidatorEngine) -> None:
    assert engine.gate.admit("/admin", BT, "127.0.0.8") == Allow()
    assert engine.counters.scanner_bans == 0


@pytest.mark.parametrize("path", [*SKIP_PATHS, "", "  "])
def test_utility_paths_skip_every_check(engine: ValidatorEngine, path: str) -> None:
    engine.security.add_to_blacklist("127.0.0.8", "ip", duration=None)
    assert engine.gate.admit(path, {}, "127.0.0.8") == Allow()
    assert engine.gate.admit(path, {}, "127.0.0.9") == Allow()
    assert engine.counters.scanner_bans == 0


def test_root_with_a_hotkey_header_is_skipped(engine: ValidatorEngine) -> None:
    assert engine.gate.admit("/", {"bt_header_dendrite_hotkey": "stranger"}, "1.2.3.4") == Allow()


def test_gate_checks_the_header_hotkey(engine: ValidatorEngine) -> None:
    assert engine.gate.admit("/SparketSynapse", BT, "127.0.0.2") == Allow()
    stranger = {"bt_header_dendrite_hotkey": "stranger"}
    assert engine.gate.admit("/SparketSynapse", stranger, "127.0.0.2") == Forbidden(
        "not_registered"
    )
    for _ in range(10):
        engine.security.record_failure("hk00", "", FailureType.OTHER)
    decision = engine.gate.admit("/SparketSynapse", BT, "127.0.0.2")
    assert isinstance(decision, Cooldown)
    assert decision.headers() == {"Retry-After": "30"}
