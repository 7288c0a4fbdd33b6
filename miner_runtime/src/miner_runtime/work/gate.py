"""One hotkey's door to its validators: the fleet's budgets before each request, and what
each reply teaches the fleet after it (validator-defences.md §13).

Before: one request at a time per validator from this hotkey; this hotkey's own pauses;
then one `acquire` against the fleet's budgets (pause of the egress IP, failure budget,
token and canary, the fleet, IP and hotkey rates). A grant that has to wait for its slot,
and every push, is checked again just before it leaves (one round trip), because a 429 or
a validator restart another hotkey saw meanwhile must stop it; a push's check also takes
the egress IP's push lease (one push in flight per validator and IP, given back when the
turn ends), so a stale token fails once per IP, not once per push in flight.

After: a 429, an internal error, a global rate limit or an unreachable validator pauses
every hotkey on the egress IP; a failure the validator counts is recorded against the
(validator, egress IP) failure budget; a push's token is marked proven when accepted and
parked fleet-wide on `token_invalid`; an unreachable validator makes the token suspect,
so after a restart only the canary pushes until a push is accepted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.model import Ask, Decision, Denied, Grant, Rule
from miner_runtime.control.metrics import RuntimeMetrics
from miner_runtime.logs import log_event
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.validator.replies import Reply, ReplyKind
from miner_runtime.validator.selection import NeuronView
from miner_runtime.work.backoff import Backoff
from miner_runtime.work.link import ValidatorLink
from miner_runtime.work.status import WorkStatus

logger = logging.getLogger(__name__)

# The guide's names for each request, used as `{op}_rejected` log events.
_OPERATION = {
    SynapseType.ODDS_PUSH: "submit_odds",
    SynapseType.OUTCOME_PUSH: "submit_outcome",
    SynapseType.GAME_DATA_REQUEST: "fetch_game_data",
}
_TOKEN_ERRORS = frozenset({"token_invalid", "token_missing"})
# How long one wait for a push lease to be given back may block before checking again.
BUSY_WAIT = 0.2
# Refusals worth waiting out within one turn: they clear by themselves within seconds.
_WAIT_OUT = frozenset({Rule.CANARY, Rule.BUSY, Rule.BUDGET})


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Pass:
    """Admission to send one request now; `token` is what a push carries; `proving`: the
    token is unproven and this is the canary's push, whose answer the fleet waits for."""

    token: str | None = None
    proving: bool = False


