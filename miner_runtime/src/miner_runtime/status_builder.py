"""Builds the `/status` document from plain facts the app gathers. Pure: no I/O, no clock.

Kept apart from the app so the document's every rule (who counts as connected, which
pause wins, what is rounded) can be tested without starting a runtime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from miner_runtime.chain.standing import Standing
from miner_runtime.chain.sync import ChainSnapshot
from miner_runtime.observability.status import (
    AxonStatus,
    BudgetStoreStatus,
    ChainStandingStatus,
    CycleStatus,
    GamesStatus,
    MarketsStatus,
    PricingStatus,
    RuntimeStatus,
    SubmissionsStatus,
    ValidatorStatus,
)
from miner_runtime.pricing.engine import EngineCondition
from miner_runtime.submission.backoff import Pause
from miner_runtime.submission.status import CycleReport, WorkStatus
from miner_runtime.validator_client.selection import NeuronView


def build_status(
    *,
    hotkey: str,
    state: str,
    snapshot: ChainSnapshot | None,
    axon: AxonStatus,
    egress_ip: str,
    work: WorkStatus,
    own_pauses: Mapping[str, Pause],
    pricing: EngineCondition,
    budget_store: BudgetStoreStatus,
    standing: Standing | None,
    now: dt.datetime,
) -> RuntimeStatus:
    """The whole document. `own_pauses`: this hotkey's own pause per validator (a fleet
    rule's hold is read from `work.budgets`)."""
    # An unregistered (or deregistered) hotkey talks to no validator: none is listed, as
    # none is sent to (`ChainWatch.validators`), whatever tokens it still holds.
    registered = snapshot is not None and snapshot.own_uid is not None
    validators = tuple(
        validator_status(v, own_pauses.get(v.hotkey), work, now)
        for v in (snapshot.validators if snapshot and registered else ())
    )
    accepted_1h, rejected_1h = work.last_hour(now)
    tallies = work.tallies.values()
    return RuntimeStatus(
        hotkey=hotkey,
        uid=snapshot.own_uid if snapshot else None,
        state=state,
        registered=snapshot is not None and snapshot.own_uid is not None,
        axon=axon,
        egress_ip=egress_ip,
        validators=validators,
        validators_connected=sum(1 for v in validators if v.token_usable),
        markets=MarketsStatus(active=work.active_markets),
        games=GamesStatus(
            synced=work.games_synced,
            last_sync=work.last_game_sync_at,
            skipped=dict(work.games_skipped),  # last reply, by reason
        ),
        last_cycle=_cycle_status(work.last_cycle),
        submissions=SubmissionsStatus(
            accepted=sum(t.accepted for t in tallies),
            rejected=sum(sum(t.rejected.values()) for t in tallies),
            last_at=work.last_submission_at,
            accepted_last_hour=accepted_1h,
            rejected_last_hour=rejected_1h,
        ),
        outcomes_sent=work.outcomes_sent,
        pricing=pricing_status(pricing, quotes_dropped=work.quotes_dropped),
        budget_store=budget_store,
        chain=None if standing is None else standing_status(standing, now),
    )


def standing_status(standing: Standing, now: dt.datetime) -> ChainStandingStatus:
    return ChainStandingStatus(
        uid=standing.uid,
        incentive=round(standing.incentive, 6),
        consensus=round(standing.consensus, 6),
        emission_alpha_per_tempo=round(standing.emission_per_tempo, 9),
        emission_alpha_per_day=(
            None if standing.emission_per_day is None else round(standing.emission_per_day, 9)
        ),
        stake=standing.stake,
        registered_at_block=standing.registered_at_block,
        immunity_blocks_left=standing.immunity_blocks_left,
        block=standing.block,
        read_at=standing.read_at,
        age_seconds=round(max(0.0, (now - standing.read_at).total_seconds()), 3),
        deregistered_at=standing.deregistered_at,
        deregistered_reason=standing.deregistered_reason,
    )


def validator_status(
    validator: NeuronView, own: Pause | None, work: WorkStatus, now: dt.datetime
) -> ValidatorStatus:
    """One validator's line: our own pause wins over a fleet rule's hold (with its reason)."""
    budget = work.budgets.get(validator.hotkey)
    held = budget.held_for(now) if budget else 0.0
    received = budget.token_received_at if budget else None
    tally = work.tallies.get(validator.hotkey)
    reason: str | None
    if own is not None:
        paused, reason = own.remaining(now), own.reason
    else:
        paused, reason = held, budget.held_by if budget and held > 0 else None
    return ValidatorStatus(
        hotkey=validator.hotkey,
        uid=validator.uid,
        stake=validator.stake,
        token_age_seconds=round((now - received).total_seconds(), 1) if received else None,
        token_usable=budget.token_usable if budget else False,
        paused_seconds=round(paused, 1),
        pause_reason=reason,
        failing_hotkeys=budget.failing_hotkeys if budget else 0,
        banned=budget.banned if budget else False,
        accepted=tally.accepted if tally else 0,
        rejected=dict(tally.rejected) if tally else {},
    )


def pricing_status(condition: EngineCondition, *, quotes_dropped: int) -> PricingStatus:
    """The engine's condition with its own detail keys (validated into the typed fields)."""
    return PricingStatus.model_validate(
        {
            "engine": condition.engine,
            "degraded": condition.degraded,
            "reasons": condition.reasons,
            **condition.detail,
            "quotes_dropped": quotes_dropped,
        }
    )


def _cycle_status(cycle: CycleReport | None) -> CycleStatus | None:
    if cycle is None:
        return None
    return CycleStatus(
        at=cycle.started_at,
        markets=cycle.markets,
        batches=cycle.batches,
        submitted=cycle.submitted,
        skipped=cycle.skipped,
        seconds=round(cycle.seconds, 3),
    )
