"""Failures and cooldowns: hotkey (10 in 60 s, 30 s doubling) and IP (50/300 s or 5 hotkeys)."""

from __future__ import annotations

import pytest

from sparket_local_validator.clock import FakeClock
from sparket_local_validator.decisions import Allow, Cooldown
from sparket_local_validator.failures import FailureType
from sparket_local_validator.security import SecurityManager

HOTKEYS = [f"hk{i:02d}" for i in range(20)]
IP = "198.51.100.1"


@pytest.fixture
def security(clock: FakeClock) -> SecurityManager:
    return SecurityManager(clock, registered=HOTKEYS)


def fail(security: SecurityManager, times: int, hotkey: str | None = "hk00", ip: str = IP) -> None:
    for _ in range(times):
        security.record_failure(hotkey, ip, FailureType.RATE_LIMITED)


def remaining(security: SecurityManager, clock: FakeClock, hotkey: str) -> float:
    record = security.hotkey_record(hotkey)
    assert record is not None
    return record.cooldown_until - clock.now()


def test_tenth_failure_in_a_minute_starts_a_thirty_second_cooldown(
    security: SecurityManager, clock: FakeClock
) -> None:
    fail(security, 9, ip="")
    assert security.check_request("hk00", IP) == Allow()
    fail(security, 1, ip="")
    decision = security.check_request("hk00", IP)
    assert isinstance(decision, Cooldown)
    assert decision.error == "hotkey_cooldown"
    assert decision.remaining == 30.0
    assert security.counters.hotkey_cooldowns_started == 1
    clock.advance(30.0)
    assert security.check_request("hk00", IP) == Allow()


def test_every_further_failure_retriggers_and_doubles(security: SecurityManager) -> None:
    fail(security, 9, ip="")
    lengths = []
    for _ in range(10):
        fail(security, 1, ip="")
        record = security.hotkey_record("hk00")
        assert record is not None
        lengths.append((record.cooldown_count, record.cooldown_until - 1_700_000_000.0))
    assert lengths == [
        (1, 30.0),
        (2, 60.0),
        (3, 120.0),
        (4, 240.0),
        (5, 480.0),
        (6, 960.0),
        (7, 1920.0),
        (8, 3600.0),
        (9, 3600.0),
        (10, 3600.0),
    ]


def test_failures_older_than_sixty_seconds_do_not_count(
    security: SecurityManager, clock: FakeClock
) -> None:
    fail(security, 9, ip="")
    clock.advance(60.0)
    fail(security, 1, ip="")
    assert security.check_request("hk00", IP) == Allow()
    fail(security, 8, ip="")
    assert security.check_request("hk00", IP) == Allow()
    fail(security, 1, ip="")
    assert isinstance(security.check_request("hk00", IP), Cooldown)


@pytest.mark.parametrize("kind", list(FailureType))
def test_every_failure_type_counts_toward_the_cooldown(
    security: SecurityManager, kind: FailureType
) -> None:
    for _ in range(10):
        security.record_failure("hk00", None, kind)
    assert isinstance(security.check_request("hk00", IP), Cooldown)
    assert security.counters.failures[kind] == 10


def test_first_failure_after_a_cooldown_retriggers_at_double_length(
    security: SecurityManager, clock: FakeClock
) -> None:
    fail(security, 10, ip="")
    clock.advance(31.0)
    assert security.check_request("hk00", IP) == Allow()
    fail(security, 1, ip="")  # the ten earlier failures are still in the 60 s window
    assert remaining(security, clock, "hk00") == 60.0
    record = security.hotkey_record("hk00")
    assert record is not None and record.cooldown_count == 2


def test_hotkey_cooldown_follows_the_hotkey_across_ips_only(security: SecurityManager) -> None:
    fail(security, 10, ip="")
    assert isinstance(security.check_request("hk00", "203.0.113.50"), Cooldown)
    assert security.check_request("hk01", IP) == Allow()


def test_five_distinct_failing_hotkeys_put_the_ip_in_cooldown(
    security: SecurityManager, clock: FakeClock
) -> None:
    for hotkey in HOTKEYS[:4]:
        fail(security, 1, hotkey=hotkey)
    assert security.check_request("hk10", IP) == Allow()
    fail(security, 1, hotkey=HOTKEYS[4])
    decision = security.check_request("hk10", IP)
    assert isinstance(decision, Cooldown)
    assert decision.error == "ip_cooldown"
    assert decision.remaining == 60.0
    assert security.counters.ip_cooldowns_started == 1
    ip_record = security.ip_record(IP)
    assert ip_record is not None
    assert ip_record.failing_hotkeys == frozenset(HOTKEYS[:5])


