"""The model refit loop: keep the results history current and refit the built-in engine.

Refits cover the leagues this hotkey prices that have markets open now. A league a game
sync brings between hourly refits is fitted at once (`refit_for_new_leagues`), not up to an
hour later. `ready` is set after the first fit (or at once when no built-in engine runs),
which the first odds round waits for, within `first_fit_wait_seconds`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence

from miner_runtime.clock import utc_now
from miner_runtime.pacing import Pacer
from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.history import ResultsHistory
from miner_runtime.protocol.markets import ActiveMarket
from miner_runtime.protocol.messages import League

ActiveMarkets = Callable[[dt.datetime], Sequence[ActiveMarket]]


class ModelRefits:
    def __init__(
        self,
        builtin: BuiltinEngine | None,
        history: ResultsHistory,
        *,
        active_markets: ActiveMarkets,
        priced_leagues: frozenset[League],
    ) -> None:
        self.builtin = builtin
        self.history = history
        self.ready = asyncio.Event()
        self._active_markets = active_markets
        self._priced = priced_leagues
        self._fitted: set[League] = set()

    async def run(self, pacer: Pacer, games_tried: asyncio.Event) -> None:
        """Runs until cancelled, as every loop of the runtime: the app stops when one ends.
        With a model sidecar there is nothing to refit, so the loop only waits."""
        await games_tried.wait()
        if self.builtin is None:
            self.ready.set()
            await asyncio.get_running_loop().create_future()  # until cancelled
            return
        await pacer.every(pacer.cadence.stats_refresh_seconds, self.refit)

    async def active_leagues(self) -> set[League]:
        """The leagues this hotkey prices that have markets open for odds now."""
        markets = await asyncio.to_thread(self._active_markets, utc_now())
        return {m.league for m in markets} & self._priced

    async def refit(self, leagues: set[League] | None = None) -> None:
        assert self.builtin is not None  # run() and refit_for_new_leagues() check it
        now = utc_now()
        if leagues is None:
            leagues = await self.active_leagues()
        try:
            error = await self.history.refresh(leagues, now)
            self.builtin.history_failed(error)
            await self.history.refit(self.builtin, leagues, now)
            self._fitted = leagues
        finally:
            self.ready.set()

    async def refit_for_new_leagues(self) -> None:
        """Before the first fit, the loop's own fit covers a new league."""
        if self.builtin is None or not self.ready.is_set():
            return
        leagues = await self.active_leagues()
        if leagues - self._fitted:
            await self.refit(leagues)
