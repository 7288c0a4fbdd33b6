"""A bittensor Dendrite for loopback tests: no external IP lookup, a chosen source address.

Stock `Dendrite.__init__` asks checkip.amazonaws.com for the public IP (the test process
refuses any non-loopback connect), and reports the answer in every request body, where
validators file failures under it. Here the reported IP is given, and the TCP source
address can be bound, so that 127.0.0.x addresses stand for distinct egress IPs.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import Any

import aiohttp
import bittensor as bt

logger = logging.getLogger(__name__)


class LoopbackDendrite(bt.Dendrite):  # type: ignore[misc]  # bittensor ships no type hints
    """`bt.Dendrite` reporting `external_ip`, optionally bound to `source_address`.

    Close it with `await aclose_session()` on the loop that used it.
    """

    def __init__(
        self, keypair: Any, *, external_ip: str = "127.0.0.1", source_address: str | None = None
    ) -> None:
        # Not DendriteMixin.__init__, which does the IP lookup: these are the attributes it
        # sets in bittensor 10.1.0 (pinned), exercised against a real Axon by the tests.
        self.uuid = str(uuid.uuid1())
        self.external_ip = external_ip
        self.keypair = keypair
        # Upstream keeps every call forever in a list; a demo may run for hours.
        self.synapse_history: deque[Any] = deque(maxlen=100)
        self._session: aiohttp.ClientSession | None = None
        self._source_address = source_address

    @property
    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            local_addr = (self._source_address, 0) if self._source_address else None
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=local_addr)
            )
        return self._session

    def _get_endpoint_url(self, target_axon: Any, request_name: str) -> str:
        """Always the target's own address.

        Upstream dials 0.0.0.0 when the target's IP equals our reported one, which is not a
        loopback address and would trip the test process's connect guard.
        """
        return f"http://{target_axon.ip}:{target_axon.port}/{request_name}"

    def __del__(self) -> None:
        """Upstream's __del__ closes the session from whatever loop is current and warns; we
        close explicitly with `aclose_session`, so only a real leak is reported."""
        if self._session is not None and not self._session.closed:
            logger.warning("loopback_dendrite_session_leaked")
