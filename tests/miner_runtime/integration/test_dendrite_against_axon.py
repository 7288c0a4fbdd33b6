"""Our Dendrite against a real bittensor Axon on loopback with generated hotkeys.

Proves: the egress IP reported in the body is the configured one (no external lookup),
the TCP source address is the one we bind, the body hash verifies, each reply kind
the Axon can produce becomes the right typed result, and the Dendrite's call history
stays bounded however many calls it makes.
"""

# No `from __future__ import annotations` here: Axon.attach inspects the forward function's
# first annotation and needs the real class, not a string.
import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bittensor as bt
import pytest

from miner_runtime.protocol.synapse import SparketSynapse, SynapseType
from miner_runtime.validator_client.client import send
from miner_runtime.validator_client.dendrite import SYNAPSE_HISTORY_KEPT, EgressDendrite
from miner_runtime.validator_client.replies import ReplyKind
from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.waits import wait_for
from sparket_local_services.wallets import generated_wallet

EGRESS_IP = "127.0.0.23"  # stands for the node's public IP; also the bound source address


class Recorder:
    """What the validator side saw, filled in by its forward function."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.reply: dict[str, Any] = {"success": True, "accepted": True}
        self.delay_seconds = 0.0


@pytest.fixture
def validator_axon(tmp_path: Path) -> Iterator[tuple[bt.Axon, Recorder]]:
    recorder = Recorder()

    async def forward(synapse: SparketSynapse) -> SparketSynapse:
        await asyncio.sleep(recorder.delay_seconds)  # a slow validator: outlasts a timeout
        recorder.seen.append(
            {
                "type": synapse.type_name,
                "payload": synapse.payload,
                "dendrite_ip": synapse.dendrite.ip,
                "dendrite_hotkey": synapse.dendrite.hotkey,
            }
        )
        synapse.payload = recorder.reply
        return synapse

    axon = bt.Axon(
        wallet=generated_wallet(tmp_path, "validator"),
        port=free_port(),
        ip="127.0.0.1",
        external_ip="127.0.0.1",
    )
    axon.attach(forward_fn=forward)
    axon.start()
    wait_for(lambda: is_listening(axon.port), timeout=20, what="the axon to listen")
    try:
        yield axon, recorder
    finally:
        axon.stop()


def target(axon: bt.Axon) -> bt.AxonInfo:
    info = axon.info()
    return bt.AxonInfo(
        version=info.version,
        ip="127.0.0.1",
        port=axon.port,
        ip_type=4,
        hotkey=info.hotkey,
        coldkey=info.coldkey,
    )


@pytest.mark.timeout(60)
async def test_push_is_verified_and_reports_the_configured_egress_ip(
    validator_axon: tuple[bt.Axon, Recorder], tmp_path: Path
) -> None:
    axon, recorder = validator_axon
    miner = generated_wallet(tmp_path, "miner")
    dendrite = EgressDendrite(miner.hotkey, egress_ip=EGRESS_IP, source_address=EGRESS_IP)
    try:
        payload = {
            "submissions": [
                {"market_id": 1, "kind": "moneyline", "prices": [{"side": "home", "odds_eu": 1.9}]}
            ],
            "token": "ab" * 32,
        }
        reply = await send(dendrite, target(axon), SynapseType.ODDS_PUSH, payload)
        assert reply.kind is ReplyKind.ACCEPTED, reply
        assert recorder.seen == [
            {
                "type": "odds_push",
                "payload": payload,
                "dendrite_ip": EGRESS_IP,
                "dendrite_hotkey": miner.hotkey.ss58_address,
            }
        ]

        recorder.reply = {
            "success": False,
            "error": "token_invalid",
            "message": "Token expired or invalid",
        }
        rejected = await send(dendrite, target(axon), SynapseType.ODDS_PUSH, payload)
        assert rejected.kind is ReplyKind.REJECTED and rejected.error == "token_invalid"
        assert rejected.counted_as_failure
    finally:
        await dendrite.aclose_session()


@pytest.mark.timeout(60)
async def test_unreachable_validator_is_never_success(tmp_path: Path) -> None:
    miner = generated_wallet(tmp_path, "miner")
    dendrite = EgressDendrite(miner.hotkey, egress_ip=EGRESS_IP)
    closed = bt.AxonInfo(
        version=1,
        ip="127.0.0.1",
        port=free_port(),
        ip_type=4,
        hotkey=miner.hotkey.ss58_address,
        coldkey=miner.hotkey.ss58_address,
    )
    try:
        reply = await send(
            dendrite,
            closed,
            SynapseType.ODDS_PUSH,
            {"submissions": [], "token": "ab" * 32},
            timeout_seconds=2,
        )
        assert reply.kind is ReplyKind.UNREACHABLE
        assert not reply.ok
    finally:
        await dendrite.aclose_session()


@pytest.mark.timeout(60)
async def test_a_slow_validator_times_out_as_unreachable(
    validator_axon: tuple[bt.Axon, Recorder], tmp_path: Path
) -> None:
    axon, recorder = validator_axon
    recorder.delay_seconds = 5
    miner = generated_wallet(tmp_path, "miner")
    dendrite = EgressDendrite(miner.hotkey, egress_ip=EGRESS_IP)
    try:
        reply = await send(
            dendrite, target(axon), SynapseType.GAME_DATA_REQUEST, {}, timeout_seconds=1
        )
        assert reply.kind is ReplyKind.UNREACHABLE and reply.status_code == 408
    finally:
        await dendrite.aclose_session()


@pytest.mark.timeout(120)
async def test_the_call_history_stays_bounded_over_many_calls(
    validator_axon: tuple[bt.Axon, Recorder], tmp_path: Path
) -> None:
    """Stock bittensor appends every call to `synapse_history` and never trims it; ours
    keeps the last few (bittensor still appends: the newest call is the last entry)."""
    axon, recorder = validator_axon
    recorder.reply = {"games": [], "retrieved_at": "2026-11-24T18:00:00+00:00"}
    miner = generated_wallet(tmp_path, "miner")
    dendrite = EgressDendrite(miner.hotkey, egress_ip=EGRESS_IP, source_address=EGRESS_IP)
    calls = 200  # 25 times the bound; each call costs ~60 ms of CPU here (bittensor #3322)
    try:
        for _ in range(calls):
            reply = await send(dendrite, target(axon), SynapseType.GAME_DATA_REQUEST, {})
            assert reply.kind is ReplyKind.ACCEPTED, reply
            assert len(dendrite.synapse_history) <= SYNAPSE_HISTORY_KEPT
        assert len(recorder.seen) == calls  # every call reached the axon
        assert len(dendrite.synapse_history) == SYNAPSE_HISTORY_KEPT
        newest = dendrite.synapse_history[-1]
        assert newest.dendrite.status_code == 200 and newest.dendrite.ip == EGRESS_IP
    finally:
        await dendrite.aclose_session()
