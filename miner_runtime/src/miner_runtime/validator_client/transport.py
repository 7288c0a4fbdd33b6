"""The one way the work reaches a validator: `ValidatorLink.send` returns a typed Reply."""

from __future__ import annotations

import ipaddress
from typing import Any, Protocol

import bittensor as bt

from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.validator_client.client import send
from miner_runtime.validator_client.dendrite import EgressDendrite
from miner_runtime.validator_client.replies import Reply
from miner_runtime.validator_client.selection import NeuronView


class ValidatorLink(Protocol):
    async def send(
        self, validator: NeuronView, message_type: SynapseType, payload: dict[str, Any]
    ) -> Reply: ...


def axon_info(validator: NeuronView) -> bt.AxonInfo:
    """What a Dendrite needs to reach and sign for one validator's axon."""
    version = ipaddress.ip_address(validator.ip).version
    return bt.AxonInfo(
        version=0,
        ip=validator.ip,
        port=validator.port,
        ip_type=version,
        hotkey=validator.hotkey,
        coldkey="",
    )


class DendriteLink:
    """Sends through our `EgressDendrite` (configured egress IP, `deserialize=False`)."""

    def __init__(self, dendrite: EgressDendrite) -> None:
        self._dendrite = dendrite

    async def send(
        self, validator: NeuronView, message_type: SynapseType, payload: dict[str, Any]
    ) -> Reply:
        return await send(self._dendrite, axon_info(validator), message_type, payload)

    async def close(self) -> None:
        await self._dendrite.aclose_session()
