"""When odds rounds start: on the cadence, counted from each round's start (not its end),
plus a catch-up for a validator the moment a new token for it arrives.

A round held at one validator therefore delays neither the next round nor the others
(docs/decisions.md, "A validator's day"), and pushes that waited for a token (here or
anywhere in the fleet) go as soon as one is usable.
"""

from __future__ import annotations

import asyncio
import contextlib

from miner_runtime.chain.watch import ChainWatch
from miner_runtime.pacing import Pacer
from miner_runtime.submission.rounds import OddsRounds


class OddsSchedule:
    def __init__(self, rounds: OddsRounds, chain: ChainWatch) -> None:
        self.rounds = rounds
        self.chain = chain
        self._catch_up: set[str] = set()
        self._wake = asyncio.Event()

    def catch_up(self, validator_hotkey: str) -> None:
        """Start a round for this validator now (its new token is usable)."""
        self._catch_up.add(validator_hotkey)
        self._wake.set()

    async def run(
        self, pacer: Pacer, *, games_tried: asyncio.Event, pricing_ready: asyncio.Event
    ) -> None:
        await self.chain.ready.wait()
        await games_tried.wait()
        # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation
        # that lands as the awaited event is set, and stop() then waits for ever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(pacer.cadence.first_fit_wait_seconds):
                await pricing_ready.wait()
        await asyncio.sleep(pacer.initial_delay())
        try:
            await self._on_cadence(pacer)
        finally:
            await self.rounds.stop()  # before the stores close

    async def _on_cadence(self, pacer: Pacer) -> None:
        loop = asyncio.get_running_loop()
        next_round = loop.time()
        while True:
            validators = self.chain.validators()
            if validators:
                await self.rounds.start(validators)
            next_round = max(next_round + pacer.jittered(pacer.cadence.odds_seconds), loop.time())
            while (remaining := next_round - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._wake.wait()
                self._wake.clear()
                await self._start_catch_ups()

    async def _start_catch_ups(self) -> None:
        wanted, self._catch_up = self._catch_up, set()
        validators = [v for v in self.chain.validators() if v.hotkey in wanted]
        if validators:
            await self.rounds.start(validators)