def test_ip_cooldown_has_an_already_in_cooldown_guard_then_escalates(
    security: SecurityManager, clock: FakeClock
) -> None:
    for hotkey in HOTKEYS[:5]:
        fail(security, 1, hotkey=hotkey)
    fail(security, 3, hotkey=HOTKEYS[0])  # during the cooldown: no new one
    record = security.ip_record(IP)
    assert record is not None and record.cooldown_count == 1
    lengths = []
    for _ in range(8):
        clock.set(record.cooldown_until)
        assert security.check_request("hk10", IP) == Allow()
        fail(security, 1, hotkey=HOTKEYS[0])  # any later failure: a new, doubled cooldown
        record = security.ip_record(IP)
        assert record is not None
        lengths.append(record.cooldown_until - clock.now())
    assert lengths == [120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0, 3600.0]
    assert security.counters.ip_cooldowns_started == 9


def test_failing_hotkeys_are_remembered_beyond_any_window(
    security: SecurityManager, clock: FakeClock
) -> None:
    for hotkey in HOTKEYS[:4]:
        fail(security, 1, hotkey=hotkey)
    clock.advance(6 * 3600)  # no check_request: nothing prunes them anyway
    fail(security, 1, hotkey=HOTKEYS[4])
    decision = security.check_request("hk10", IP)
    assert isinstance(decision, Cooldown) and decision.error == "ip_cooldown"


def test_failing_hotkeys_outlive_the_failures_that_put_them_there(
    security: SecurityManager, clock: FakeClock
) -> None:
    """Cleanup prunes failures older than 24 h, never the `failing_hotkeys` set: while the IP
    record stays alive (a failure at least once a day), every hotkey that ever failed from
    it still counts toward the five (`IPRecord` in `sparket/validator/security/manager.py`)."""
    for hotkey in HOTKEYS[:4]:
        fail(security, 1, hotkey=hotkey)
        clock.advance(20 * 3600)
        assert security.check_request("hk10", IP) == Allow()  # cleanup runs on each check
    record = security.ip_record(IP)
    assert record is not None
    assert record.failures == 1  # only hk03's failure is younger than 24 h ...
    assert record.failing_hotkeys == frozenset(HOTKEYS[:4])  # ... their hotkeys are not
    fail(security, 1, hotkey=HOTKEYS[4])  # 80 h after hk00 failed: the fifth hotkey
    decision = security.check_request("hk10", IP)
    assert isinstance(decision, Cooldown) and decision.error == "ip_cooldown"


def test_fifty_failures_in_five_minutes_put_the_ip_in_cooldown(
    security: SecurityManager, clock: FakeClock
) -> None:
    for _ in range(49):
        fail(security, 1, hotkey="hk00")
        clock.advance(6.0)  # 294 s in all: still inside 300 s
    assert security.check_request("hk10", IP) == Allow()
    fail(security, 1, hotkey="hk01")
    decision = security.check_request("hk10", IP)
    assert isinstance(decision, Cooldown) and decision.error == "ip_cooldown"


def test_ip_failures_older_than_five_minutes_do_not_count(
    security: SecurityManager, clock: FakeClock
) -> None:
    fail(security, 49, hotkey="hk00")
    clock.advance(300.0)
    fail(security, 1, hotkey="hk00")
    record = security.ip_record(IP)
    assert record is not None and record.cooldown_count == 0


def test_a_failure_without_hotkey_is_filed_under_the_ip_as_unknown(
    security: SecurityManager,
) -> None:
    fail(security, 1, hotkey=None)
    record = security.ip_record(IP)
    assert record is not None
    assert record.failing_hotkeys == frozenset({"unknown"})
    assert security.hotkey_record("unknown") is None


def test_a_failure_without_ip_is_filed_under_the_hotkey_only(security: SecurityManager) -> None:
    fail(security, 1, ip="")
    assert security.ip_record("") is None
    record = security.hotkey_record("hk00")
    assert record is not None and record.failures == 1


def test_hotkey_cooldown_is_checked_before_ip_cooldown(security: SecurityManager) -> None:
    for hotkey in HOTKEYS[:5]:
        fail(security, 1, hotkey=hotkey)
    fail(security, 9, hotkey="hk00", ip="")
    decision = security.check_request("hk00", IP)
    assert isinstance(decision, Cooldown) and decision.error == "hotkey_cooldown"
