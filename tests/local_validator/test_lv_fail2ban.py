"""Check order, 429 violations, fail2ban bans, the blacklist and 24 h decay."""

from __future__ import annotations

import pytest

from sparket_local_validator.clock import FakeClock
from sparket_local_validator.decisions import Allow, Cooldown, Forbidden
from sparket_local_validator.failures import FailureType
from sparket_local_validator.security import BlacklistEntry, SecurityManager

HOTKEYS = [f"hk{i:02d}" for i in range(20)]
IP = "198.51.100.1"
DAY = 86400.0


@pytest.fixture
def security(clock: FakeClock) -> SecurityManager:
    return SecurityManager(clock, registered=HOTKEYS)


def cool_hotkey(security: SecurityManager, hotkey: str, times: int = 17) -> None:
    """17 failures: cooldown_count 8, 3600 s, as one 22-request burst leaves it."""
    for _ in range(times):
        security.record_failure(hotkey, "", FailureType.RATE_LIMITED)


def cool_ip(security: SecurityManager, ip: str = IP) -> None:
    for hotkey in HOTKEYS[15:20]:
        security.record_failure(hotkey, ip, FailureType.TOKEN_MISSING)


# Check order and registration --------------------------------------------------------


def test_unregistered_hotkey_gets_403_without_record(security: SecurityManager) -> None:
    decision = security.check_request("stranger", IP)
    assert decision == Forbidden("not_registered")
    assert decision.message == "Your hotkey is not registered on the subnet metagraph"
    assert decision.body() == {
        "success": False,
        "error": "not_registered",
        "message": "Your hotkey is not registered on the subnet metagraph",
    }
    assert security.hotkey_record("stranger") is None
    assert security.ip_record(IP) is None


def test_registration_beats_cooldown_so_no_violation(security: SecurityManager) -> None:
    cool_ip(security)
    assert security.check_request("stranger", IP) == Forbidden("not_registered")
    record = security.ip_record(IP)
    assert record is not None and record.violations == 0
    assert security.counters.violations == 0


def test_blacklist_beats_registration(security: SecurityManager) -> None:
    security.add_to_blacklist("stranger", "hotkey", duration=None)
    assert security.check_request("stranger", IP) == Forbidden("hotkey_blacklisted")
    security.add_to_blacklist(IP, "ip", duration=None)
    assert security.check_request("hk00", IP) == Forbidden("ip_blacklisted")
    assert security.check_request("stranger", IP) == Forbidden("hotkey_blacklisted")


def test_missing_hotkey_header_skips_registration(security: SecurityManager) -> None:
    assert security.check_request(None, IP) == Allow()


def test_metagraph_sync_replaces_the_registered_set(security: SecurityManager) -> None:
    security.set_registered(["new"])
    assert security.check_request("new", IP) == Allow()
    assert security.check_request("hk00", IP) == Forbidden("not_registered")


# The 429 itself ---------------------------------------------------------------------


def test_cooldown_reply_has_sparket_wording(security: SecurityManager) -> None:
    cool_hotkey(security, "hk00", times=10)
    decision = security.check_request("hk00", IP)
    assert isinstance(decision, Cooldown)
    assert decision.status == 429
    assert decision.message == "You are in cooldown. Try again in 30s seconds"
    assert decision.body() == {
        "success": False,
        "error": "hotkey_cooldown",
        "message": "You are in cooldown. Try again in 30s seconds",
        "retry_after": 30,
        "cooldown_type": "hotkey_cooldown",
        "cooldown_remaining_seconds": 30,
    }
    assert decision.headers() == {"Retry-After": "30"}


@pytest.mark.parametrize(
    ("left", "text"), [(29.6, "30"), (28.5, "28"), (29.5, "30"), (0.4, "0"), (1.2, "1")]
)
def test_remaining_seconds_use_percent_zero_f(left: float, text: str) -> None:
    decision = Cooldown("ip_cooldown", left)
    assert decision.seconds_text == text
    assert decision.message == f"You are in cooldown. Try again in {text}s seconds"
    assert decision.retry_after == int(text)


