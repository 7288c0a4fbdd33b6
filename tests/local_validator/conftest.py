"""Fixtures for the local validator's defence engine: a fake clock and a fresh validator."""

from __future__ import annotations

import pytest

from sparket_devkit.validator.clock import FakeClock
from sparket_devkit.validator.engine import ValidatorEngine

START = 1_700_000_000.0
"""Mid-epoch for 3600 s tokens (epoch 472222 began at 1_699_999_200)."""

REGISTERED = tuple(f"hk{i:02d}" for i in range(60))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def engine(clock: FakeClock) -> ValidatorEngine:
    return ValidatorEngine(clock, registered=REGISTERED, secret=b"s" * 32)
