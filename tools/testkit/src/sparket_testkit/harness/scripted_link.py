"""Stand-ins for the work tests: a link that answers as scripted and a clock that sleeping
moves on (budgets and pauses then play out in test time, not wall time)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.validator_client.replies import Reply, classify
from miner_runtime.validator_client.selection import NeuronView

NOW = dt.datetime(2026, 11, 24, 12, 0, 30, tzinfo=dt.UTC)
ACCEPTED = {"success": True, "accepted": True}

Answer = Callable[[NeuronView, SynapseType, dict[str, Any]], tuple[int, str | None, Any]]


class ScriptedLink:
    """Answers every request with `answer(...)`; keeps what was sent."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.sent: list[tuple[str, SynapseType, dict[str, Any]]] = []
        self.answer: Answer = answer or (lambda v, t, p: (200, None, ACCEPTED))
        # When set, a request stays in flight (after it was sent) until `hold` is set.
        self.hold: asyncio.Event | None = None
        self.in_flight = asyncio.Event()

    async def send(
        self, validator: NeuronView, message_type: SynapseType, payload: dict[str, Any]
    ) -> Reply:
        self.sent.append((validator.hotkey, message_type, payload))
        self.in_flight.set()
        if self.hold is not None:
            await self.hold.wait()
        status, message, body = self.answer(validator, message_type, payload)
        return classify(
            status_code=status,
            status_message=message,
            payload=body,
            expect_games=message_type is SynapseType.GAME_DATA_REQUEST,
        )

    def pushes(self, validator: NeuronView) -> list[dict[str, Any]]:
        return [p for v, t, p in self.sent if v == validator.hotkey and t is SynapseType.ODDS_PUSH]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    async def sleep(self, seconds: float) -> None:
        """Waiting for a budget slot moves the test's time on."""
        self.advance(seconds)
