"""The miner's Axon: it takes CONNECTION_INFO_PUSH from validators and nothing else.

bittensor shows blacklist and priority a synapse built from headers only (the type always
reads `connection_info_push` there), so they judge only *who* calls: a registered hotkey
with a validator permit (a setting relaxes the permit for local nets). The message type and
the payload are checked in forward, where the body is known. The sender is identified by
`synapse.dendrite.hotkey`, which bittensor has verified against the request signature by
then, so a validator's token and endpoint can be written only by that validator.

The Axon serves on its own thread and event loop; accepted pushes are handed to the
runtime's loop, where all state lives.
"""

# No `from __future__ import annotations`: Axon.attach inspects these annotations at run
# time and needs real classes (and exactly `typing.Tuple[bool, str]` for the blacklist).
import asyncio
import logging
import typing
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import bittensor as bt
from pydantic import ValidationError

from miner_runtime.ingress.guards import accepts_type, blacklist_verdict, priority
from miner_runtime.logs import log_event
from miner_runtime.protocol.messages import ConnectionInfo
from miner_runtime.protocol.synapse import SparketSynapse
from miner_runtime.validator_client.selection import NeuronView

logger = logging.getLogger(__name__)

ConnectionHandler = Callable[[str, ConnectionInfo], Coroutine[Any, Any, None]]
NeuronsByHotkey = Callable[[], Mapping[str, NeuronView]]


class ConnectionIngress:
    """The Axon's three callbacks, bound to the runtime's state and event loop."""

    def __init__(
        self,
        *,
        neurons: NeuronsByHotkey,
        on_connection_info: ConnectionHandler,
        loop: asyncio.AbstractEventLoop,
        allow_unpermitted: bool,
    ) -> None:
        self._neurons = neurons
        self._handler = on_connection_info
        self._loop = loop
        self._allow_unpermitted = allow_unpermitted

    def blacklist(self, synapse: SparketSynapse) -> typing.Tuple[bool, str]:  # noqa: UP006
        verdict = blacklist_verdict(
            synapse.dendrite.hotkey, self._neurons(), allow_unpermitted=self._allow_unpermitted
        )
        if verdict.blocked:
            log_event(
                logger,
                "miner_blacklist",
                logging.INFO,
                caller=synapse.dendrite.hotkey,
                reason=verdict.reason,
            )
        return verdict.blocked, verdict.reason

    def priority(self, synapse: SparketSynapse) -> float:
        return priority(synapse.dendrite.hotkey, self._neurons())

    async def forward(self, synapse: SparketSynapse) -> SparketSynapse:
        sender = synapse.dendrite.hotkey
        if not accepts_type(synapse.type_name):
            log_event(
                logger, "inbound_rejected", logging.WARNING, caller=sender, reason="unexpected_type"
            )
            return synapse
        try:
            info = ConnectionInfo.model_validate(synapse.payload)
        except ValidationError as exc:
            # Field names only: the payload may carry a token.
            fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
            log_event(
                logger, "inbound_rejected", logging.WARNING, caller=sender, invalid_fields=fields
            )
            return synapse
        if info.hotkey != sender:
            log_event(
                logger, "inbound_rejected", logging.WARNING, caller=sender, reason="hotkey_mismatch"
            )
            return synapse
        handled = asyncio.run_coroutine_threadsafe(self._handler(sender, info), self._loop)
        await asyncio.wrap_future(handled)
        return synapse


def build_axon(
    wallet: bt.Wallet,
    ingress: ConnectionIngress,
    *,
    host: str,
    port: int,
    external_ip: str,
    external_port: int,
) -> bt.Axon:
    """An Axon on `port` (bittensor 10.1 binds 0.0.0.0 whatever `host` says) advertising
    external_ip:external_port, which `serve_axon` publishes."""
    axon = bt.Axon(
        wallet=wallet,
        port=port,
        ip=host,
        external_ip=external_ip,
        external_port=external_port,
    )

    axon.attach(
        forward_fn=ingress.forward, blacklist_fn=ingress.blacklist, priority_fn=ingress.priority
    )
    return axon
