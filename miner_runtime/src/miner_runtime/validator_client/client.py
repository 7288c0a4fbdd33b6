"""One request to one validator, answered with a typed `Reply`.

`deserialize=False` keeps the synapse, so the HTTP status the validator's middleware set
(403/429) is visible; the reference miner's `deserialize=True` hid it.
"""

from __future__ import annotations

from typing import Any

import bittensor as bt

from miner_runtime.protocol.synapse import SparketSynapse, SynapseType
from miner_runtime.validator_client.dendrite import EgressDendrite
from miner_runtime.validator_client.replies import Reply, classify

PUSH_TIMEOUT_SECONDS = 12.0
GAME_DATA_TIMEOUT_SECONDS = 30.0


async def send(
    dendrite: EgressDendrite,
    axon: bt.AxonInfo,
    message_type: SynapseType,
    payload: dict[str, Any],
    *,
    timeout_seconds: float | None = None,
) -> Reply:
    """Send one message; every outcome, including a timeout, comes back as a `Reply`."""
    is_game_data = message_type is SynapseType.GAME_DATA_REQUEST
    if timeout_seconds is None:
        timeout_seconds = GAME_DATA_TIMEOUT_SECONDS if is_game_data else PUSH_TIMEOUT_SECONDS
    synapse = SparketSynapse(type=message_type, payload=payload)
    answer = await dendrite.call(
        target_axon=axon, synapse=synapse, timeout=timeout_seconds, deserialize=False
    )
    return classify(
        status_code=answer.dendrite.status_code,
        status_message=answer.dendrite.status_message,
        payload=answer.payload,
        expect_games=is_game_data,
    )
