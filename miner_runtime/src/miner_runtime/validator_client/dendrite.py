"""A bittensor Dendrite that tells the truth about our egress IP and never looks it up.

Stock `Dendrite.__init__` asks checkip.amazonaws.com (then ifconfig.me, ipinfo.io) for our
public IP and reports the answer in every request body; validators file failures under
that IP. In a fleet the operator knows the egress IP (node ExternalIP or shared NAT), so
we take it from settings, make no external lookup, and can bind the TCP source address
(tests use 127.0.0.x sources to stand for distinct egress IPs).

It also keeps only the last few calls in `synapse_history`: stock bittensor keeps every
call for the life of the Dendrite, which is the life of the runtime.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import MutableSequence
from typing import Any

import aiohttp
import bittensor as bt

logger = logging.getLogger(__name__)


# A validator's axon (uvicorn) closes a connection idle for 5 s. Reusing one just as it is
# closed fails the request ("server disconnected"), which must count as unreachable (a
# shared pause, a suspect token), so never reuse a connection idle for nearly that long.
KEEPALIVE_SECONDS = 2.0

# How many calls `synapse_history` keeps (see EgressDendrite).
SYNAPSE_HISTORY_KEPT = 8


class EgressDendrite(bt.Dendrite):  # type: ignore[misc]  # bittensor ships no type hints
    """`bt.Dendrite` with a configured `external_ip`, an optional source address, and a
    bounded `synapse_history`.

    Why bounded: bittensor 10.1.0's `DendriteMixin.call` (and `call_stream`) end every
    request, whatever its outcome, in their `finally:` block with
    `self.synapse_history.append(Synapse.from_headers(synapse.to_headers()))`
    (bittensor/core/dendrite.py lines 599 and 677), and nothing ever trims the list: about
    4.5 KB per request for the runtime's whole life (87 MiB per 20,000 requests measured by
    tools/bench/dendrite_memory.py; a GB in under three days at one request a second).
    Nothing in bittensor reads it back, so a deque of the last
    `SYNAPSE_HISTORY_KEPT` calls keeps `append`, `len`, indexing and iteration working
    (for anyone debugging) and stops the growth. The copy is still built on every call
    (its `to_headers()` is the slow schema build of bittensor #3322): only overriding
    `call` would save that, which would fork more of bittensor than this is worth.
    """

    def __init__(self, keypair: Any, *, egress_ip: str, source_address: str | None = None):
        # Deliberately not DendriteMixin.__init__: it performs the external IP lookup.
        # These are the attributes it sets (bittensor 10.1.x; pinned <11), checked by a
        # loopback test against a real Axon.
        self.uuid = str(uuid.uuid1())
        self.external_ip = egress_ip
        self.keypair = keypair
        # Bittensor only appends to it; any mutable sequence will do (the benchmark's --stock
        # puts back a list).
        self.synapse_history: MutableSequence[Any] = deque(maxlen=SYNAPSE_HISTORY_KEPT)
        self._session: aiohttp.ClientSession | None = None
        self._source_address = source_address

    @property
    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = (
                aiohttp.TCPConnector(
                    local_addr=(self._source_address, 0), keepalive_timeout=KEEPALIVE_SECONDS
                )
                if self._source_address
                else aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
            )
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def __del__(self) -> None:
        """bittensor's __del__ warns from inside a running loop even when the session was
        closed; we close explicitly with `aclose_session`, so only a real leak is reported."""
        if self._session is not None and not self._session.closed:
            logger.warning("dendrite_session_leaked")
