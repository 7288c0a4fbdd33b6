"""Fail closed when the shared store cannot answer: a conservative local share, never open.

While Redis is unreachable a runtime cannot see what its neighbours on the egress IP
are sending, so it assumes the worst: the IP's budget is split evenly among the expected
number of co-located hotkeys and the fleet's among the expected fleet size, with no
bursts. Each outage starts every local budget at a random point of its interval: had they
all started empty, every runtime would send at once the moment Redis went away (the
fleet's burst the shared budgets exist to prevent); spread at random, the fleet's sends
average its share with no synchronised edge. Pauses are kept locally too. Every
`retry_seconds` (1 s) the next acquire tries Redis again; the first answer ends the outage.
Reservations are short-lived and need no reconciling; a pause learnt locally keeps
holding this process back until it ends, whatever Redis says. No request is ever granted
without one of the two answering. Pushes are not granted by the local share at all: they
wait for the shared store (`_held_push`), because a push can fail on a stale token and
only the fleet's lease and failure memory keep such failures to one hotkey per IP.

A store that refuses us (a wrong password, a certificate that does not verify) is handled
the same way, never opened up: but it is the configuration's fault and retrying cannot
mend it, so it is logged once as an error saying what to fix, and its reason is kept for
`/status` instead of passing for an outage.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Ask, Budgets, Decision, Denied, FailureMemory, Rate, Rule
from miner_runtime.logs import log_event

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class StoreFailure:
    """Why the shared store did not answer: `reason` for `/status`; `fix` is set when the
    configuration is at fault (retrying cannot help) and says what to check."""

    reason: str
    fix: str | None = None


OUTAGE = StoreFailure("unreachable")


def local_share(budgets: Budgets, colocated: int, fleet_size: int | None = None) -> Budgets:
    """One process's share of the budgets when it cannot coordinate with the others: the
    IP's rate divided among the `colocated` hotkeys on its egress IP, the fleet's among
    the `fleet_size` hotkeys of the fleet (default: `colocated`), no bursts. The other
    rules (failure budget, steering, token epochs) are kept as they are."""
    fleet_size = colocated if fleet_size is None else fleet_size
    if colocated < 1 or fleet_size < colocated:
        raise ValueError("need 1 <= colocated <= fleet_size")
    per_process = min(
        budgets.hotkey.per_second,
        budgets.egress_ip.per_second / colocated,
        budgets.fleet.per_second / fleet_size,
    )
    return dataclasses.replace(
        budgets,
        hotkey=Rate(per_process, burst=1),
        egress_ip=Rate(per_process, burst=1),
        fleet=Rate(per_process, burst=1),
    )


class FailClosedCoordinator:
    def __init__(
        self,
        primary: BudgetCoordinator,
        *,
        budgets: Budgets,
        colocated: int,
        fleet_size: int | None = None,
        unavailable: tuple[type[Exception], ...],
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        # What an `unavailable` error means; None: not the store failing us (re-raised).
        diagnose: Callable[[Exception], StoreFailure | None] = lambda exc: OUTAGE,
    ) -> None:
        self.primary = primary
        self.local = MemoryCoordinator(
            local_share(budgets, colocated, fleet_size),
            first_slot_ms=lambda interval_ms: random.randint(0, interval_ms),
        )
        self._unavailable = unavailable
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._retry_at: float | None = None
        self._diagnose = diagnose
        self._failure: StoreFailure | None = None  # while degraded: why
        self.outages = 0  # how many times the shared store went away

    @property
    def degraded(self) -> bool:
        """True while the shared store is considered down (the local share applies to
        game data; pushes wait)."""
        return self._retry_at is not None

    @property
    def reason(self) -> str | None:
        """Why the shared store is not used (`unreachable`, `auth`, `tls`); None while it is."""
        return self._failure.reason if self._failure is not None else None

    async def acquire(self, ask: Ask) -> Decision:
        # A pause learnt while Redis was down stays in force after it comes back.
        local_pause = self.local.paused(ask.validator, ask.egress_ip)
        if local_pause is not None:
            return local_pause
        decision = await self._shared(lambda: self.primary.acquire(ask))
        if decision is not None:
            return decision
        return self._held_push(ask) or await self.local.acquire(ask)

    async def check(self, ask: Ask) -> Decision:
        local_pause = self.local.paused(ask.validator, ask.egress_ip)
        if local_pause is not None:
            return local_pause
        decision = await self._shared(lambda: self.primary.check(ask))
        if decision is not None:
            return decision
        return self._held_push(ask) or await self.local.check(ask)

    def _held_push(self, ask: Ask) -> Denied | None:
        """Pushes wait for the shared store. Their safety is the fleet's push lease and its
        memory of failing hotkeys, which no process can keep alone: after a validator
        restart, runtimes pushing on their own each spend a failure with the stale token
        (seen: 17 hotkeys of one IP, and the IP cooled down). Game data cannot fail that
        way and goes on at the local share."""
        if not ask.push:
            return None
        return Denied(self._retry_seconds, Rule.STORE_DOWN, self.reason or "")

    async def release(self, validator: str, egress_ip: str, hotkey: str) -> None:
        await self.local.release(validator, egress_ip, hotkey)
        await self._shared(lambda: self.primary.release(validator, egress_ip, hotkey))

    async def await_release(self, validator: str, egress_ip: str, at_most: float) -> None:
        await self._shared(lambda: self.primary.await_release(validator, egress_ip, at_most))
        if self.degraded:  # the lease, and so the wake-up, is this process's own now
            await self.local.await_release(validator, egress_ip, at_most)

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        await self.local.pause(validator, egress_ip, seconds, reason)
        await self._shared(lambda: self.primary.pause(validator, egress_ip, seconds, reason))

    async def record_failure(
        self, validator: str, egress_ip: str, hotkey: str, rejected_token: str | None = None
    ) -> FailureMemory:
        local = await self.local.record_failure(validator, egress_ip, hotkey, rejected_token)
        shared = await self._shared(
            lambda: self.primary.record_failure(validator, egress_ip, hotkey, rejected_token)
        )
        if shared is None:
            return local
        # Either side may have seen the restart; each keeps its own life of failures.
        return FailureMemory(
            max(local.distinct, shared.distinct), local.restarted or shared.restarted
        )

    async def record_token(self, validator: str, token: str, age_seconds: float = 0.0) -> None:
        await self.local.record_token(validator, token, age_seconds)
        await self._shared(lambda: self.primary.record_token(validator, token, age_seconds))

    async def token(self, validator: str) -> str | None:
        """Only a token both sides would use: a rejection seen locally keeps holding."""
        local = await self.local.token(validator)
        shared = await self._shared(lambda: self.primary.token(validator))
        if shared is None or shared == self.local.rejected_token(validator):
            return local
        return shared

    async def token_accepted(self, validator: str, token: str) -> None:
        await self.local.token_accepted(validator, token)
        await self._shared(lambda: self.primary.token_accepted(validator, token))

    async def token_suspect(self, validator: str) -> None:
        await self.local.token_suspect(validator)
        await self._shared(lambda: self.primary.token_suspect(validator))

    async def _shared(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """Run one call on the shared store; None (and degraded) when it cannot answer."""
        if self._retry_at is not None and self._clock() < self._retry_at:
            return None
        try:
            result = await call()
        except self._unavailable as exc:
            failure = self._diagnose(exc)
            if failure is None:  # e.g. a script error: a bug to surface, not an outage
                raise
            self._went_down(failure, exc)
            return None
        self._came_back()
        return result

    async def close(self) -> None:
        await self.primary.close()

    def _went_down(self, failure: StoreFailure, exc: Exception) -> None:
        if self._retry_at is None:
            self.local.forget_budgets()  # a fresh, randomly phased local schedule
            self.outages += 1
        if failure != self._failure:  # once per outage, and again if its cause changes
            _report(failure, exc)
        self._failure = failure
        self._retry_at = self._clock() + self._retry_seconds

    def _came_back(self) -> None:
        if self._retry_at is not None:
            log_event(logger, "budget_store_recovered")
        self._retry_at = None
        self._failure = None


def _report(failure: StoreFailure, exc: Exception) -> None:
    """One log line: a warning for an outage, an error naming the fix for a refusal. Only
    the exception's class is logged; its text may quote what the server was sent."""
    error = type(exc).__name__
    if failure.fix is None:
        log_event(logger, "budget_store_down", logging.WARNING, reason=failure.reason, error=error)
        return
    log_event(
        logger,
        "budget_store_refused",
        logging.ERROR,
        reason=failure.reason,
        error=error,
        fix=failure.fix,
        meanwhile="sending at this runtime's local share",
    )


def degraded_reason(coordinator: BudgetCoordinator) -> str | None:
    """Why `coordinator` is not using its shared store (None: it is, or it has none)."""
    return coordinator.reason if isinstance(coordinator, FailClosedCoordinator) else None
