"""The whole runtime against local Sparket-compatible validators, over real Axons and
Dendrites on loopback with generated hotkeys (the chain is bittensor's MockSubtensor).

Proves issue 3's end-to-end claims: the runtime syncs games, prices and submits; two
validators with different tokens both accept; a validator restart costs at most one
failure; after a 429 it waits the stated time + 1 s; and it never sends anything the
validator counts as malformed (or any other failure) in the normal course.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bittensor_wallet import Keypair

from miner_runtime.app import MinerApp
from miner_runtime.pacing import Cadence
from sparket_local_services.ports import free_port
from sparket_local_services.waits import until
from sparket_local_validator.config import SecurityConfig
from sparket_local_validator.ingest import Catalog, Event, Market
from sparket_local_validator.mock_chain import chain_view
from sparket_local_validator.server import LocalValidator
from sparket_testkit.harness.miner_app import (
    AppFactory,
    MinerUnderTest,
    assert_nothing_counted_against_us,
)
from sparket_testkit.harness.moving_engine import MovingEngine

HOUR = 3600.0


def catalog() -> Catalog:
    """Two NFL games (3 markets each), one EPL game (3-way moneyline), one game 10 days out
    (visible in game data, outside the 7-day odds window)."""
    now = time.time()
    return Catalog(
        [
            Event(
                event_id=1,
                start=now + 5 * HOUR,
                home_team="Kansas City Chiefs",
                away_team="Buffalo Bills",
                markets=(Market(101), Market(102, "SPREAD", -3.5), Market(103, "TOTAL", 47.5)),
            ),
            Event(
                event_id=2,
                start=now + 30 * HOUR,
                home_team="Dallas Cowboys",
                away_team="New York Giants",
                markets=(Market(201), Market(202, "SPREAD", 2.5), Market(203, "TOTAL", 41.0)),
            ),
            Event(
                event_id=3,
                start=now + 50 * HOUR,
                home_team="Arsenal",
                away_team="Chelsea",
                league="epl",
                sport="soccer",
                markets=(Market(301),),
            ),
            Event(
                event_id=4,
                start=now + 240 * HOUR,
                home_team="Green Bay Packers",
                away_team="Chicago Bears",
                markets=(Market(401),),
            ),
        ]
    )


ACTIVE_MARKETS = {101, 102, 103, 201, 202, 203, 301}


class Validators:
    """Local validators registered (permit, stake, served axon) on the miner's netuid."""

    def __init__(self, miner: MinerUnderTest) -> None:
        self.miner = miner
        self.running: list[LocalValidator] = []

    def start(self, *, push_interval: float = 1.0, **kwargs: Any) -> LocalValidator:
        subnet = self.miner.subnet
        keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        port = free_port()
        subnet.chain.register(
            keypair.ss58_address,
            Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address,
            stake=1000.0 * (len(self.running) + 1),
            validator_permit=True,
            axon=("127.0.0.1", port),
        )
        view = chain_view(subnet.chain.subtensor, subnet.netuid)
        validator = LocalValidator(
            keypair,
            port=port,
            registered_hotkeys=view.registered_hotkeys,
            push_targets=view.push_targets,
            catalog=catalog(),
            push_interval_seconds=push_interval,
            **kwargs,
        )
        validator.start()
        self.running.append(validator)
        return validator

    def stop(self) -> None:
        for validator in self.running:
            validator.stop()


@pytest.fixture
def validators(miner: MinerUnderTest) -> Iterator[Validators]:
    started = Validators(miner)
    yield started
    started.stop()


def stored(validator: LocalValidator, hotkey: str) -> dict[int, set[str]]:
    """market_id -> sides the validator stored from `hotkey`."""
    sides: dict[int, set[str]] = {}
    for row in validator.odds_rows:
        if row.hotkey == hotkey:
            sides.setdefault(row.market_id, set()).add(row.side)
    return sides


def failures(validator: LocalValidator, hotkey: str) -> int:
    """Failures the validator filed against `hotkey` (every kind feeds its cooldowns)."""
    record = validator.counters()["hotkeys"].get(hotkey)  # type: ignore[attr-defined]
    return int(record["failures"]) if record else 0


async def test_syncs_prices_and_submits_to_two_validators_with_their_own_tokens(
    miner: MinerUnderTest, start_app: AppFactory, validators: Validators
) -> None:
    first, second = validators.start(), validators.start()
    assert first.current_token() != second.current_token()
    app: MinerApp = await start_app()
    hotkey = app.hotkey

    for validator in (first, second):
        await until(
            lambda v=validator: set(stored(v, hotkey)) == ACTIVE_MARKETS,  # type: ignore[misc]
            within=30,
            what="every active market stored",
        )
    for validator in (first, second):
        sides = stored(validator, hotkey)
        assert sides[301] == {"HOME", "DRAW", "AWAY"}  # soccer moneyline: all three sides
        assert sides[103] == {"OVER", "UNDER"}
        soccer_buckets = {r.submitted_at for r in validator.odds_rows if r.market_id == 301}
        assert len(soccer_buckets) == 1  # the three sides landed in one 60 s bucket
        assert_nothing_counted_against_us(app, validator)
    assert 401 not in stored(first, hotkey)  # 10 days out: never sent
    status = app.status_document().model_dump(mode="json")
    assert status["validators_connected"] == 2
    assert status["markets"]["active"] == len(ACTIVE_MARKETS)
    assert status["submissions"]["rejected"] == 0


