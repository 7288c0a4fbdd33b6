"""The budget rules for a single process, with the same semantics as the Redis scripts.

Also the reference the shared test suite holds the Redis backend to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from miner_runtime.budget.model import (
    Ask,
    Budgets,
    Decision,
    Denied,
    FailureMemory,
    Grant,
    Rule,
    token_expires_ms,
)


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
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._first_slot_ms = first_slot_ms
        self._tats: dict[tuple[str, ...], int] = {}
        self._pauses: dict[tuple[str, str], tuple[int, str]] = {}
        # Per validator: the life the fleet counts (a restart starts a new one) and the
        # token whose rejection started it; per (validator, IP): (life, {hotkey: ms}).
        self._lives: dict[str, int] = {}
        self._killed: dict[str, str] = {}
        self._failures: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}
        self._tokens: dict[str, tuple[str, int]] = {}
        self._parked: dict[str, str] = {}
        self._proven: dict[str, str] = {}
        self._accepted: dict[str, tuple[str, int]] = {}
        self._steered: dict[tuple[str, str], tuple[str, int]] = {}
        self._suspect_at: dict[str, int] = {}
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
            refused = self._steering(ask, admitted, now) or self._lease(ask, now)
            if refused is not None:
                return refused
        return Grant(0.0, *admitted)

    def _steering(self, ask: Ask, admitted: tuple[str | None, bool], now: int) -> Denied | None:
        """An unproven token may fail: for `steer_seconds` only a hotkey the validator
        already counts as failing on this IP may try it (when there is one)."""
        token, proving = admitted
        failing = self._failing(ask.validator, ask.egress_ip, now)
        if token is None or not proving or not failing or ask.hotkey in failing:
            return None
        key = (ask.validator, ask.egress_ip)
        steered = self._steered.get(key)
        # The window runs from the first refusal since the token became unproven.
        suspect_at = self._suspect_at.get(ask.validator, 0)
        if steered is None or steered[0] != token or steered[1] < suspect_at:
            steered = self._steered[key] = (token, now)
        if now - steered[1] < self.budgets.steer_seconds * 1000:
            detail = f"{len(failing)} hotkeys failed"
            return Denied(self.budgets.steer_retry_seconds, Rule.STEERED, detail)
        return None

    def _lease(self, ask: Ask, now: int) -> Denied | None:
        """One push in flight per (validator, egress IP): take the lease or be told busy."""
        key = (ask.validator, ask.egress_ip)
        lease = self._leases.get(key)
        if lease is not None and lease[0] != ask.hotkey and lease[1] > now:
            return Denied(self.budgets.busy_retry_seconds, Rule.BUSY, lease[0])
        self._leases[key] = (ask.hotkey, now + round(self.budgets.push_lease_seconds * 1000))
        return None

    async def release(self, validator: str, egress_ip: str, hotkey: str) -> None:
        lease = self._leases.get((validator, egress_ip))
        if lease is not None and lease[0] == hotkey:
            del self._leases[(validator, egress_ip)]
            self._released.setdefault((validator, egress_ip), asyncio.Event()).set()

    async def await_release(self, validator: str, egress_ip: str, at_most: float) -> None:
        released = self._released.setdefault((validator, egress_ip), asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):
                await released.wait()
        released.clear()

    def _gates(self, ask: Ask, now: int) -> Denied | tuple[str | None, bool]:
        """The refusal, or (the token a push may carry, whether it is still unproven)."""
        refused = self.paused(ask.validator, ask.egress_ip) or self._failure_budget(ask, now)
        if refused is not None:
            return refused
        if not ask.push:
            return None, False
        token = self._usable_token(ask.validator, now)
        if token is None:
            return Denied(self.budgets.no_token_retry_seconds, Rule.NO_TOKEN)
        return token, self._proven.get(ask.validator) != token

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
        """The hotkeys that failed on this IP in the validator's current life, in memory."""
        memory_ms = round(self.budgets.failure_memory_seconds * 1000)
        life, failing = self._failures.get((validator, egress_ip), (0, {}))
        if life != self._lives.get(validator, 0):
            return {}
        return {hk: at for hk, at in failing.items() if at > now - memory_ms}

    def _failure_budget(self, ask: Ask, now: int) -> Denied | None:
        failing = self._failing(ask.validator, ask.egress_ip, now)
        if ask.hotkey in failing or len(failing) < self.budgets.failing_hotkeys_limit:
            return None
        memory_ms = round(self.budgets.failure_memory_seconds * 1000)
        retry = min(failing.values()) + memory_ms - now
        return Denied(retry / 1000.0, Rule.FAILURE_BUDGET, f"{len(failing)} hotkeys failed")

    async def record_failure(
        self, validator: str, egress_ip: str, hotkey: str, rejected_token: str | None = None
    ) -> FailureMemory:
        now = self._clock_ms()
        restarted = False
        if rejected_token is not None:
            self._parked[validator] = rejected_token
            restarted = self._restart_evidence(validator, rejected_token, now)
            if restarted:
                self._lives[validator] = self._lives.get(validator, 0) + 1
                self._killed[validator] = rejected_token
        failing = self._failing(validator, egress_ip, now)
        failing[hotkey] = now
        self._failures[(validator, egress_ip)] = (self._lives.get(validator, 0), failing)
        return FailureMemory(len(failing), restarted)

    def _restart_evidence(self, validator: str, rejected: str, now: int) -> bool:
        """The newest token we hold, a push was accepted with it, rejected within its
        validity, and not already the evidence of an earlier restart: the validator lost
        its secret (restarted)."""
        accepted = self._accepted.get(validator)
        if accepted is None or accepted[0] != rejected or self._killed.get(validator) == rejected:
            return False
        current = self._tokens.get(validator)
        if current is None or current[0] != rejected:
            return False  # an older token may just have reached the end of its epochs
        return now < self._expires(max(accepted[1], current[1]))

    def _expires(self, seen_ms: int) -> int:
        return token_expires_ms(
            seen_ms,
            round(self.budgets.token_rotation_seconds * 1000),
            round(self.budgets.token_clock_skew_seconds * 1000),
        )

    # ---- tokens -------------------------------------------------------------------------

    async def record_token(self, validator: str, token: str, age_seconds: float = 0.0) -> None:
        sighted = self._clock_ms() - round(age_seconds * 1000)
        known = self._tokens.get(validator)
        if known is None or sighted >= known[1]:
            self._tokens[validator] = (token, sighted)

    def _usable_token(self, validator: str, now: int) -> str | None:
        known = self._tokens.get(validator)
        if known is None or self._parked.get(validator) == known[0]:
            return None
        if now >= self._expires(known[1]):
            return None
        return known[0]

    async def token(self, validator: str) -> str | None:
        return self._usable_token(validator, self._clock_ms())

    async def token_accepted(self, validator: str, token: str) -> None:
        known = self._tokens.get(validator)
        if known is not None and known[0] == token:
            self._proven[validator] = token
            self._accepted[validator] = known

    async def token_suspect(self, validator: str) -> None:
        self._proven.pop(validator, None)
        self._suspect_at[validator] = self._clock_ms()

    def rejected_token(self, validator: str) -> str | None:
        """The last token `validator` rejected, as seen by this process."""
        return self._parked.get(validator)

    @property
    def degraded(self) -> bool:
        return False

    async def close(self) -> None:
        return None
