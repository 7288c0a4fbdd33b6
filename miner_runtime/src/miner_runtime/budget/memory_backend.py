"""The budget rules for a single process, with the same semantics as the Redis scripts.

Also the reference the shared test suite holds the Redis backend to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from miner_runtime.budget.model import Ask, Budgets, Decision, Denied, Grant, Rule


class MemoryCoordinator:
    def __init__(
        self,
        budgets: Budgets,
        *,
        clock_ms: Callable[[], int] | None = None,
        first_slot_ms: Callable[[int], int] | None = None,
    ) -> None:
        """`first_slot_ms(interval_ms)`: how far out a budget never used before has its
        first slot (default 0: a fresh budget allows its whole burst at once)."""
        self.budgets = budgets
        self._clock_ms = clock_ms or (lambda: int(time.monotonic() * 1000))
        self._first_slot_ms = first_slot_ms
        self._tats: dict[tuple[str, ...], int] = {}
        self._pauses: dict[tuple[str, str], tuple[int, str]] = {}
        self._failures: dict[tuple[str, str], dict[str, int]] = {}
        self._tokens: dict[str, tuple[str, int]] = {}
        self._parked: dict[str, str] = {}
        self._proven: dict[str, str] = {}
        self._canaries: dict[tuple[str, str], tuple[str, int]] = {}
        self._leases: dict[tuple[str, str], tuple[str, int]] = {}
        self._released: dict[tuple[str, str], asyncio.Event] = {}

    def paused(self, validator: str, egress_ip: str) -> Denied | None:
        """The pause in force for (validator, egress IP), as a refusal; None if none."""
        now = self._clock_ms()
        pause = self._pauses.get((validator, egress_ip))
        if pause is not None and pause[0] > now:
            return Denied((pause[0] - now) / 1000.0, Rule.PAUSED, pause[1])
        return None

    async def acquire(self, ask: Ask) -> Decision:
        now = self._clock_ms()
        admitted = self._gates(ask, now)
        if isinstance(admitted, Denied):
            return admitted
        token, proving = admitted
        keys = (
            ("fleet", ask.validator),
            ("ip", ask.validator, ask.egress_ip),
            ("hotkey", ask.validator, ask.hotkey),
        )
        rates = self.budgets.rates()
        if self._first_slot_ms is not None:
            for key, rate in zip(keys, rates, strict=True):
                if key not in self._tats:
                    self._tats[key] = now + self._first_slot_ms(rate.interval_ms)
        tats = [max(self._tats.get(key, now), now) for key in keys]
        start = max(now, *(tat - rate.tolerance_ms for tat, rate in zip(tats, rates, strict=True)))
        wait = start - now
        horizon = self.budgets.max_wait_seconds * 1000
        if wait > horizon:
            return Denied((wait - horizon) / 1000.0, Rule.BUDGET)
        for key, tat, rate in zip(keys, tats, rates, strict=True):
            self._tats[key] = max(tat, start) + rate.interval_ms
        return Grant(wait / 1000.0, token, proving)

    async def check(self, ask: Ask) -> Decision:
        now = self._clock_ms()
        admitted = self._gates(ask, now)
        if isinstance(admitted, Denied):
            return admitted
        if ask.push:
            key = (ask.validator, ask.egress_ip)
            lease = self._leases.get(key)
            if lease is not None and lease[0] != ask.hotkey and lease[1] > now:
                return Denied(self.budgets.busy_retry_seconds, Rule.BUSY, lease[0])
            lease_ms = round(self.budgets.push_lease_seconds * 1000)
            self._leases[key] = (ask.hotkey, now + lease_ms)
        return Grant(0.0, *admitted)

    async def release(self, validator: str, egress_ip: str, hotkey: str) -> None:
        lease = self._leases.get((validator, egress_ip))
        if lease is not None and lease[0] == hotkey:
            del self._leases[(validator, egress_ip)]
            self._released.setdefault((validator, egress_ip), asyncio.Event()).set()

    async def await_release(self, validator: str, egress_ip: str, at_most: float) -> None:
        released = self._released.setdefault((validator, egress_ip), asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(released.wait(), at_most)
        released.clear()

    def _gates(self, ask: Ask, now: int) -> Denied | tuple[str | None, bool]:
        """The refusal, or (the token a push may carry, whether it is the canary's push)."""
        refused = self.paused(ask.validator, ask.egress_ip) or self._failure_budget(ask, now)
        if refused is not None:
            return refused
        if not ask.push:
            return None, False
        token = self._usable_token(ask.validator, now)
        if token is None:
            return Denied(self.budgets.canary_retry_seconds, Rule.NO_TOKEN)
        if self._proven.get(ask.validator) == token:
            return token, False
        return self._canary_gate(ask, now) or (token, True)

    def forget_budgets(self) -> None:
        """Drop every budget's schedule (pauses, failures and tokens are kept)."""
        self._tats.clear()

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        until = self._clock_ms() + round(seconds * 1000)
        current = self._pauses.get((validator, egress_ip))
        if current is None or current[0] < until:
            self._pauses[(validator, egress_ip)] = (until, reason)

    # ---- failures ---------------------------------------------------------------------

    def _failing(self, validator: str, egress_ip: str, now: int) -> dict[str, int]:
        memory_ms = round(self.budgets.failure_memory_seconds * 1000)
        failing = self._failures.get((validator, egress_ip), {})
        return {hk: at for hk, at in failing.items() if at > now - memory_ms}

    def _failure_budget(self, ask: Ask, now: int) -> Denied | None:
        failing = self._failing(ask.validator, ask.egress_ip, now)
        if ask.hotkey in failing or len(failing) < self.budgets.failing_hotkeys_limit - 1:
            return None
        memory_ms = round(self.budgets.failure_memory_seconds * 1000)
        retry = min(failing.values()) + memory_ms - now
        return Denied(retry / 1000.0, Rule.FAILURE_BUDGET, f"{len(failing)} hotkeys failed")

    async def record_failure(self, validator: str, egress_ip: str, hotkey: str) -> int:
        now = self._clock_ms()
        failing = self._failing(validator, egress_ip, now)
        failing[hotkey] = now
        self._failures[(validator, egress_ip)] = failing
        return len(failing)

    # ---- canary -------------------------------------------------------------------------

    def _canary_gate(self, ask: Ask, now: int) -> Denied | None:
        """While the token is unproven, only the canary of (validator, IP) may push."""
        key = (ask.validator, ask.egress_ip)
        canary = self._canaries.get(key)
        lease_ms = self.budgets.canary_lease_seconds * 1000
        if canary is None or canary[0] == ask.hotkey or now - canary[1] > lease_ms:
            self._canaries[key] = (ask.hotkey, now)
            return None
        return Denied(self.budgets.canary_retry_seconds, Rule.CANARY, canary[0])

    async def token_accepted(self, validator: str, token: str) -> None:
        self._proven[validator] = token

    async def token_suspect(self, validator: str) -> None:
        self._proven.pop(validator, None)

    # ---- tokens -------------------------------------------------------------------------

    async def record_token(self, validator: str, token: str, age_seconds: float = 0.0) -> None:
        sighted = self._clock_ms() - round(age_seconds * 1000)
        known = self._tokens.get(validator)
        if known is None or (known[0] != token and sighted >= known[1]):
            self._tokens[validator] = (token, sighted)

    def _usable_token(self, validator: str, now: int) -> str | None:
        known = self._tokens.get(validator)
        if known is None or self._parked.get(validator) == known[0]:
            return None
        if now - known[1] > self.budgets.token_max_age_seconds * 1000:
            return None
        return known[0]

    async def token(self, validator: str) -> str | None:
        return self._usable_token(validator, self._clock_ms())

    async def token_rejected(self, validator: str, token: str) -> None:
        self._parked[validator] = token

    def rejected_token(self, validator: str) -> str | None:
        """The last token `validator` rejected, as seen by this process."""
        return self._parked.get(validator)

    @property
    def degraded(self) -> bool:
        return False

    async def close(self) -> None:
        return None
