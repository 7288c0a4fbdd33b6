"""Odds rounds per validator (submission/rounds.py): a round never waits for a validator whose
previous push still runs, and rounds start on their cadence whatever the last one cost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_submitter import TOKEN_A, TOKEN_B, V1, V2, games, gate_for

from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.storage import Stores
from miner_runtime.submission.rounds import OddsRounds
from miner_runtime.submission.submitter import Submitter
from miner_runtime.validator_client.replies import Reply
from miner_runtime.validator_client.selection import NeuronView
from sparket_testkit.harness.moving_engine import MovingEngine
from sparket_testkit.harness.scripted_link import NOW, Clock, ScriptedLink


class HeldAt(ScriptedLink):
    """A link on which every request to one validator stays in flight until released."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held = held
        self.release = asyncio.Event()
        self.reached = asyncio.Event()

    async def send(
        self, validator: NeuronView, message_type: SynapseType, payload: dict[str, Any]
    ) -> Reply:
        if validator.hotkey == self.held:
            self.reached.set()
            await self.release.wait()
        return await super().send(validator, message_type, payload)


@pytest.fixture
def held() -> HeldAt:
    return HeldAt(V1.hotkey)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def submitter(stores: Stores, held: HeldAt, clock: Clock) -> Submitter:
    stores.games.upsert_games(games(60), NOW)  # 120 markets: three batches of 50
    gate = gate_for(held, clock)
    await gate.token_received(V1.hotkey, TOKEN_A, NOW)
    await gate.token_received(V2.hotkey, TOKEN_B, NOW)
    return Submitter(
        games=stores.games,
        odds=stores.odds,
        outcomes=stores.outcomes,
        gate=gate,
        pricing=MovingEngine(),
        batch_size=50,
        now=clock,
    )


def skipped(submitter: Submitter, validator: NeuronView) -> float | None:
    return submitter.metrics.registry.get_sample_value(
        "sparket_miner_odds_rounds_skipped_total", {"validator": validator.hotkey}
    )


async def test_a_held_validator_never_delays_the_others(
    submitter: Submitter, held: HeldAt, clock: Clock
) -> None:
    rounds = OddsRounds(submitter)
    assert await rounds.start([V1, V2]) == [V1.hotkey, V2.hotkey]
    await held.reached.wait()  # V1's first batch is on the wire and stays there
    first = await asyncio.wait_for(rounds.finished(V2.hotkey), timeout=5)
    assert first is not None and (first.batches, first.submitted) == (3, 120)
    assert rounds.pushing(V1.hotkey) and not rounds.pushing(V2.hotkey)

    # The next round: V1 is skipped (counted), V2 goes again at once.
    submitter.pricing.shift += 0.05  # type: ignore[attr-defined]
    clock.advance(60)  # the next 60 s bucket
    assert await rounds.start([V1, V2]) == [V2.hotkey]
    assert skipped(submitter, V1) == 1 and skipped(submitter, V2) is None
    second = await asyncio.wait_for(rounds.finished(V2.hotkey), timeout=5)
    assert second is not None and second.submitted == 120
    assert len(held.pushes(V2)) == 6
    assert held.pushes(V1) == []  # its first batch is still in flight (recorded on answer)

    held.release.set()
    await rounds.idle()
    assert len(held.pushes(V1)) == 3  # its round finished once answered
    assert submitter.status.last_cycle is not None
    await rounds.stop()


async def test_stop_cancels_pushes_in_flight_and_leaves_their_rows_in_doubt(
    submitter: Submitter, held: HeldAt
) -> None:
    rounds = OddsRounds(submitter)
    await rounds.start([V1])
    await held.reached.wait()
    await rounds.stop()
    assert not rounds.pushing(V1.hotkey)
    # The batch on the wire when it was cancelled counts as possibly stored: never re-sent
    # at the same price (a crash leaves exactly this).
    assert len({row.market_id for row in submitter.odds.pending_odds_sends(V1.hotkey)}) == 50
