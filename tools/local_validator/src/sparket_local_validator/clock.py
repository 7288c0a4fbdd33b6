"""Injected time source: every window, cooldown, ban and token epoch reads it.

The real validator calls `time.time()` everywhere; taking a `Clock` instead lets tests
replay the doc's minute- and day-long scenarios with a `FakeClock` and no sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current Unix time in seconds."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time, as the real validator uses."""

    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        self._now += seconds

    def set(self, when: float) -> None:
        if when < self._now:
            raise ValueError(f"a clock cannot go back (from {self._now} to {when})")
        self._now = when
