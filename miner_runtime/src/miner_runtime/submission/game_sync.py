"""The game sync loop: a full GAME_DATA snapshot from a validator every few minutes.

`tried` is set after the first attempt, successful or not: the odds schedule and the model
refits wait for it, since before it they would find no markets and then idle a whole period.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from miner_runtime.chain.watch import ChainWatch
from miner_runtime.pacing import Pacer
from miner_runtime.submission.submitter import Submitter


class GameSync:
    def __init__(
        self,
        submitter: Submitter,
        chain: ChainWatch,
        *,
        after_sync: Callable[[], Awaitable[None]],
    ) -> None:
        self.submitter = submitter
        self.chain = chain
        self.tried = asyncio.Event()
        self._after_sync = after_sync

    async def run(self, pacer: Pacer) -> None:
        await self.chain.ready.wait()
        await pacer.every(pacer.cadence.game_sync_seconds, self.sync)

    async def sync(self) -> None:
        validators = self.chain.validators()
        try:
            if validators and await self.submitter.sync_games(validators) is not None:
                await self._after_sync()
        finally:
            self.tried.set()
