"""Two example `/status` documents, published in the schema's `examples`.

Built from the models, so they are valid by construction; the operator's tests read them
from the published schema file (the operator image has no runtime), so a field renamed
here shows up there as a wrong parse.
"""

from __future__ import annotations

import datetime as dt

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

HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
VALIDATORS = (
    "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
    "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw",
    "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
)
_AT = dt.datetime(2025, 2, 1, 10, tzinfo=dt.UTC)


def _validator(hotkey: str, uid: int, *, paused: float, reason: str | None) -> ValidatorStatus:
    return ValidatorStatus(
        hotkey=hotkey,
        uid=uid,
        stake=125000.5,
        token_age_seconds=12.3,
        token_usable=True,
        paused_seconds=paused,
        pause_reason=reason,
        failing_hotkeys=1 if reason else 0,
        banned=False,
        accepted=7,
        rejected={"rate_limited": 2} if reason else {},
    )


MINING = RuntimeStatus(
    hotkey=HOTKEY,
    uid=17,
    state="mining",
    registered=True,
    axon=AxonStatus(port=8094, advertised="203.0.113.10:31234", served_on_chain=True),
    egress_ip="203.0.113.10",
    validators=(
        _validator(VALIDATORS[0], 0, paused=0.0, reason=None),
        _validator(VALIDATORS[1], 3, paused=41.7, reason="rate_limited"),
        _validator(VALIDATORS[2], 9, paused=0.0, reason=None),
    ),
    validators_connected=3,
    markets=MarketsStatus(active=120),
    games=GamesStatus(
        synced=40, last_sync=_AT - dt.timedelta(minutes=2), skipped={"unknown_team": 1}
    ),
    last_cycle=CycleStatus(
        at=_AT - dt.timedelta(minutes=1),
        markets=120,
        batches=3,
        submitted=118,
        skipped=2,
        seconds=1.234,
    ),
    submissions=SubmissionsStatus(
        accepted=21,
        rejected=2,
        last_at=_AT - dt.timedelta(seconds=30),
        accepted_last_hour=20,
        rejected_last_hour=2,
    ),
    outcomes_sent=4,
    pricing=PricingStatus(
        engine="builtin",
        degraded=False,
        reasons=(),
        history_games={"nfl": 285, "epl": 380},
        market_blend=False,
        fitted_at=(_AT - dt.timedelta(minutes=30)).isoformat(),
        quotes_dropped=0,
    ),
    budget_store=BudgetStoreStatus(shared=True, degraded=False, reason=None),
    chain=ChainStandingStatus(
        uid=17,
        incentive=0.012345,
        consensus=0.011,
        emission_alpha_per_tempo=0.0415,
        emission_alpha_per_day=0.823967,
        stake=12.5,
        registered_at_block=4_990_000,
        immunity_blocks_left=0,
        block=5_000_000,
        read_at=_AT - dt.timedelta(seconds=40),
        age_seconds=40.0,
        deregistered_at=None,
        deregistered_reason=None,
    ),
)
"""A registered runtime at work and earning; one validator paused (rate limited)."""

STARTING = RuntimeStatus(
    hotkey=HOTKEY,
    uid=None,
    state="chain not synced yet",
    registered=False,
    axon=AxonStatus(port=8094, advertised="203.0.113.10:31234", served_on_chain=False),
    egress_ip="203.0.113.10",
    validators=(),
    validators_connected=0,
    markets=MarketsStatus(active=0),
    games=GamesStatus(synced=0, last_sync=None, skipped={}),
    last_cycle=None,
    submissions=SubmissionsStatus(
        accepted=0, rejected=0, last_at=None, accepted_last_hour=0, rejected_last_hour=0
    ),
    outcomes_sent=0,
    pricing=PricingStatus(
        engine="model",
        degraded=False,
        reasons=(),
        url="http://127.0.0.1:8080/v1/price",
        last_seconds=None,
        malformed_quotes=0,
        quotes_dropped=0,
    ),
    budget_store=BudgetStoreStatus(shared=False, degraded=False, reason=None),
    chain=None,
)
"""A runtime just started: the chain not synced yet, nothing sent (every null shown)."""

EXAMPLES = (MINING, STARTING)
