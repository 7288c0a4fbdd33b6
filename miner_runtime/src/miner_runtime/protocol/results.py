"""Final scores of past games: what ratings are fitted on and outcomes are pushed from.

A plain value shared by the results sources (pricing), the results history (storage) and
outcome matching (submission).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
