"""Rolling rate limits: 5/1 s and 60/60 s per hotkey, 100/1 s and 2000/60 s globally."""

from __future__ import annotations

import pytest

from sparket_local_validator.clock import FakeClock
from sparket_local_validator.config import RateLimits, WindowLimit
from sparket_local_validator.ratelimit import RateLimiter, RateLimitReason


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock)


def test_five_per_second_per_hotkey(limiter: RateLimiter, clock: FakeClock) -> None:
    assert all(limiter.check_and_record("a").allowed for _ in range(5))
    sixth = limiter.check_and_record("a")
    assert not sixth.allowed
    assert sixth.reason is RateLimitReason.HOTKEY_PER_SECOND
    assert sixth.reason.value == "hotkey_rate_limit_per_second"
    assert limiter.check_and_record("b").allowed  # another hotkey has its own budget
    clock.advance(1.0)
    assert limiter.check_and_record("a").allowed


def test_windows_slide_rather_than_reset(limiter: RateLimiter, clock: FakeClock) -> None:
    clock.advance(0.9)
    for _ in range(5):
        assert limiter.check_and_record("a").allowed
    clock.advance(0.6)  # a fixed 1 s bucket would have reset here
    assert limiter.check_and_record("a").reason is RateLimitReason.HOTKEY_PER_SECOND
    clock.advance(0.4)  # exactly 1 s after the five: their slots are free
    assert limiter.check_and_record("a").allowed


def test_sixty_per_minute_per_hotkey(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(60):
        assert limiter.check_and_record("a").allowed
        clock.advance(0.25)  # 4/s stays under the per-second limit
    assert limiter.check_and_record("a").reason is RateLimitReason.HOTKEY_PER_MINUTE
    clock.set(clock.now() - 15.0 + 60.0)  # exactly 60 s after the first request
    assert limiter.check_and_record("a").allowed
    assert limiter.check_and_record("a").reason is RateLimitReason.HOTKEY_PER_MINUTE


def test_rejected_requests_do_not_use_the_window(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        limiter.check_and_record("a")
    for _ in range(50):
        assert not limiter.check_and_record("a").allowed
    clock.advance(1.0)
    assert sum(limiter.check_and_record("a").allowed for _ in range(10)) == 5
    # 10 accepted so far despite 55 rejections: the minute budget has 50 left.
    for _ in range(10):
        clock.advance(1.0)
        assert sum(limiter.check_and_record("a").allowed for _ in range(5)) == 5
    clock.advance(1.0)
    assert limiter.check_and_record("a").reason is RateLimitReason.HOTKEY_PER_MINUTE


def test_hundred_per_second_globally(limiter: RateLimiter, clock: FakeClock) -> None:
    for i in range(100):
        assert limiter.check_and_record(f"hk{i}").allowed
    rejected = limiter.check_and_record("fresh")
    assert rejected.reason is RateLimitReason.GLOBAL_PER_SECOND
    assert rejected.reason.value == "global_rate_limit_per_second"
    clock.advance(1.0)
    assert limiter.check_and_record("fresh").allowed


def test_two_thousand_per_minute_globally(limiter: RateLimiter, clock: FakeClock) -> None:
    for i in range(2000):  # 50 hotkeys x 40, about 34/s over 58 s
        assert limiter.check_and_record(f"hk{i % 50}").allowed, i
        clock.advance(0.029)
    rejected = limiter.check_and_record("fresh")
    assert rejected.reason is RateLimitReason.GLOBAL_PER_MINUTE
    assert rejected.reason.value == "global_rate_limit_per_minute"


def test_global_limits_are_checked_before_hotkey_limits(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    for _ in range(5):
        assert limiter.check_and_record("a").allowed
    for i in range(95):
        assert limiter.check_and_record(f"other{i}").allowed
    # "a" is over its own limit too, but the global one is reported (and charged to "a").
    assert limiter.check_and_record("a").reason is RateLimitReason.GLOBAL_PER_SECOND


def test_per_second_is_reported_before_per_minute(clock: FakeClock) -> None:
    tight = RateLimits(
        hotkey_per_second=WindowLimit(2, 1.0),
        hotkey_per_minute=WindowLimit(2, 60.0),
        global_per_second=WindowLimit(2, 1.0),
        global_per_minute=WindowLimit(2, 60.0),
    )
    limiter = RateLimiter(clock, tight)
    assert limiter.check_and_record("a").allowed
    assert limiter.check_and_record("a").allowed
    assert limiter.check_and_record("a").reason is RateLimitReason.GLOBAL_PER_SECOND
    clock.advance(1.0)
    assert limiter.check_and_record("a").reason is RateLimitReason.GLOBAL_PER_MINUTE
    unlimited_global = RateLimits(
        hotkey_per_second=WindowLimit(2, 1.0), hotkey_per_minute=WindowLimit(2, 60.0)
    )
    limiter = RateLimiter(clock, unlimited_global)
    limiter.check_and_record("b")
    limiter.check_and_record("b")
    assert limiter.check_and_record("b").reason is RateLimitReason.HOTKEY_PER_SECOND
    clock.advance(1.0)
    assert limiter.check_and_record("b").reason is RateLimitReason.HOTKEY_PER_MINUTE


def test_missing_hotkey_shares_the_unknown_bucket(limiter: RateLimiter) -> None:
    for _ in range(3):
        assert limiter.check_and_record(None).allowed
    assert limiter.check_and_record("").allowed
    assert limiter.check_and_record("unknown").allowed
    assert limiter.check_and_record(None).reason is RateLimitReason.HOTKEY_PER_SECOND
