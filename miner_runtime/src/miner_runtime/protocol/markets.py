"""The runtime's view of synced games: what pricing quotes and what outcomes are sent for.

Plain values shared by storage (which reads them from the tables), pricing and submission,
so none of those needs another's module to speak about a market or an event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from miner_runtime.protocol.messages import League, MarketKind, Sport


@dataclass(frozen=True)
class ActiveMarket:
    """A market the validator currently takes odds for, with what pricing needs to know."""

    market_id: int
    kind: MarketKind
    line: float | None
    event_id: int
    league: League
    sport: Sport
    home_team: str
    away_team: str
    start_time_utc: dt.datetime


@dataclass(frozen=True)
class StoredEvent:
    """A synced event, as outcome sources match results to it."""

    event_id: int
    league: League
    sport: Sport
    home_team: str
    away_team: str
    start_time_utc: dt.datetime
