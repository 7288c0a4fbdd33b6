"""Final scores of past games: what ratings are fitted on and outcomes are pushed from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from miner_runtime.protocol.messages import League


@dataclass(frozen=True)
class GameResult:
    """One finished game, team names as the source spells them (matched via `names`)."""

    league: League
    home_team: str
    away_team: str
    start_time_utc: dt.datetime  # aware UTC
    score_home: int
    score_away: int
    source: str  # e.g. "espn"
    source_id: str  # the source's own game id: (source, source_id) is unique


class ResultsSource(Protocol):
    name: str

    async def results(
        self, league: League, first_day: dt.date, last_day: dt.date
    ) -> Sequence[GameResult]:
        """Finished games of `league` played on [first_day, last_day] (UTC dates)."""
        ...
