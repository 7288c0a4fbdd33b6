"""Fixtures for the local validator: a fake clock and a fresh engine for the rules, and a
running `LocalValidator` (with a miner keypair, a registry and a catalog) for the wire."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from sparket_local_services.ports import free_port
from sparket_local_validator.clock import FakeClock
from sparket_local_validator.engine import ValidatorEngine
from sparket_local_validator.ingest import DAY, Catalog, Event, Market
from sparket_local_validator.mock_chain import register, serve_axon
from sparket_local_validator.server import LocalValidator
from sparket_testkit.harness.validator_wire import (
    MARKET,
    NETUIDS,
    Chain,
    RecordingMiner,
    Registry,
    generated,
    recording_miner_axon,
)

START = 1_700_000_000.0
"""Mid-epoch for 3600 s tokens (epoch 472222 began at 1_699_999_200)."""

REGISTERED = tuple(f"hk{i:02d}" for i in range(60))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def engine(clock: FakeClock) -> ValidatorEngine:
    return ValidatorEngine(clock, registered=REGISTERED, secret=b"s" * 32)


# Over the wire ------------------------------------------------------------------------------


@pytest.fixture
def miner() -> Keypair:
    return generated()


@pytest.fixture
def registry(miner: Keypair) -> Registry:
    return Registry({miner.ss58_address})


@pytest.fixture
def catalog() -> Catalog:
    now = time.time()
    return Catalog(
        [
            Event(
                1,
                now + DAY,
                markets=(Market(MARKET), Market(11, "SPREAD", -3.5)),
                home_team="Kansas City Chiefs",
                away_team="Buffalo Bills",
                venue="Arrowhead Stadium",
                league="NFL",
            ),
            Event(2, now + 20 * DAY, market_ids=(20,)),
        ]
    )


@pytest.fixture
def validator(registry: Registry, catalog: Catalog) -> Iterator[LocalValidator]:
    with LocalValidator(
        generated(), port=free_port(), registered_hotkeys=registry, catalog=catalog
    ) as running:
        yield running


@pytest.fixture
def recording_miner(miner: Keypair) -> Iterator[RecordingMiner]:
    with recording_miner_axon(miner) as recorder:
        yield recorder


@pytest.fixture
def chain(recording_miner: RecordingMiner) -> Chain:
    """A subnet with the validator, the test miner (serving) and a miner without an axon."""
    subtensor, netuid, validator = MockSubtensor(), next(NETUIDS), generated()
    for hotkey in (validator.ss58_address, recording_miner.keypair.ss58_address, "5Gone"):
        register(subtensor, netuid, hotkey)
    ss58 = recording_miner.keypair.ss58_address
    serve_axon(subtensor, netuid, ss58, "127.0.0.1", recording_miner.axon.port)
    return Chain(subtensor, netuid, validator)
