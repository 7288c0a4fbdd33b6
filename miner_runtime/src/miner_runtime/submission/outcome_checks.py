"""The outcome loop: results for events in the outcome window go to every validator once.

Each check refreshes the results history for the leagues with events in the window (a short
fetch), asks the outcome sources, and pushes what they found; the submitter sends each
result once per validator, again only if it changes (docs/protocol.md §3: 50 a day at most).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence

from miner_runtime.chain.watch import ChainWatch
from miner_runtime.clock import utc_now
from miner_runtime.pacing import Pacer
from miner_runtime.pricing.history import ResultsHistory
from miner_runtime.protocol.markets import StoredEvent
from miner_runtime.protocol.messages import League
from miner_runtime.submission.outcomes import OutcomeSource
from miner_runtime.submission.submitter import Submitter

EventsInWindow = Callable[[dt.datetime], Sequence[StoredEvent]]


class OutcomeChecks:
    def __init__(
        self,
        submitter: Submitter,
        chain: ChainWatch,
        *,
        events_in_window: EventsInWindow,
        history: ResultsHistory,
        sources: OutcomeSource,
        priced_leagues: frozenset[League],
    ) -> None:
        self.submitter = submitter
        self.chain = chain
        self.history = history
        self.sources = sources
        self._events_in_window = events_in_window
        self._priced = priced_leagues

    async def run(self, pacer: Pacer) -> None:
        await self.chain.ready.wait()
        await pacer.every(pacer.cadence.outcome_seconds, self.check)

    async def check(self) -> None:
        validators = self.chain.validators()
        if not validators:
            return
        now = utc_now()
        events = await asyncio.to_thread(self._events_in_window, now)
        if not events:
            return
        await self.history.refresh({e.league for e in events} & self._priced, now)
        results = await self.sources.results(events)
        if results:
            await self.submitter.push_outcomes(validators, results)