class Gate:
    def __init__(
        self,
        *,
        link: ValidatorLink,
        coordinator: BudgetCoordinator,
        hotkey: str,
        egress_ip: str,
        metrics: RuntimeMetrics | None = None,
        status: WorkStatus | None = None,
        backoff: Backoff | None = None,
        patience_seconds: float = 30.0,
        now: Callable[[], dt.datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.link = link
        self.coordinator = coordinator
        self.hotkey = hotkey
        self.egress_ip = egress_ip
        self.metrics = metrics or RuntimeMetrics()
        self.status = status or WorkStatus()
        self.backoff = backoff or Backoff()
        # While another hotkey proves a new token, or every slot within the booking
        # horizon is taken, wait this long before giving up on the validator for the round.
        self.patience_seconds = patience_seconds
        self._now = now
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}

    # ---- before --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def turn(self, validator: str, *, push: bool) -> AsyncIterator[Pass | None]:
        """Our turn to send `validator` one request: a `Pass` once every budget allows it
        (after waiting for the slot), or None when a rule holds it back (nothing reserved
        for later; ask again in a later round). Plan the request inside the turn, so a
        planned send leaves at once: a crash leaves at most the one in flight in doubt."""
        lock = self._locks.setdefault(validator, asyncio.Lock())
        async with lock:
            admitted = await self._admit(validator, push)
            try:
                yield admitted
            finally:
                if admitted is not None and push:
                    await self.coordinator.release(validator, self.egress_ip, self.hotkey)

    def paused(self, validator: str) -> bool:
        """This hotkey's own pause for `validator` (the fleet's is asked in `turn`)."""
        return self.backoff.paused(validator, self._now()) is not None

    async def _admit(self, validator: str, push: bool) -> Pass | None:
        now = self._now()
        own = self.backoff.paused(validator, now)
        if own is not None:
            self._held(validator, Denied(own.remaining(now), Rule.PAUSED, own.reason))
            return None
        ask = Ask(validator, self.hotkey, self.egress_ip, push)
        decision = await self._wait_out(self.coordinator.acquire, ask)
        if isinstance(decision, Grant) and (decision.wait > 0 or push):
            self.metrics.budget_wait_seconds.observe(decision.wait)
            if decision.wait > 0:
                await self._sleep(decision.wait)
            decision = await self._wait_out(self.coordinator.check, ask)
        self.metrics.budget_store_degraded.set(1 if self.coordinator.degraded else 0)
        if isinstance(decision, Denied):
            self._held(validator, decision)
            return None
        view = self.status.budget(validator)
        view.held_by, view.held_until = None, None
        if push:
            view.token_usable = True
        return Pass(decision.token, decision.proving)

    async def _wait_out(
        self, ask_store: Callable[[Ask], Awaitable[Decision]], ask: Ask
    ) -> Decision:
        """Ask, waiting out a canary's answer, a push in flight or a slot beyond the booking
        horizon (up to the patience) rather than giving the validator up for a round."""
        waited = 0.0
        while True:
            decision = await ask_store(ask)
            if not isinstance(decision, Denied) or decision.rule not in _WAIT_OUT:
                return decision
            if waited + decision.retry_after > self.patience_seconds:
                return decision
            if decision.rule is Rule.BUSY:
                # Woken when the push in flight is answered (no polling); real time.
                started = time.monotonic()
                await self.coordinator.await_release(ask.validator, ask.egress_ip, BUSY_WAIT)
                waited += time.monotonic() - started
                continue
            await self._sleep(decision.retry_after)
            waited += decision.retry_after

    def _held(self, validator: str, refusal: Denied) -> None:
        self.metrics.budget_refusals.labels(validator, refusal.rule.value).inc()
        view = self.status.budget(validator)
        view.held_by = refusal.reason
        view.held_until = self._now() + dt.timedelta(seconds=refusal.retry_after)
        if refusal.rule is Rule.NO_TOKEN:
            view.token_usable = False

    # ---- tokens --------------------------------------------------------------------------

    async def token_received(self, validator: str, token: str, received_at: dt.datetime) -> bool:
        """A CONNECTION_INFO (now, or kept from before a restart): it serves the fleet.
        Returns True when pushes to `validator` were held for want of a token and no
        longer are (the caller catches up)."""
        before = await self.coordinator.token(validator)
        age = max(0.0, (self._now() - received_at).total_seconds())
        await self.coordinator.record_token(validator, token, age)
        after = await self.coordinator.token(validator)
        view = self.status.budget(validator)
        view.token_received_at = received_at
        view.token_usable = after is not None
        return before is None and after is not None

    # ---- after ---------------------------------------------------------------------------

    async def send(
        self,
        validator: NeuronView,
        message_type: SynapseType,
        payload: dict[str, Any],
        admitted: Pass,
    ) -> Reply:
        """Send within a turn, on the `Pass` it gave; what the reply says is shared with
        the fleet before the reply is returned."""
        reply = await self.link.send(validator, message_type, payload)
        self._count(validator.hotkey, message_type, reply)
        await self._learn(validator.hotkey, reply, admitted)
        return reply

    def _count(self, validator: str, message_type: SynapseType, reply: Reply) -> None:
        now = self._now()
        self.metrics.requests.labels(message_type.value, validator, reply.kind.value).inc()
        if reply.ok:
            self.status.accepted(validator, now)
            return
        self.status.rejected(validator, reply.error or reply.kind.value, now)
        log_event(
            logger,
            f"{_OPERATION.get(message_type, message_type.value)}_rejected",
            logging.WARNING,
            validator=validator,
            kind=reply.kind.value,
            status_code=reply.status_code,
            error=reply.error,
            message=reply.message,
        )

    async def _learn(self, validator: str, reply: Reply, admitted: Pass) -> None:
        penalty = self.backoff.observe(validator, reply, self._now())
        if penalty is not None:
            if penalty.shared:
                await self.coordinator.pause(
                    validator, self.egress_ip, penalty.seconds, penalty.reason
                )
            self.metrics.paused_seconds.labels(validator).set(penalty.seconds)
            log_event(
                logger,
                "validator_backoff",
                logging.WARNING,
                validator=validator,
                seconds=round(penalty.seconds, 1),
                reason=penalty.reason,
                scope="egress_ip" if penalty.shared else "hotkey",
            )
        if reply.counted_as_failure:
            failing = await self.coordinator.record_failure(validator, self.egress_ip, self.hotkey)
            self.status.budget(validator).failing_hotkeys = failing
            self.metrics.failing_hotkeys.labels(validator).set(failing)
            log_event(
                logger,
                "validator_failure_recorded",
                logging.WARNING,
                validator=validator,
                error=reply.error,
                failing_hotkeys=failing,
            )
        if reply.banned:
            self.status.budget(validator).banned = True
        if admitted.token is not None:
            await self._learn_token(validator, reply, admitted)
        if reply.kind is ReplyKind.UNREACHABLE:
            await self.coordinator.token_suspect(validator)

    async def _learn_token(self, validator: str, reply: Reply, admitted: Pass) -> None:
        assert admitted.token is not None
        if reply.ok and admitted.proving:
            await self.coordinator.token_accepted(validator, admitted.token)
        elif reply.error in _TOKEN_ERRORS:
            self.status.budget(validator).token_usable = False
            await self.coordinator.token_rejected(validator, admitted.token)