def test_rounded_remaining_time_can_read_zero_while_cooling(
    security: SecurityManager, clock: FakeClock
) -> None:
    cool_hotkey(security, "hk00", times=10)
    clock.advance(29.6)
    decision = security.check_request("hk00", IP)
    assert isinstance(decision, Cooldown) and decision.retry_after == 0


# Violations and fail2ban -----------------------------------------------------------------


def test_a_429_is_a_violation_for_both_hotkey_and_ip(security: SecurityManager) -> None:
    cool_ip(security)
    assert isinstance(security.check_request("hk00", IP), Cooldown)  # innocent hotkey
    hotkey_record = security.hotkey_record("hk00")
    ip_record = security.ip_record(IP)
    assert hotkey_record is not None and hotkey_record.violations == 1
    assert ip_record is not None and ip_record.violations == 1
    assert security.counters.violations == 1
    assert security.counters.cooldown_responses == 1


def test_twenty_violations_ban_the_hotkey_for_a_day(
    security: SecurityManager, clock: FakeClock
) -> None:
    cool_hotkey(security, "hk00")
    for _ in range(19):
        assert isinstance(security.check_request("hk00", IP), Cooldown)
    assert security.counters.hotkey_bans == 0
    assert isinstance(security.check_request("hk00", IP), Cooldown)  # the 20th is still a 429
    assert security.counters.hotkey_bans == 1
    assert security.counters.ip_bans == 0
    assert security.check_request("hk00", IP) == Forbidden("hotkey_blacklisted")
    assert security.check_request("hk00", "203.0.113.9") == Forbidden("hotkey_blacklisted")
    ip_record = security.ip_record(IP)
    assert ip_record is not None and ip_record.violations == 20
    hotkey_record = security.hotkey_record("hk00")
    assert hotkey_record is not None and hotkey_record.violations == 20  # 403s not counted
    clock.advance(DAY - 1)
    assert security.check_request("hk00", IP) == Forbidden("hotkey_blacklisted")
    clock.advance(1)
    assert security.check_request("hk00", IP) == Allow()


def test_the_next_429_from_that_ip_bans_the_ip(security: SecurityManager) -> None:
    cool_hotkey(security, "hk00")
    for _ in range(20):
        security.check_request("hk00", IP)
    cool_hotkey(security, "hk01", times=10)
    assert isinstance(security.check_request("hk01", IP), Cooldown)
    assert security.counters.ip_bans == 1
    assert security.check_request("hk02", IP) == Forbidden("ip_blacklisted")
    assert security.check_request("hk02", "203.0.113.9") == Allow()


def test_ip_count_sums_over_every_hotkey(security: SecurityManager) -> None:
    cool_ip(security)
    for hotkey in HOTKEYS[:4]:
        for _ in range(5):
            assert isinstance(security.check_request(hotkey, IP), Cooldown)
    assert security.counters.ip_bans == 1
    assert security.counters.hotkey_bans == 0
    assert security.check_request("hk09", IP) == Forbidden("ip_blacklisted")
    assert security.check_request("hk00", "203.0.113.9") == Allow()


def test_violations_roll_out_after_an_hour(security: SecurityManager, clock: FakeClock) -> None:
    for _ in range(19):
        assert security.record_violation("hk00", IP) is None
    clock.advance(3600.0)
    assert security.record_violation("hk00", IP) is None
    clock.advance(1.0)
    for _ in range(18):
        assert security.record_violation("hk00", IP) is None
    ban = security.record_violation("hk00", IP)
    assert ban == BlacklistEntry("hk00", "hotkey", clock.now() + DAY)


def test_blacklisted_403_is_not_a_violation(security: SecurityManager) -> None:
    cool_hotkey(security, "hk00")
    security.add_to_blacklist(IP, "ip", duration=600.0)
    for _ in range(30):
        assert security.check_request("hk00", IP) == Forbidden("ip_blacklisted")
    assert security.counters.violations == 0
    assert security.counters.forbidden_responses == 30


