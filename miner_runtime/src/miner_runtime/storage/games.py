"""Games and markets from GAME_DATA: what is open for odds now, and for outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from miner_runtime.clock import require_aware
from miner_runtime.protocol.markets import ActiveMarket, StoredEvent
from miner_runtime.protocol.messages import Game, League, MarketKind, Sport
from miner_runtime.storage.tables import Event, Market
from miner_runtime.storage.transactions import Database, upsert

ODDS_HORIZON = dt.timedelta(days=7)  # the validator drops odds for later events
OUTCOME_WINDOW = dt.timedelta(hours=12)  # outcomes are taken until start + 12 h


class GameStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def upsert_games(self, games: Iterable[Game], now: dt.datetime) -> int:
        """Store a GAME_DATA snapshot (events, then their markets). Returns the game count.

        Nothing is deleted: a game missing from a snapshot has started or been dropped,
        and its rows are still needed for outcomes and the send history.
        """
        now = require_aware(now)
        games = list(games)
        events: list[dict[str, object]] = [
            {
                "event_id": g.event_id,
                "external_id": g.external_id,
                "league": g.league.value,
                "sport": g.sport.value,
                "home_team": g.home_team,
                "away_team": g.away_team,
                "venue": g.venue,
                "start_time_utc": g.start_time_utc,
                "synced_at": now,
            }
            for g in games
        ]
        markets: list[dict[str, object]] = [
            {
                "market_id": m.market_id,
                "event_id": g.event_id,
                "kind": m.kind.value,
                "line": m.line,
                "synced_at": now,
            }
            for g in games
            for m in g.markets
        ]
        with self.database.engine.begin() as connection:
            upsert(connection, Event.__table__, events, "event_id")  # type: ignore[arg-type]
            upsert(connection, Market.__table__, markets, "market_id")  # type: ignore[arg-type]
        return len(games)

    def active_markets(
        self, now: dt.datetime, horizon: dt.timedelta = ODDS_HORIZON
    ) -> list[ActiveMarket]:
        """Markets of events starting in (now, now + horizon], soonest first."""
        now = require_aware(now)
        with self.database.transaction() as session:
            rows = session.execute(
                sa.select(Market, Event)
                .join(Event, Market.event_id == Event.event_id)
                .where(Event.start_time_utc > now, Event.start_time_utc <= now + horizon)
                .order_by(Event.start_time_utc, Market.market_id)
            )
            return [
                ActiveMarket(
                    market_id=market.market_id,
                    kind=MarketKind(market.kind),
                    line=market.line,
                    event_id=event.event_id,
                    league=League(event.league),
                    sport=Sport(event.sport),
                    home_team=event.home_team,
                    away_team=event.away_team,
                    start_time_utc=event.start_time_utc,
                )
                for market, event in rows
            ]

    def events_in_outcome_window(
        self, now: dt.datetime, window: dt.timedelta = OUTCOME_WINDOW
    ) -> list[StoredEvent]:
        """Events with start <= now <= start + window: the ones outcomes are taken for."""
        now = require_aware(now)
        with self.database.transaction() as session:
            rows = session.scalars(
                sa.select(Event)
                .where(Event.start_time_utc <= now, Event.start_time_utc >= now - window)
                .order_by(Event.start_time_utc, Event.event_id)
            )
            return [
                StoredEvent(
                    event_id=e.event_id,
                    league=League(e.league),
                    sport=Sport(e.sport),
                    home_team=e.home_team,
                    away_team=e.away_team,
                    start_time_utc=e.start_time_utc,
                )
                for e in rows
            ]
