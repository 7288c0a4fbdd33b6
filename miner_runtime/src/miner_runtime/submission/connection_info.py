"""What a CONNECTION_INFO push does: the validator's token is kept (fleet-wide, and in our
own store so a restart serves it again) and, if it unblocks pushes, a catch-up round starts.

Keyed by the sender's dendrite hotkey, one token per validator (docs/protocol.md §2a; the
reference miner kept only the last pusher's token and sent it to everyone).
"""

from __future__ import annotations

import asyncio
import logging

from miner_runtime.clock import utc_now
from miner_runtime.logs import log_event
from miner_runtime.protocol.messages import ConnectionInfo
from miner_runtime.storage import EndpointStore
from miner_runtime.submission.gate import Gate
from miner_runtime.submission.odds_schedule import OddsSchedule

logger = logging.getLogger(__name__)


class ConnectionInfoIntake:
    def __init__(self, gate: Gate, endpoints: EndpointStore, schedule: OddsSchedule) -> None:
        self.gate = gate
        self.endpoints = endpoints
        self.schedule = schedule

    async def restore_tokens(self) -> None:
        """Tokens kept across a restart serve again (their first-seen times kept)."""
        for endpoint in await asyncio.to_thread(self.endpoints.validator_endpoints):
            await self.gate.token_received(
                endpoint.validator_hotkey, endpoint.token, endpoint.token_received_at
            )

    async def received(self, validator_hotkey: str, info: ConnectionInfo) -> None:
        now = utc_now()
        unblocked = await self.gate.token_received(validator_hotkey, info.token, now)
        await asyncio.to_thread(
            self.endpoints.save_validator_endpoint,
            validator_hotkey,
            info.host,
            info.port,
            info.token,
            now,
        )
        log_event(
            logger,
            "miner_validator_endpoint_updated",
            validator=validator_hotkey,
            host=info.host,
            port=info.port,
            step=info.step,
            token_received=True,
            pushes_resumed=unblocked,
        )
        if unblocked:
            # A new token: whatever waited for one (here or anywhere in the fleet) goes now.
            self.schedule.catch_up(validator_hotkey)
