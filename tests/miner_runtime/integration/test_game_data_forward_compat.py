"""A validator that lists leagues, sports and market kinds we do not know, against the whole
runtime over real Axons and Dendrites on loopback (the chain is bittensor's MockSubtensor).

Leagues, sports and kinds are validator data (docs/protocol.md §2b): a validator may add
one any day. Proves the known games are still synced and priced, odds for them reach the
validator, nothing is counted against us, and /status and /metrics show what was skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from bittensor_wallet import Keypair

from miner_runtime.app import MinerApp
from sparket_local_services.ports import free_port
from sparket_local_services.waits import until
from sparket_local_validator.ingest import Catalog, Event, Market
from sparket_local_validator.mock_chain import chain_view
from sparket_local_validator.server import LocalValidator
from sparket_testkit.harness.miner_app import (
    AppFactory,
    MinerUnderTest,
    assert_nothing_counted_against_us,
)

HOUR = 3600.0


def catalog() -> Catalog:
    """Two games we price (one also has a player prop), a college football and a tennis
    game, and an NFL game that offers player props only."""
    now = time.time()
    return Catalog(
        [
            Event(
                event_id=1,
                start=now + 5 * HOUR,
                home_team="Kansas City Chiefs",
                away_team="Buffalo Bills",
                markets=(
                    Market(101),
                    Market(102, "SPREAD", -3.5),
                    Market(103, "PLAYER_PROP", 0.5),
                ),
            ),
            Event(
                event_id=2,
                start=now + 30 * HOUR,
                home_team="Arsenal",
                away_team="Chelsea",
                league="epl",
                sport="soccer",
                markets=(Market(201),),
            ),
            Event(
                event_id=3,
                start=now + 6 * HOUR,
                home_team="Alabama Crimson Tide",
                away_team="Georgia Bulldogs",
                league="ncaaf",
                sport="cfb",
                markets=(Market(301), Market(302, "SPREAD", -6.5)),
            ),
            Event(
                event_id=4,
                start=now + 7 * HOUR,
                home_team="Carlos Alcaraz",
                away_team="Jannik Sinner",
                league="atp",
                sport="tennis",
                markets=(Market(401),),
            ),
            Event(
                event_id=5,
                start=now + 8 * HOUR,
                home_team="Dallas Cowboys",
                away_team="New York Giants",
                markets=(Market(501, "PLAYER_PROP", 1.5), Market(502, "FIRST_SCORER")),
            ),
        ]
    )


KNOWN_MARKETS = {101, 102, 201}
SKIPPED = {"unknown_league": 2, "unknown_kind": 3}


@pytest.fixture
def validator(miner: MinerUnderTest) -> Iterator[LocalValidator]:
    """One local validator with the catalog above, registered on the miner's netuid."""
    subnet = miner.subnet
    keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    port = free_port()
    subnet.chain.register(
        keypair.ss58_address,
        Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address,
        stake=1000.0,
        validator_permit=True,
        axon=("127.0.0.1", port),
    )
    view = chain_view(subnet.chain.subtensor, subnet.netuid)
    started = LocalValidator(
        keypair,
        port=port,
        registered_hotkeys=view.registered_hotkeys,
        push_targets=view.push_targets,
        catalog=catalog(),
        push_interval_seconds=1.0,
    )
    started.start()
    yield started
    started.stop()


def stored_markets(validator: LocalValidator, hotkey: str) -> set[int]:
    return {row.market_id for row in validator.odds_rows if row.hotkey == hotkey}


async def test_unknown_leagues_and_kinds_skip_only_those_games_and_markets(
    miner: MinerUnderTest, start_app: AppFactory, validator: LocalValidator
) -> None:
    app: MinerApp = await start_app()
    hotkey = app.hotkey
    await until(
        lambda: app.services.status.games_synced == 3, within=30, what="the known games synced"
    )
    await until(
        lambda: stored_markets(validator, hotkey) == KNOWN_MARKETS,
        within=30,
        what="odds for every known market stored",
    )
    assert_nothing_counted_against_us(app, validator)
    sides = {row.side for row in validator.odds_rows if row.market_id == 201}
    assert sides == {"HOME", "DRAW", "AWAY"}  # the soccer game was priced as one

    base = f"http://127.0.0.1:{miner.settings.miner_api_port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        status = (await client.get("/status")).json()
        metrics = (await client.get("/metrics")).text
    assert status["games"]["synced"] == 3  # 1, 2, and 5 (kept for outcomes, no markets)
    assert status["games"]["skipped"] == SKIPPED
    assert status["markets"]["active"] == len(KNOWN_MARKETS)
    for reason in SKIPPED:
        assert f'sparket_miner_game_data_skipped_total{{reason="{reason}"}}' in metrics
