"""Game sync, odds cycles and outcome pushes for one hotkey, against every validator.

Rules this module keeps (docs/protocol.md, docs/validator-facts.md):
- only permitted validators with a served axon are addressed (the chain snapshot decides);
- each validator gets its own token, shared by the fleet; no token (or a rejected one)
  means no pushes to it, while game data, which needs no token, still flows;
- every request goes through the work gate (gate.py): the fleet's budgets, pauses shared
  by the egress IP, the failure budget and token steering; one request in flight per validator;
- odds go out in batches of `batch_size` markets, only when a price changed, respecting
  the 60 s bucket and the 200-rows-a-day cap (storage/send_rules.py decides);
- every send is recorded as pending *before* it leaves and completed after; a reply that
  proves the validator stored nothing marks it failed (sendable again), an ambiguous one
  (timeout, internal error) leaves it pending, which counts as stored: never sent twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from miner_runtime.clock import utc_now
from miner_runtime.logs import log_event
from miner_runtime.pricing.engine import MarketQuery, PricingEngine
from miner_runtime.pricing.quotes import accept
from miner_runtime.protocol.messages import League, OddsPush, OddsSubmission, OutcomePush
from miner_runtime.protocol.snapshot import parse_game_data
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.storage import GameStore, OddsSendStore, OutcomeSendStore, SendState
from miner_runtime.submission.gate import Gate
from miner_runtime.submission.outcomes import EventResult
from miner_runtime.submission.status import CycleReport
from miner_runtime.validator_client.replies import Reply, ReplyKind
from miner_runtime.validator_client.selection import NeuronView

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
    if reply.never_delivered:
        return SendState.FAILED  # the connection failed: the validator never saw it
    return None  # timeout, a dropped connection, internal_error: maybe stored


def _no_payload(_token: str | None) -> dict[str, Any]:
    """A game-data request carries no payload (and no token)."""
    return {}


def _granted(token: str | None) -> str:
    """A push is only ever granted with a token (the gate refuses it otherwise)."""
    if token is None:
        raise RuntimeError("a push was granted without a token")
    return token


def _odds_payload(submissions: Sequence[OddsSubmission], token: str | None) -> dict[str, Any]:
    return OddsPush(submissions=tuple(submissions), token=_granted(token)).to_wire()


def _outcome_payload(result: EventResult, token: str | None) -> dict[str, Any]:
    return OutcomePush(
        event_id=result.event_id,
        result=result.result,
        score_home=result.score_home,
        score_away=result.score_away,
        token=_granted(token),
    ).to_wire()


@dataclass(frozen=True)
class Priced:
    """One round's quotes, priced once for every validator."""

    started_at: dt.datetime
    markets: int
    quotes: tuple[OddsSubmission, ...]
    clock: float  # perf_counter at the start, for the round's duration


@dataclass
class PushResult:
    """What one round sent one validator: batches sent, markets accepted and skipped."""

    batches: int = 0
    submitted: int = 0
    skipped: int = 0


