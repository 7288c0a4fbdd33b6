"""Game sync, odds cycles and outcome pushes for one hotkey, against every validator.

Rules this module keeps (sparket-protocol.md, validator-defences.md):
- only permitted validators with a served axon are addressed (the chain snapshot decides);
- each validator gets its own token, shared by the fleet; no token (or a rejected one)
  means no pushes to it, while game data, which needs no token, still flows;
- every request goes through the work gate (gate.py): the fleet's budgets, pauses shared
  by the egress IP, the failure budget and the canary; one request in flight per validator;
- odds go out in batches of `batch_size` markets, only when a price changed, respecting
  the 60 s bucket and the 200-rows-a-day cap (the store decides; see `plan_odds_sends`);
- every send is recorded as pending *before* it leaves and completed after; a reply that
  proves the validator stored nothing marks it failed (sendable again), an ambiguous one
  (timeout, internal error) leaves it pending, which counts as stored: never sent twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Collection, Sequence

from pydantic import ValidationError

from miner_runtime.logs import log_event
from miner_runtime.pricing.engine import MarketQuery, PricingEngine
from miner_runtime.pricing.quotes import accept
from miner_runtime.protocol.models import (
    GameDataResponse,
    League,
    OddsPush,
    OddsSubmission,
    OutcomePush,
)
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.storage import SendState, Store
from miner_runtime.validator.replies import Reply, ReplyKind
from miner_runtime.validator.selection import NeuronView
from miner_runtime.work.gate import Gate, utc_now
from miner_runtime.work.outcomes import EventResult
from miner_runtime.work.status import CycleReport

logger = logging.getLogger(__name__)

# Listener errors raised before any handler ran: the validator certainly stored nothing.
_NOTHING_STORED_ERRORS = frozenset(
    {"rate_limited", "token_invalid", "token_missing", "not_ready", "unknown_type"}
)


def completion_state(reply: Reply) -> SendState | None:
    """How to complete a pending send after `reply`; None leaves it pending (in doubt)."""
    if reply.kind is ReplyKind.ACCEPTED:
        return SendState.ACCEPTED
    if reply.kind in (ReplyKind.COOLDOWN, ReplyKind.FORBIDDEN, ReplyKind.PROTOCOL_ERROR):
        return SendState.FAILED  # refused before the validator's forward ran
    if reply.kind is ReplyKind.REJECTED and reply.error in _NOTHING_STORED_ERRORS:
        return SendState.FAILED
    return None  # timeout, unreachable, internal_error: maybe stored


class Submitter:
    def __init__(
        self,
        *,
        store: Store,
        gate: Gate,
        pricing: PricingEngine,
        batch_size: int,
        leagues: Collection[League] | None = None,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.store = store
        self.gate = gate
        self.pricing = pricing
        self.batch_size = batch_size
        # None prices every league; otherwise only these (the SparketMiner's spec.leagues).
        self.leagues = frozenset(leagues) if leagues is not None else None
        # One set of figures per runtime: the gate's, which every reply passes through.
        self.metrics = gate.metrics
        self.status = gate.status
        self._now = now

    # ---- game data -----------------------------------------------------------------

    async def sync_games(self, validators: Sequence[NeuronView]) -> int | None:
        """Fetch the snapshot from the first validator that answers; None if none did."""
        for validator in validators:
            if self.gate.paused(validator.hotkey):
                continue
            async with self.gate.turn(validator.hotkey, push=False) as admitted:
                if admitted is None:
                    continue
                reply = await self.gate.send(validator, SynapseType.GAME_DATA_REQUEST, {}, admitted)
            if not reply.ok:
                continue
            try:
                snapshot = GameDataResponse.model_validate(reply.payload)
            except ValidationError as exc:
                log_event(
                    logger,
                    "fetch_game_data_invalid",
                    logging.WARNING,
                    validator=validator.hotkey,
                    errors=exc.error_count(),
                )
                continue
            now = self._now()
            games = await asyncio.to_thread(self.store.upsert_games, snapshot.games, now)
            markets = sum(len(g.markets) for g in snapshot.games)
            self.status.last_game_sync_at = now
            self.status.games_synced = games
            log_event(
                logger,
                "fetch_game_data",
                validator=validator.hotkey,
                games=games,
                retrieved_at=snapshot.retrieved_at.isoformat() if snapshot.retrieved_at else None,
            )
            log_event(
                logger, "game_data_sync", status="ok", games_synced=games, markets_synced=markets
            )
            return games
        return None

    # ---- odds ----------------------------------------------------------------------

    async def odds_cycle(self, validators: Sequence[NeuronView]) -> CycleReport:
        """Price the active markets and push what changed to every validator."""
        started, clock = self._now(), time.perf_counter()
        markets = await asyncio.to_thread(self.store.active_markets, started)
        if self.leagues is not None:
            markets = [m for m in markets if m.league in self.leagues]
        quotes = await self.pricing_cycle(markets, started)
        self.status.active_markets = len(markets)
        self.metrics.active_markets.set(len(markets))
        results = await asyncio.gather(
            *(self._push_odds(validator, quotes) for validator in validators)
        )
        report = CycleReport(
            started_at=started,
            markets=len(markets),
            batches=sum(r[0] for r in results),
            submitted=sum(r[1] for r in results),
            skipped=sum(r[2] for r in results),
            validators=len(validators),
            seconds=time.perf_counter() - clock,
        )
        self.status.last_cycle = report
        self.metrics.cycle_seconds.observe(report.seconds)
        log_event(
            logger,
            "base_miner_odds_cycle",
            markets=report.markets,
            batches=report.batches,
            submitted=report.submitted,
            skipped=report.skipped,
            validators=report.validators,
        )
        return report

    async def pricing_cycle(
        self, markets: Sequence[MarketQuery], now: dt.datetime
    ) -> list[OddsSubmission]:
        """The engine's quotes that pass validation, as submissions (the rest dropped)."""
        quoted = await self.pricing.quote(markets, now)
        condition = self.pricing.condition()
        submissions, dropped = accept(markets, quoted, now, engine=condition.engine)
        if dropped:
            self.status.quotes_dropped += len(dropped)
            self.metrics.quotes_dropped.labels(condition.engine).inc(len(dropped))
        self.metrics.pricing_degraded.set(1 if condition.degraded else 0)
        return submissions

    async def _push_odds(
        self, validator: NeuronView, quotes: Sequence[OddsSubmission]
    ) -> tuple[int, int, int]:
        """Returns (batches sent, markets accepted, markets skipped) for one validator."""
        typed = list(quotes)
        batches = submitted = skipped = 0
        position = 0
        while position < len(typed):
            async with self.gate.turn(validator.hotkey, push=True) as admitted:
                if admitted is None or admitted.token is None:
                    break
                now = self._now()
                plan = await asyncio.to_thread(
                    self.store.plan_odds_sends,
                    validator.hotkey,
                    typed[position:],
                    now,
                    limit=self.batch_size,
                )
                position += plan.examined
                skipped += len(plan.skipped)
                for reason in plan.skipped.values():
                    self.metrics.markets_skipped.labels(reason.value).inc()
                if not plan.submissions:
                    continue
                payload = OddsPush(submissions=plan.submissions, token=admitted.token).to_wire()
                reply = await self.gate.send(validator, SynapseType.ODDS_PUSH, payload, admitted)
            batches += 1
            state = completion_state(reply)
            if state is not None:
                await self._complete_odds(plan.row_ids, state)
            if not reply.ok:
                break  # any failure: stop this validator for this cycle (the gate learnt it)
            submitted += len(plan.submissions)
            self.metrics.markets_submitted.labels(validator.hotkey).inc(len(plan.submissions))
        return batches, submitted, skipped

    async def _complete_odds(self, row_ids: Sequence[int], state: SendState) -> None:
        await asyncio.to_thread(self.store.complete_odds_sends, row_ids, state, self._now())

    # ---- outcomes ------------------------------------------------------------------

    async def push_outcomes(
        self, validators: Sequence[NeuronView], results: Sequence[EventResult]
    ) -> int:
        """Send each result once per validator (again only if it changes). Returns sends."""
        totals = await asyncio.gather(*(self._push_outcomes(v, results) for v in validators))
        sent = sum(totals)
        self.status.outcomes_sent += sent
        if sent:
            log_event(logger, "base_miner", status="outcomes_submitted", count=sent)
        return sent

    async def _push_outcomes(self, validator: NeuronView, results: Sequence[EventResult]) -> int:
        sent = 0
        for result in results:
            async with self.gate.turn(validator.hotkey, push=True) as admitted:
                if admitted is None or admitted.token is None:
                    break
                now = self._now()
                planned = await asyncio.to_thread(
                    self.store.plan_outcome_send,
                    validator.hotkey,
                    result.event_id,
                    now,
                    result.result,
                    result.score_home,
                    result.score_away,
                )
                if planned is None:
                    continue  # this validator already has it
                payload = OutcomePush(
                    event_id=result.event_id,
                    result=result.result,
                    score_home=result.score_home,
                    score_away=result.score_away,
                    token=admitted.token,
                ).to_wire()
                reply = await self.gate.send(validator, SynapseType.OUTCOME_PUSH, payload, admitted)
            state = completion_state(reply)
            if state is not None:
                await asyncio.to_thread(
                    self.store.complete_outcome_send, planned.id, state, self._now()
                )
            if not reply.ok:
                break
            sent += 1
        return sent
