"""The budget rules for a single process, with the same semantics as the Redis scripts.

Also the reference the shared test suite holds the Redis backend to.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from miner_runtime.budget.model import Ask, Budgets, Decision, Denied, Grant


class MemoryCoordinator:
    def __init__(self, budgets: Budgets, *, clock_ms: Callable[[], int] | None = None) -> None:
        self.budgets = budgets
        self._clock_ms = clock_ms or (lambda: int(time.monotonic() * 1000))
        self._tats: dict[tuple[str, ...], int] = {}
        self._pauses: dict[tuple[str, str], tuple[int, str]] = {}

    def paused(self, validator: str, egress_ip: str) -> Denied | None:
        """The pause in force for (validator, egress IP), as a refusal; None if none."""
        now = self._clock_ms()
        pause = self._pauses.get((validator, egress_ip))
        if pause is not None and pause[0] > now:
            return Denied((pause[0] - now) / 1000.0, f"paused: {pause[1]}")
        return None

    async def acquire(self, ask: Ask) -> Decision:
        now = self._clock_ms()
        refused = self.paused(ask.validator, ask.egress_ip)
        if refused is not None:
            return refused
        keys = (
            ("fleet", ask.validator),
            ("ip", ask.validator, ask.egress_ip),
            ("hotkey", ask.validator, ask.hotkey),
        )
        rates = self.budgets.rates()
        start = now
        for key, rate in zip(keys, rates, strict=True):
            tat = max(self._tats.get(key, now), now)
            start = max(start, tat - rate.tolerance_ms)
        wait = start - now
        if wait > self.budgets.max_wait_seconds * 1000:
            return Denied(wait / 1000.0, "budget")
        for key, rate in zip(keys, rates, strict=True):
            tat = max(self._tats.get(key, now), now)
            self._tats[key] = max(tat, start) + rate.interval_ms
        return Grant(wait / 1000.0)

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        until = self._clock_ms() + round(seconds * 1000)
        current = self._pauses.get((validator, egress_ip))
        if current is None or current[0] < until:
            self._pauses[(validator, egress_ip)] = (until, reason)

    async def close(self) -> None:
        return None
