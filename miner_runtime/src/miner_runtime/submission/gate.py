"""One hotkey's door to its validators: the fleet's budgets before each request, and what
each reply teaches the fleet after it (docs/decisions.md § Fleet budgets).

A request goes in three steps. `turn` waits for this hotkey's slot: one request at a time
per validator from this hotkey, this hotkey's own pauses, then one `acquire` against the
fleet's budgets (the egress IP's pause, the failure budget, a usable token for a push, the
fleet, IP and hotkey rates). Inside the turn the caller plans what to send (a plan may be
empty: then nothing more happens, and no push lease or proof is claimed by a hotkey with
nothing to send). `send` then checks the gates once more just before the request leaves
(a 429 or a restart a neighbour saw meanwhile must stop it); a push's check also steers an
unproven token to a hotkey the validator already counts as failing and takes the egress
IP's push lease, which covers only the network send and what its reply teaches the fleet.

After: a 429, an internal error, a global rate limit or an unreachable validator pauses
every hotkey on the egress IP; a failure the validator counts is remembered for the
(validator, egress IP) in the validator's current life; a token is proven when a push with
it is accepted and parked fleet-wide on `token_invalid`, which, for a proven token still
within its validity, is the evidence of a validator restart: the fleet's memory of that
validator's failures starts again, as the validator's own did.
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
from miner_runtime.clock import utc_now
from miner_runtime.logs import log_event
from miner_runtime.observability.metrics import RuntimeMetrics
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.submission.backoff import Backoff
from miner_runtime.submission.status import WorkStatus
from miner_runtime.validator_client.replies import Reply, ReplyKind
from miner_runtime.validator_client.selection import NeuronView
from miner_runtime.validator_client.transport import ValidatorLink

logger = logging.getLogger(__name__)

# The reference miner's names for each request, used as `{op}_rejected` log events.
_OPERATION = {
    SynapseType.ODDS_PUSH: "submit_odds",
    SynapseType.OUTCOME_PUSH: "submit_outcome",
    SynapseType.GAME_DATA_REQUEST: "fetch_game_data",
}
_TOKEN_ERRORS = frozenset({"token_invalid", "token_missing"})
# How long one wait for a push lease to be given back may block before checking again.
BUSY_WAIT = 0.2
# Refusals worth waiting out within one turn: they clear by themselves within seconds.
_WAIT_OUT = frozenset({Rule.STEERED, Rule.BUSY, Rule.BUDGET, Rule.STORE_DOWN})


@dataclass(frozen=True)
class Pass:
    """Admission to send one request in this turn. `token`: the token a push would carry
    (the final check may hand a newer one); `checked`: the gates were asked at the moment
    of admission with nothing to wait for, so a request that is not a push may leave as is."""

    push: bool
    token: str | None = None
    checked: bool = False


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
        # While steering keeps an unproven token for a hotkey that already failed, another
        # push holds the lease, or every slot within the booking horizon is taken, wait
        # this long before giving up on the validator for the round.
        self.patience_seconds = patience_seconds
        self._now = now
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        # The last token each validator gave this hotkey: a different one means catch up.
        self._tokens: dict[str, str] = {}

    # ---- before --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def turn(self, validator: str, *, push: bool) -> AsyncIterator[Pass | None]:
        """Our turn to send `validator` one request: a `Pass` once this hotkey's slot has
        come (after waiting for it), or None when a rule holds it back (nothing reserved;
        ask again later). Plan the request inside the turn and hand it to `send`, so a
        planned request leaves at once: a crash leaves at most the one in flight in doubt."""
        lock = self._locks.setdefault(validator, asyncio.Lock())
        async with lock:
            yield await self._admit(validator, push)

    def paused(self, validator: str) -> bool:
        """This hotkey's own pause for `validator` (the fleet's is asked in `turn`)."""
        return self.backoff.paused(validator, self._now()) is not None

    async def _admit(self, validator: str, push: bool) -> Pass | None:
        now = self._now()
        own = self.backoff.paused(validator, now)
        if own is not None:
            self._held(validator, Denied(own.remaining(now), Rule.PAUSED, own.reason))
            return None
        decision = await self._wait_out(
            self.coordinator.acquire, Ask(validator, self.hotkey, self.egress_ip, push)
        )
        self.metrics.budget_store_degraded.set(1 if self.coordinator.degraded else 0)
        if isinstance(decision, Denied):
            self._held(validator, decision)
            return None
        self._cleared(validator, push)
        if decision.wait > 0 or push:
            self.metrics.budget_wait_seconds.observe(decision.wait)
        if decision.wait > 0:
            await self._sleep(decision.wait)
        return Pass(push, decision.token, checked=decision.wait <= 0)

    async def _final_check(self, validator: str, admitted: Pass) -> Grant | None:
        """The gates once more just before the request leaves; a push takes the egress
        IP's lease here. None: held (nothing was sent, nothing is held)."""
        if admitted.checked and not admitted.push:
            return Grant(0.0)
        ask = Ask(validator, self.hotkey, self.egress_ip, admitted.push)
        decision = await self._wait_out(self.coordinator.check, ask)
        if isinstance(decision, Denied):
            self._held(validator, decision)
            return None
        self._cleared(validator, admitted.push)
        return decision

    def _cleared(self, validator: str, push: bool) -> None:
        view = self.status.budget(validator)
        view.held_by, view.held_until = None, None
        if push:
            view.token_usable = True

    async def _wait_out(
        self, ask_store: Callable[[Ask], Awaitable[Decision]], ask: Ask
    ) -> Decision:
        """Ask, waiting out steering, a push in flight, a slot beyond the booking horizon or
        a blip of the shared store (up to the patience) rather than giving the validator up
        for a round."""
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
        Returns True when the token differs from the last one this hotkey was given by
        `validator` and is usable: pushes held for want of it (by this runtime or by the
        fleet) go now, so the caller catches up at once."""
        changed = self._tokens.get(validator) != token
        self._tokens[validator] = token
        age = max(0.0, (self._now() - received_at).total_seconds())
        await self.coordinator.record_token(validator, token, age)
        usable = await self.coordinator.token(validator) is not None
        view = self.status.budget(validator)
        view.token_received_at = received_at
        view.token_usable = usable
        return changed and usable

    # ---- after ---------------------------------------------------------------------------

    async def send(
        self,
        validator: NeuronView,
        message_type: SynapseType,
        build: Callable[[str | None], dict[str, Any]],
        admitted: Pass,
    ) -> Reply | None:
        """Send within a turn, on the `Pass` it gave: the final check, then the request
        that `build(token)` makes; what the reply says is shared with the fleet before the
        push lease is given back and the reply returned. None: held at the final check,
        nothing was sent (the caller un-plans)."""
        granted = await self._final_check(validator.hotkey, admitted)
        if granted is None:
            return None
        try:
            reply = await self.link.send(validator, message_type, build(granted.token))
            self._count(validator.hotkey, message_type, reply)
            await self._learn(validator.hotkey, reply, granted)
        finally:
            if admitted.push:
                await self.coordinator.release(validator.hotkey, self.egress_ip, self.hotkey)
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

    async def _learn(self, validator: str, reply: Reply, granted: Grant) -> None:
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
        rejected = granted.token if reply.error in _TOKEN_ERRORS else None
        if rejected is not None:
            self.status.budget(validator).token_usable = False
        if reply.counted_as_failure:
            await self._remember_failure(validator, reply, rejected, granted.proving)
        if reply.banned:
            self.status.budget(validator).banned = True
        if granted.token is not None and reply.ok and granted.proving:
            await self.coordinator.token_accepted(validator, granted.token)
        if reply.kind is ReplyKind.UNREACHABLE:
            await self.coordinator.token_suspect(validator)

    async def _remember_failure(
        self, validator: str, reply: Reply, rejected: str | None, proving: bool
    ) -> None:
        memory = await self.coordinator.record_failure(
            validator, self.egress_ip, self.hotkey, rejected
        )
        self.status.budget(validator).failing_hotkeys = memory.distinct
        self.metrics.failing_hotkeys.labels(validator).set(memory.distinct)
        if memory.restarted:
            self.metrics.validator_restarts.labels(validator).inc()
        log_event(
            logger,
            "validator_failure_recorded",
            logging.WARNING,
            validator=validator,
            error=reply.error,
            hotkey=self.hotkey,
            failing_hotkeys=memory.distinct,
            validator_restarted=memory.restarted,
            token_was_unproven=proving,
        )