# Blacklist persistence ------------------------------------------------------------


def test_blacklist_survives_a_restart_unless_expired(clock: FakeClock) -> None:
    first = SecurityManager(clock, registered=HOTKEYS)
    first.add_to_blacklist("hk00", "hotkey", duration=DAY)
    first.add_to_blacklist("hk01", "hotkey", duration=10.0)
    first.add_to_blacklist("203.0.113.7", "ip", duration=None)
    clock.advance(10.0)
    second = SecurityManager(clock, registered=HOTKEYS)
    second.load_blacklist(first.blacklist_entries())
    assert second.check_request("hk00", IP) == Forbidden("hotkey_blacklisted")
    assert second.check_request("hk01", IP) == Allow()
    assert second.check_request("hk02", "203.0.113.7") == Forbidden("ip_blacklisted")
    assert second.hotkey_record("hk00") is None  # cooldowns and counts are not persisted


# Cleanup and decay ----------------------------------------------------------------


def test_backoff_level_decays_only_after_a_quiet_day(
    security: SecurityManager, clock: FakeClock
) -> None:
    cool_hotkey(security, "hk00", times=10)
    clock.advance(DAY)
    assert security.check_request("hk01", IP) == Allow()  # cleanup runs, cutoff == failures
    assert security.hotkey_record("hk00") is None
    cool_hotkey(security, "hk00", times=10)
    record = security.hotkey_record("hk00")
    assert record is not None and record.cooldown_count == 1


def test_a_recent_failure_keeps_the_record_and_its_level(
    security: SecurityManager, clock: FakeClock
) -> None:
    cool_hotkey(security, "hk00", times=10)
    clock.advance(DAY - 3600)
    security.record_failure("hk00", "", FailureType.OTHER)
    clock.advance(3600)
    security.check_request("hk01", IP)
    record = security.hotkey_record("hk00")
    assert record is not None
    assert record.failures == 1
    assert record.cooldown_count == 1


def test_cleanup_runs_at_most_every_five_minutes_and_only_on_checks(
    security: SecurityManager, clock: FakeClock
) -> None:
    cool_hotkey(security, "hk00", times=10)
    clock.advance(DAY - 1)
    security.check_request("hk01", IP)  # cleans, but the failures are not yet 24 h old
    assert security.hotkey_record("hk00") is not None
    clock.advance(299)
    security.check_request("hk01", IP)  # too soon after the last cleanup
    assert security.hotkey_record("hk00") is not None
    clock.advance(DAY)
    security.record_failure("hk05", "", FailureType.OTHER)  # failures do not clean
    assert security.hotkey_record("hk00") is not None
    security.check_request("hk01", IP)
    assert security.hotkey_record("hk00") is None


def test_ip_forgets_failing_hotkeys_after_a_quiet_day(
    security: SecurityManager, clock: FakeClock
) -> None:
    for hotkey in HOTKEYS[:4]:
        security.record_failure(hotkey, IP, FailureType.TOKEN_INVALID)
    clock.advance(DAY + 300)
    security.check_request("hk10", IP)
    assert security.ip_record(IP) is None
    security.record_failure(HOTKEYS[4], IP, FailureType.TOKEN_INVALID)
    assert security.check_request("hk10", IP) == Allow()


def test_violations_alone_keep_a_record_alive(security: SecurityManager, clock: FakeClock) -> None:
    security.record_violation("hk00", IP)
    clock.advance(DAY - 1)
    security.check_request("hk01", "203.0.113.1")
    assert security.hotkey_record("hk00") is not None
    assert security.ip_record(IP) is not None


def test_cleanup_drops_expired_bans(security: SecurityManager, clock: FakeClock) -> None:
    security.add_to_blacklist("hk00", "hotkey", duration=60.0)
    security.add_to_blacklist(IP, "ip", duration=None)
    clock.advance(300.0)
    security.check_request("hk01", "203.0.113.1")
    assert security.blacklist_entries() == [BlacklistEntry(IP, "ip", None)]
