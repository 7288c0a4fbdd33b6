"""The injected clocks."""

from __future__ import annotations

import time

import pytest

from sparket_local_validator.clock import Clock, FakeClock, SystemClock


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(100.0)
    assert clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5
    clock.set(200.0)
    assert clock.now() == 200.0


def test_fake_clock_refuses_to_go_back() -> None:
    clock = FakeClock(100.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(99.0)


def test_system_clock_is_wall_time() -> None:
    clock: Clock = SystemClock()
    assert abs(clock.now() - time.time()) < 5
