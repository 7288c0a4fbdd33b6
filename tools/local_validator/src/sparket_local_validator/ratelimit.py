"""The listener's request-rate limiter: rolling windows, global before per hotkey.

Mirrors `sparket/validator/utils/ratelimit.py`: each limit keeps a list of the timestamps
of accepted requests, so the windows slide rather than reset. Only an accepted request is
recorded, and one budget covers every synapse type. The key is the hotkey the request
body claims (`"unknown"` when absent); there is no per-IP request limit.

A timestamp counts while it is strictly newer than `now - window`, so a slot frees up
exactly `window` seconds after the request that used it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from sparket_local_validator.clock import Clock
from sparket_local_validator.config import RateLimits, WindowLimit


class RateLimitReason(StrEnum):
    GLOBAL_PER_SECOND = "global_rate_limit_per_second"
    GLOBAL_PER_MINUTE = "global_rate_limit_per_minute"
    HOTKEY_PER_SECOND = "hotkey_rate_limit_per_second"
    HOTKEY_PER_MINUTE = "hotkey_rate_limit_per_minute"


@dataclass(frozen=True)
class RateDecision:
    """`reason` is None exactly when the request was accepted (and recorded)."""

    reason: RateLimitReason | None

    @property
    def allowed(self) -> bool:
        return self.reason is None


class SlidingWindow:
    """Timestamps of accepted requests within one rolling window."""

    def __init__(self, limit: WindowLimit) -> None:
        self._limit = limit
        self._stamps: deque[float] = deque()

    def count(self, now: float) -> int:
        cutoff = now - self._limit.window
        while self._stamps and self._stamps[0] <= cutoff:
            self._stamps.popleft()
        return len(self._stamps)

    def is_full(self, now: float) -> bool:
        return self.count(now) >= self._limit.limit

    def record(self, now: float) -> None:
        self._stamps.append(now)


class _Pair:
    """The per-second and per-minute windows of one scope (global or one hotkey)."""

    def __init__(self, per_second: WindowLimit, per_minute: WindowLimit) -> None:
        self.per_second = SlidingWindow(per_second)
        self.per_minute = SlidingWindow(per_minute)


class RateLimiter:
    """`check_and_record(hotkey)`: accept and record a request, or name the limit hit."""

    def __init__(self, clock: Clock, limits: RateLimits | None = None) -> None:
        self._clock = clock
        self._limits = limits or RateLimits()
        self._global = _Pair(self._limits.global_per_second, self._limits.global_per_minute)
        self._hotkeys: dict[str, _Pair] = {}

    def check_and_record(self, hotkey: str | None) -> RateDecision:
        now = self._clock.now()
        key = hotkey or "unknown"
        scope = self._hotkeys.get(key)
        if scope is None:
            scope = _Pair(self._limits.hotkey_per_second, self._limits.hotkey_per_minute)
            self._hotkeys[key] = scope
        checks = (
            (self._global.per_second, RateLimitReason.GLOBAL_PER_SECOND),
            (self._global.per_minute, RateLimitReason.GLOBAL_PER_MINUTE),
            (scope.per_second, RateLimitReason.HOTKEY_PER_SECOND),
            (scope.per_minute, RateLimitReason.HOTKEY_PER_MINUTE),
        )
        for window, reason in checks:
            if window.is_full(now):
                return RateDecision(reason)
        for window, _ in checks:
            window.record(now)
        return RateDecision(None)