async def test_a_validator_restart_costs_at_most_one_failure(
    miner: MinerUnderTest, start_app: AppFactory, validators: Validators
) -> None:
    validator = validators.start(push_interval=3600.0)  # pushes only at start and on demand
    engine = MovingEngine()
    app: MinerApp = await start_app(pricing=engine)
    hotkey = app.hotkey
    await until(lambda: app.services.chain.served, what="the miner's axon on chain")
    await asyncio.wrap_future(validator.push_now())
    await until(lambda: set(stored(validator, hotkey)) == ACTIVE_MARKETS, what="first cycle")
    rows_before = len(validator.odds_rows)

    # A restart: every token the miner holds is now invalid; the new one is pushed at
    # once, racing the miner's next cycle. Either way at most one push may fail.
    validator.restart()
    engine.shift = 0.01

    def repriced() -> set[int]:
        return {r.market_id for r in validator.odds_rows[rows_before:]}

    # Markets already sent in this 60 s bucket wait for the next one (the validator keeps the
    # first push per minute), so allow a full bucket on top of a cycle.
    await until(lambda: repriced() == ACTIVE_MARKETS, within=80, what="re-pricing accepted")
    assert failures(validator, hotkey) <= 1, validator.counters()
    rejected = app.services.status.tallies[validator.hotkey].rejected
    assert sum(rejected.values()) == rejected["token_invalid"] <= 1, rejected


async def test_after_a_429_it_waits_the_stated_time_plus_one_second(
    miner: MinerUnderTest, start_app: AppFactory, validators: Validators
) -> None:
    quick = SecurityConfig(hotkey_initial_cooldown_sec=4.0)
    validator = validators.start(security_config=quick)
    app: MinerApp = await start_app(
        pricing=(engine := MovingEngine()),
        cadence=Cadence(
            chain_sync_seconds=0.5,
            game_sync_seconds=0.5,  # keeps asking, so a premature retry would show at once
            odds_seconds=0.5,
            outcome_seconds=60.0,
            jitter_seconds=0.0,
        ),
    )
    hotkey = app.hotkey
    await until(lambda: set(stored(validator, hotkey)) == ACTIVE_MARKETS, what="first cycle")

    # Someone else's fault: ten failures filed under our hotkey start a 4 s cooldown.
    with validator.locked() as locked_engine:
        for _ in range(10):
            locked_engine.listener.handle(
                hotkey=hotkey, ip="127.0.0.2", synapse_type="no_such_type", payload={}
            )
    engine.shift = 0.01
    await until(
        lambda: validator.counters()["cooldown_responses"] == 1, within=10, what="the first 429"
    )
    gate = app.services.gate
    # The validator counts the 429 as it answers; the miner learns it when the reply lands.
    await until(
        lambda: gate.backoff.paused(validator.hotkey, dt.datetime.now(dt.UTC)) is not None,
        within=5,
        what="the miner to take in the 429",
    )
    pause = gate.backoff.paused(validator.hotkey, dt.datetime.now(dt.UTC))
    assert pause is not None and pause.reason == "cooldown"
    waiting = pause.remaining(dt.datetime.now(dt.UTC))
    assert 3.0 < waiting <= 5.0  # the stated N (4 s, rounded) + 1 s
    seen_at, accepted_at_429 = time.monotonic(), validator.counters()["requests_accepted"]
    await until(
        lambda: validator.counters()["requests_accepted"] > accepted_at_429,
        within=15,
        what="requests to resume after the pause",
    )
    assert time.monotonic() - seen_at >= waiting - 0.1  # nothing went out during the pause
    counters = validator.counters()
    assert counters["cooldown_responses"] == 1  # exactly one request met the cooldown
    assert counters["violations"] == 1
    assert counters["hotkey_bans"] == 0 and counters["ip_bans"] == 0


async def test_a_deregistered_miner_stops_sending_and_says_why_on_ready(
    miner: MinerUnderTest, start_app: AppFactory, validators: Validators
) -> None:
    """Issue 20: a new registration takes our uid. From the sync that sees it the runtime
    sends nothing more (the validator would refuse an unregistered hotkey, and count it),
    and `/ready` answers 503 with the reason."""
    validator = validators.start()
    app: MinerApp = await start_app()
    hotkey = app.hotkey
    await until(lambda: set(stored(validator, hotkey)) == ACTIVE_MARKETS, what="first cycle")
    ready = f"http://127.0.0.1:{app.services.settings.miner_api_port}/ready"
    async with httpx.AsyncClient() as client:
        assert (await client.get(ready)).status_code == 200

        newcomer = Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address
        uid = miner.subnet.chain.uid_of(hotkey)
        miner.subnet.chain.replace(hotkey, newcomer, miner.wallet.coldkeypub.ss58_address)
        await until(
            lambda: (s := app.services.chain.standing) is not None and s.deregistered,
            what="the deregistration seen",
        )
        answer = await client.get(ready)
        metrics = (await client.get(ready.replace("/ready", "/metrics"))).text
    assert "sparket_miner_deregistered 1.0" in metrics
    assert "sparket_miner_registered 0.0" in metrics and "sparket_miner_incentive 0.0" in metrics
    assert answer.status_code == 503
    assert answer.json()["reason"] == f"deregistered: uid {uid} now held by {newcomer}"
    await asyncio.sleep(2.0)  # a send already under way when the sync saw it may land
    rows, requests = len(validator.odds_rows), validator.counters()["requests_accepted"]
    await asyncio.sleep(6.0)  # three odds cycles and twelve chain syncs
    assert len(validator.odds_rows) == rows
    assert validator.counters()["requests_accepted"] == requests
    assert failures(validator, hotkey) == 0
    status = app.status_document().model_dump(mode="json")
    assert status["registered"] is False and status["validators_connected"] == 0
    assert status["chain"]["deregistered_reason"] == f"uid {uid} now held by {newcomer}"