class Submitter:
    def __init__(
        self,
        *,
        games: GameStore,
        odds: OddsSendStore,
        outcomes: OutcomeSendStore,
        gate: Gate,
        pricing: PricingEngine,
        batch_size: int,
        leagues: Collection[League] | None = None,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.games = games
        self.odds = odds
        self.outcomes = outcomes
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
                reply = await self.gate.send(
                    validator, SynapseType.GAME_DATA_REQUEST, _no_payload, admitted
                )
            if reply is None or not reply.ok:
                continue
            # Game by game: a league, sport or kind we do not know skips only that game or
            # market (protocol/snapshot.py), never the snapshot.
            snapshot = parse_game_data(reply.payload)
            for reason, count in snapshot.skipped.items():
                self.metrics.game_data_skipped.labels(reason).inc(count)
            for reason in self.status.game_data_skipped(snapshot.skipped):
                log_event(
                    logger,
                    "fetch_game_data_skipped",
                    logging.WARNING,
                    validator=validator.hotkey,
                    reason=reason,
                    count=snapshot.skipped[reason],
                    example=snapshot.examples.get(reason),
                )
            if not snapshot.usable:
                continue
            now = self._now()
            games = await asyncio.to_thread(self.games.upsert_games, snapshot.games, now)
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
        """Price the active markets once and push what changed to every validator (the
        runtime schedules each validator's push on its own: submission/rounds.py)."""
        priced = await self.price()
        results = await asyncio.gather(*(self.push_odds(v, priced.quotes) for v in validators))
        return self.report(priced, results)

    async def price(self) -> Priced:
        """The quotes for every active market of our leagues, priced now."""
        started, clock = self._now(), time.perf_counter()
        markets = await asyncio.to_thread(self.games.active_markets, started)
        if self.leagues is not None:
            markets = [m for m in markets if m.league in self.leagues]
        quotes = await self.pricing_cycle(markets, started)
        self.status.active_markets = len(markets)
        self.metrics.active_markets.set(len(markets))
        return Priced(started, len(markets), tuple(quotes), clock)

    def report(self, priced: Priced, results: Sequence[PushResult]) -> CycleReport:
        """One round's figures, in /status and the reference miner's `base_miner_odds_cycle` log."""
        report = CycleReport(
            started_at=priced.started_at,
            markets=priced.markets,
            batches=sum(r.batches for r in results),
            submitted=sum(r.submitted for r in results),
            skipped=sum(r.skipped for r in results),
            validators=len(results),
            seconds=time.perf_counter() - priced.clock,
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

    async def push_odds(
        self, validator: NeuronView, quotes: Sequence[OddsSubmission]
    ) -> PushResult:
        """Push `quotes` to one validator in batches, only what changed; stop at the first
        refusal or failure (the gate learnt it; the next round tries again)."""
        result = PushResult()
        position = 0
        while position < len(quotes):
            async with self.gate.turn(validator.hotkey, push=True) as admitted:
                if admitted is None:
                    break
                plan = await asyncio.to_thread(
                    self.odds.plan_odds_sends,
                    validator.hotkey,
                    quotes[position:],
                    self._now(),
                    limit=self.batch_size,
                )
                position += plan.examined
                result.skipped += len(plan.skipped)
                for reason in plan.skipped.values():
                    self.metrics.markets_skipped.labels(reason.value).inc()
                if not plan.submissions:
                    continue  # nothing to send: no final check, no lease, no proof claimed
                reply = await self.gate.send(
                    validator,
                    SynapseType.ODDS_PUSH,
                    functools.partial(_odds_payload, plan.submissions),
                    admitted,
                )
            state = SendState.FAILED if reply is None else completion_state(reply)
            if state is not None:
                await self._complete_odds(plan.row_ids, state)
            if reply is None:
                break  # held at the final check: nothing left, the rows are sendable again
            result.batches += 1
            if not reply.ok:
                break  # any failure: stop this validator for this round (the gate learnt it)
            result.submitted += len(plan.submissions)
            self.metrics.markets_submitted.labels(validator.hotkey).inc(len(plan.submissions))
        return result

    async def _complete_odds(self, row_ids: Sequence[int], state: SendState) -> None:
        await asyncio.to_thread(self.odds.complete_odds_sends, row_ids, state, self._now())

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
                if admitted is None:
                    break
                planned = await asyncio.to_thread(
                    self.outcomes.plan_outcome_send,
                    validator.hotkey,
                    result.event_id,
                    self._now(),
                    result.result,
                    result.score_home,
                    result.score_away,
                )
                if planned is None:
                    continue  # this validator already has it
                reply = await self.gate.send(
                    validator,
                    SynapseType.OUTCOME_PUSH,
                    functools.partial(_outcome_payload, result),
                    admitted,
                )
            state = SendState.FAILED if reply is None else completion_state(reply)
            if state is not None:
                await asyncio.to_thread(
                    self.outcomes.complete_outcome_send, planned.id, state, self._now()
                )
            if reply is None or not reply.ok:
                break
            sent += 1
        return sent
