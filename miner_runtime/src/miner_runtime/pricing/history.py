"""Keeping the results history current, and refitting the built-in engine on it.

The first refresh back-fills `history_days`; later ones fetch from a couple of days before
the newest stored result (late corrections, games that finished after the last look). The
store keeps everything, so a restart costs one short fetch, not a back-fill. The store is
whatever meets `HistoryStore` (storage's `ResultStore` does), so pricing never imports the
storage layer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

from miner_runtime.logs import log_event
from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.names import TeamNames
from miner_runtime.pricing.results import ResultsSource
from miner_runtime.pricing.sources.errors import SourceError
from miner_runtime.protocol.messages import League
from miner_runtime.protocol.results import GameResult

logger = logging.getLogger(__name__)

# Re-read this far behind the newest stored result: scores get corrected, late games end.
_OVERLAP = dt.timedelta(days=2)


def fetch_window(
    latest: dt.datetime | None, now: dt.datetime, history_days: int
) -> tuple[dt.date, dt.date]:
    """The UTC dates to fetch: a back-fill, or from shortly before the newest result."""
    oldest = now - dt.timedelta(days=history_days)
    start = oldest if latest is None else max(oldest, latest - _OVERLAP)
    return start.date(), now.date()


class HistoryStore(Protocol):
    """Where finished games are kept: the three calls the history needs, nothing more."""

    def latest_result_at(self, league: League) -> dt.datetime | None: ...

    def save_results(self, results: Iterable[GameResult], now: dt.datetime) -> int: ...

    def results(
        self, league: League, since: dt.datetime, until: dt.datetime | None = None
    ) -> Sequence[GameResult]: ...


class ResultsHistory:
    def __init__(
        self,
        *,
        store: HistoryStore,
        source: ResultsSource | None,
        names: TeamNames,
        history_days: int,
    ) -> None:
        self.store = store
        self.source = source
        self.names = names
        self.history_days = history_days

    async def refresh(self, leagues: Collection[League], now: dt.datetime) -> str | None:
        """Fetch new results of `leagues` into the store; the first error, if any."""
        if self.source is None:
            return None
        first_error: str | None = None
        for league in sorted(leagues):
            latest = await asyncio.to_thread(self.store.latest_result_at, league)
            first_day, last_day = fetch_window(latest, now, self.history_days)
            try:
                results = await self.source.results(league, first_day, last_day)
            except SourceError as exc:
                log_event(
                    logger,
                    "results_fetch_failed",
                    logging.WARNING,
                    source=self.source.name,
                    league=league.value,
                    error=str(exc),
                )
                first_error = first_error or str(exc)
                continue
            stored = await asyncio.to_thread(self.store.save_results, results, now)
            log_event(
                logger,
                "results_fetched",
                source=self.source.name,
                league=league.value,
                first_day=first_day.isoformat(),
                last_day=last_day.isoformat(),
                results=stored,
            )
        return first_error

    async def refit(
        self, engine: BuiltinEngine, leagues: Collection[League], now: dt.datetime
    ) -> dict[League, int]:
        """Refit the engine on the stored history of `leagues` (off the event loop)."""
        since = now - dt.timedelta(days=self.history_days)
        history = {
            league: await asyncio.to_thread(self.store.results, league, since)
            for league in sorted(leagues)
        }
        games = await asyncio.to_thread(engine.refit, history, now)
        log_event(
            logger,
            "pricing_refit",
            games={league.value: n for league, n in games.items()},
        )
        return games
