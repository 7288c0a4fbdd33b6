"""The runtime's Axon, chain sync and control API, with real Dendrites on loopback.

Proves: only a permitted validator's CONNECTION_INFO is stored, keyed by its own signed
hotkey, and nothing else (another type, a payload naming someone else, an unpermitted or
unregistered caller) can overwrite it; the advertised endpoint is served once; /health,
/ready, /status and /metrics answer on the control port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bittensor as bt
import httpx
from bittensor_wallet import Keypair

from miner_runtime.app import MinerApp
from miner_runtime.protocol.synapse import SparketSynapse, SynapseType
from miner_runtime.validator_client.dendrite import EgressDendrite
from sparket_local_services.waits import until
from sparket_local_services.wallets import generated_wallet
from sparket_testkit.harness.miner_app import MINER_EGRESS_IP, AppFactory, MinerUnderTest

TOKEN_A, TOKEN_B = "a" * 64, "b" * 64


def push(keypair: Keypair, token: str, *, hotkey: str | None = None) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": 9999,
        "token": token,
        "hotkey": hotkey or keypair.ss58_address,
        "step": 7,
    }


async def call(
    app: MinerApp, sender: Keypair, message_type: SynapseType, payload: dict[str, Any]
) -> int:
    """Send one synapse to the miner's axon as `sender`; returns the HTTP status."""
    dendrite = EgressDendrite(sender, egress_ip="127.0.0.9")
    target = app.services.axon.info()
    try:
        answer = await dendrite.call(
            target_axon=target,
            synapse=SparketSynapse(type=message_type, payload=payload),
            timeout=10,
            deserialize=False,
        )
    finally:
        await dendrite.aclose_session()
    return int(answer.dendrite.status_code)


async def test_connection_info_is_taken_only_from_permitted_validators(
    miner: MinerUnderTest, start_app: AppFactory
) -> None:
    subnet = miner.subnet
    validator = subnet.add_validator(axon=("127.0.0.1", 9999))
    unpermitted = subnet.add_validator(permit=False, axon=("127.0.0.1", 9998))
    stranger = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    app: MinerApp = await start_app()
    await until(lambda: app.snapshot is not None, what="the first chain sync")

    assert (
        await call(app, validator, SynapseType.CONNECTION_INFO_PUSH, push(validator, TOKEN_A))
        == 200
    )
    endpoint = app.services.stores.endpoints.validator_endpoint(validator.ss58_address)
    assert endpoint is not None and endpoint.token == TOKEN_A and endpoint.port == 9999
    assert await app.services.coordinator.token(validator.ss58_address) == TOKEN_A

    # Nobody else can write this validator's token: not an unpermitted or unregistered
    # hotkey (blacklisted: 403), not the validator itself with another message type or a
    # payload naming another hotkey (dropped in forward).
    assert (
        await call(app, unpermitted, SynapseType.CONNECTION_INFO_PUSH, push(unpermitted, TOKEN_B))
        == 403
    )
    assert (
        await call(app, stranger, SynapseType.CONNECTION_INFO_PUSH, push(stranger, TOKEN_B)) == 403
    )
    other_type = push(validator, TOKEN_B)
    assert await call(app, validator, SynapseType.ODDS_PUSH, other_type) == 200
    impersonating = push(validator, TOKEN_B, hotkey=unpermitted.ss58_address)
    assert await call(app, validator, SynapseType.CONNECTION_INFO_PUSH, impersonating) == 200
    malformed = push(validator, "not-a-token")
    assert await call(app, validator, SynapseType.CONNECTION_INFO_PUSH, malformed) == 200

    assert [e.token for e in app.services.stores.endpoints.validator_endpoints()] == [TOKEN_A]


async def test_unpermitted_pushes_are_accepted_when_the_setting_relaxes_it(
    miner: MinerUnderTest, start_app: AppFactory
) -> None:
    unpermitted = miner.subnet.add_validator(permit=False, axon=("127.0.0.1", 9998))
    relaxed = miner.settings.model_copy(update={"allow_unpermitted_validators": True})
    app: MinerApp = await start_app(relaxed)
    await until(lambda: app.snapshot is not None, what="the first chain sync")
    status = await call(
        app, unpermitted, SynapseType.CONNECTION_INFO_PUSH, push(unpermitted, TOKEN_B)
    )
    assert status == 200
    assert [e.token for e in app.services.stores.endpoints.validator_endpoints()] == [TOKEN_B]


async def test_serves_the_advertised_endpoint_once_and_reports_on_the_control_port(
    miner: MinerUnderTest, start_app: AppFactory
) -> None:
    validator = miner.subnet.add_validator(axon=("127.0.0.1", 9999))
    app: MinerApp = await start_app()
    await until(lambda: app.services.chain.served, what="serve_axon")
    own = next(n for n in miner.subnet.chain.neurons() if n.hotkey == app.hotkey)
    assert (own.ip, own.port) == miner.settings.axon.advertised
    blocks_served = miner.subnet.chain.subtensor.chain_state["SubtensorModule"]["Axons"][
        miner.subnet.netuid
    ][app.hotkey]
    served_before = dict(blocks_served)
    await until(lambda: app.services.chain.sync.snapshot is not None, what="another sync")
    await app.services.chain.sync.refresh()
    await app.services.chain.sync.ensure_served(miner.settings.axon.advertised)
    assert dict(blocks_served) == served_before  # unchanged endpoint: not served again

    await call(app, validator, SynapseType.CONNECTION_INFO_PUSH, push(validator, TOKEN_A))
    base = f"http://127.0.0.1:{miner.settings.miner_api_port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        status = (await client.get("/status")).json()
        metrics = (await client.get("/metrics")).text
    assert status["registered"] is True and status["uid"] == own.uid
    assert status["axon"]["served_on_chain"] is True
    assert status["egress_ip"] == MINER_EGRESS_IP
    [seen] = status["validators"]
    assert seen["hotkey"] == validator.ss58_address
    assert seen["token_usable"] is True and seen["token_age_seconds"] < 60
    assert TOKEN_A not in str(status)  # tokens are never published
    assert "sparket_miner_registered 1.0" in metrics


async def test_an_unregistered_hotkey_reports_it_and_submits_nothing(
    miner: MinerUnderTest, start_app: AppFactory, tmp_path: Path
) -> None:
    miner.subnet.add_validator(axon=("127.0.0.1", 9999))
    miner.wallet = generated_wallet(tmp_path / "other", "unregistered")
    settings = miner.settings.model_copy(
        update={
            "wallet": miner.settings.wallet.model_copy(
                update={"name": "unregistered", "path": tmp_path / "other"}
            )
        }
    )
    app: MinerApp = await start_app(settings)
    await until(lambda: app.snapshot is not None, what="the first chain sync")
    assert app.readiness() == (False, "hotkey not registered")
    assert app.services.chain.validators() == []
    async with httpx.AsyncClient(timeout=10) as client:
        ready = await client.get(f"http://127.0.0.1:{settings.miner_api_port}/ready")
    assert ready.status_code == 503 and ready.json()["reason"] == "hotkey not registered"
    assert not app.services.chain.served
    assert isinstance(app.services.axon, bt.Axon)
