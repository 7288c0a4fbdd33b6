"""Fixtures: each test gets its own netuid on the process-global mock chain, a generated
miner wallet and free loopback ports; validators are generated keypairs on that netuid."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from miner_runtime.app import MinerApp
from miner_runtime.chain.client import MockChain
from miner_runtime.composition import compose
from miner_runtime.settings import Settings
from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.waits import until
from sparket_local_services.wallets import generated_wallet
from sparket_testkit.harness.miner_app import (
    FAST,
    MINER_EGRESS_IP,
    AppFactory,
    MinerUnderTest,
    Subnet,
)

_NETUIDS = itertools.count(300)


@pytest.fixture
def miner(tmp_path: Path) -> MinerUnderTest:
    """A registered miner hotkey on a fresh netuid, with settings on free loopback ports."""
    wallet = generated_wallet(tmp_path / "wallets", "miner")
    netuid = next(_NETUIDS)
    chain = MockChain(netuid=netuid, hotkey_ss58=wallet.hotkey.ss58_address)
    chain.create_subnet()
    chain.register(wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address)
    settings = Settings(
        wallet={"name": "miner", "hotkey": "default", "path": tmp_path / "wallets"},
        axon={"host": "127.0.0.1", "port": free_port(), "external_ip": "127.0.0.1"},
        subtensor={"network": "mock", "netuid": netuid},
        miner_api_port=free_port(),
        data_dir=tmp_path / "data",
        egress_ip=MINER_EGRESS_IP,
        # No results source: tests never leave loopback (a fake ESPN is served where needed).
        pricing={"results_source": "none"},
    )
    return MinerUnderTest(wallet, settings, Subnet(netuid, chain))


@pytest.fixture
async def start_app(miner: MinerUnderTest) -> AsyncIterator[AppFactory]:
    """Start `MinerApp`s (stopped at teardown); keyword overrides go to `MinerApp`."""
    apps: list[MinerApp] = []

    async def start(settings: Settings | None = None, **kwargs: Any) -> MinerApp:
        app = await compose(
            settings or miner.settings,
            wallet=miner.wallet,
            chain=miner.subnet.chain,
            cadence=kwargs.pop("cadence", FAST),
            source_address=kwargs.pop("source_address", MINER_EGRESS_IP),
            **kwargs,
        )
        apps.append(app)
        await app.start()
        await until(lambda: is_listening(app.services.settings.axon.port), what="the miner axon")
        return app

    yield start
    for app in apps:
        await app.stop()
