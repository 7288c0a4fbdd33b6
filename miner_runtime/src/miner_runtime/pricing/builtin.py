"""The built-in engine: ratings fitted on the results history, optionally blended with the
bookmakers' consensus.

State is swapped, never mutated: `refit` builds new fitted leagues off the event loop
(from the stored history) and replaces them in one assignment, so a cycle prices from one
consistent model. With no history for a league the engine prices from that league's
priors (every team average, the league's home edge) and says so in `condition()`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from miner_runtime.logs import log_event
from miner_runtime.pricing.engine import EngineCondition, MarketQuery, Quote
from miner_runtime.pricing.models.fit import FittedLeague, Game, Market, fit_league
from miner_runtime.pricing.models.market import blend, consensus
from miner_runtime.pricing.names import TeamNames
from miner_runtime.pricing.quotes import quote_of, sides_of
from miner_runtime.pricing.sources.errors import SourceError
from miner_runtime.pricing.sources.theodds import EventOdds
from miner_runtime.protocol.messages import League, MarketKind, Side
from miner_runtime.protocol.results import GameResult

logger = logging.getLogger(__name__)

# Fewer rated games than this in a league: its prices are marked degraded.
MIN_HISTORY_GAMES = 50
# A bookmaker event matches a market's event if it starts within this of it.
_SAME_EVENT = dt.timedelta(hours=6)


@dataclass(frozen=True)
class EventLines:
    """What an event's spread and total lines say: expected margin (home minus away) and
    expected total. With several lines of a kind (alternates), their median."""

    margin: float | None
    total: float | None


def event_lines(markets: Iterable[MarketQuery]) -> dict[int, EventLines]:
    spreads: dict[int, list[float]] = {}
    totals: dict[int, list[float]] = {}
    for market in markets:
        if market.line is None or market.kind is MarketKind.MONEYLINE:
            continue
        if market.kind is MarketKind.SPREAD:
            spreads.setdefault(market.event_id, []).append(-market.line)
        else:
            totals.setdefault(market.event_id, []).append(market.line)
    return {
        event: EventLines(
            statistics.median(spreads[event]) if event in spreads else None,
            statistics.median(totals[event]) if event in totals else None,
        )
        for event in spreads.keys() | totals.keys()
    }


class MarketOddsSource(Protocol):
    async def odds(self, league: League) -> Sequence[EventOdds]: ...


def fit_history(league: League, results: Iterable[GameResult], names: TeamNames) -> FittedLeague:
    """Fit one league on its stored results (team names made canonical first)."""
    games = [
        Game(
            home=names.canonical(r.home_team),
            away=names.canonical(r.away_team),
            start=r.start_time_utc,
            score_home=r.score_home,
            score_away=r.score_away,
        )
        for r in results
    ]
    return fit_league(league, games)


class BuiltinEngine:
    name = "builtin"

    def __init__(
        self,
        *,
        names: TeamNames,
        vig: float = 0.0,
        market_weight: float = 0.6,
        market_odds: MarketOddsSource | None = None,
        history_expected: bool = True,
    ) -> None:
        self.names = names
        self.vig = vig
        self.market_weight = market_weight
        self.market_odds = market_odds
        # False when no results source is configured: priors are then the intended model.
        self.history_expected = history_expected
        self._fitted: dict[League, FittedLeague] = {}
        self._priced_leagues: set[League] = set()
        self._odds_failures: dict[League, str] = {}
        self._history_error: str | None = None
        self.fitted_at: dt.datetime | None = None

    # ---- state ---------------------------------------------------------------------

    def refit(
        self, history: Mapping[League, Sequence[GameResult]], now: dt.datetime
    ) -> dict[League, int]:
        """Build fitted leagues from `history` and swap them in; CPU only (run in a thread).

        Returns the number of rated games per league."""
        fitted = {league: fit_history(league, rs, self.names) for league, rs in history.items()}
        self._fitted = fitted
        self.fitted_at = now
        return {league: f.games for league, f in fitted.items()}

    def history_failed(self, error: str | None) -> None:
        """The last history refresh's error (None when it worked), for `condition()`."""
        self._history_error = error

    def _league(self, league: League) -> FittedLeague:
        fitted = self._fitted.get(league)
        if fitted is None:
            fitted = fit_league(league, ())
            self._fitted = {**self._fitted, league: fitted}
        return fitted

    # ---- pricing -------------------------------------------------------------------

    async def quote(self, markets: Sequence[MarketQuery], now: dt.datetime) -> list[Quote]:
        leagues = {market.league for market in markets}
        self._priced_leagues = leagues
        books = await self._bookmakers(leagues)
        # CPU-bound for thousands of markets: off the event loop.
        return await asyncio.to_thread(self._quote_all, markets, books)

    def _quote_all(
        self, markets: Sequence[MarketQuery], books: Mapping[League, Sequence[EventOdds]]
    ) -> list[Quote]:
        events = self._index_events(books)
        lines = event_lines(markets)
        quotes: list[Quote] = []
        for market in markets:
            probabilities = self.probabilities(market, lines.get(market.event_id))
            if probabilities is None:
                continue
            event = _same_event(market, events, self.names)
            market_view = consensus(_book_prices(event, market)) if event else {}
            if market_view:
                probabilities = blend(probabilities, market_view, self.market_weight)
            quotes.append(quote_of(market, probabilities, vig=self.vig))
        return quotes

    def _index_events(
        self, books: Mapping[League, Sequence[EventOdds]]
    ) -> dict[tuple[League, str, str], list[EventOdds]]:
        """Bookmaker events by (league, home, away), names canonical: one lookup per market."""
        index: dict[tuple[League, str, str], list[EventOdds]] = {}
        for league, events in books.items():
            for event in events:
                key = (
                    league,
                    self.names.canonical(event.home_team),
                    self.names.canonical(event.away_team),
                )
                index.setdefault(key, []).append(event)
        return index

    def probabilities(
        self, market: MarketQuery, lines: EventLines | None = None
    ) -> dict[Side, float] | None:
        """The model's fair probabilities for `market` (before any bookmaker blend)."""
        return self._league(market.league).probabilities(
            Market(
                kind=market.kind,
                home=self.names.canonical(market.home_team),
                away=self.names.canonical(market.away_team),
                start=market.start_time_utc,
                line=market.line,
                event_margin=lines.margin if lines else None,
                event_total=lines.total if lines else None,
            )
        )

    async def _bookmakers(self, leagues: Collection[League]) -> dict[League, Sequence[EventOdds]]:
        if self.market_odds is None:
            return {}
        found: dict[League, Sequence[EventOdds]] = {}
        for league in sorted(leagues):
            try:
                found[league] = await self.market_odds.odds(league)
            except SourceError as exc:
                if self._odds_failures.get(league) != str(exc):
                    log_event(
                        logger,
                        "market_odds_unavailable",
                        logging.WARNING,
                        league=league.value,
                        error=str(exc),
                    )
                self._odds_failures[league] = str(exc)
                continue
            self._odds_failures.pop(league, None)
        return found

    # ---- condition -----------------------------------------------------------------

    def condition(self) -> EngineCondition:
        reasons: list[str] = []
        if self._history_error is not None:
            reasons.append(f"results history: {self._history_error}")
        games = {
            league.value: self._league(league).games for league in sorted(self._priced_leagues)
        }
        if self.history_expected:
            thin = [league for league, n in games.items() if n < MIN_HISTORY_GAMES]
            if thin:
                reasons.append(
                    f"too little history (< {MIN_HISTORY_GAMES} games): " + ",".join(thin)
                )
        else:
            reasons.append("no results source: priced from league priors")
        for league, error in sorted(self._odds_failures.items()):
            reasons.append(f"market odds for {league.value}: {error}")
        return EngineCondition(
            engine=self.name,
            degraded=bool(reasons),
            reasons=tuple(reasons),
            detail={
                "history_games": games,
                "market_blend": self.market_odds is not None,
                "fitted_at": self.fitted_at.isoformat() if self.fitted_at else None,
            },
        )


def _book_prices(event: EventOdds, market: MarketQuery) -> list[dict[Side, float]]:
    """Each book's odds for exactly this market (same kind; same line for spreads/totals)."""
    wanted = {
        MarketKind.MONEYLINE: None,
        MarketKind.SPREAD: market.line,
        MarketKind.TOTAL: market.line,
    }[market.kind]
    books: list[dict[Side, float]] = []
    for book in event.books:
        odds: dict[Side, float] = {}
        for price in book.prices:
            if price.kind is not market.kind:
                continue
            if market.kind is MarketKind.SPREAD and price.side is Side.AWAY:
                point = None if price.point is None else -price.point
            else:
                point = price.point
            if wanted is not None and (point is None or abs(point - wanted) > 1e-9):
                continue
            odds[price.side] = price.odds
        if set(odds) == sides_of(market):
            books.append(odds)
    return books


def _same_event(
    market: MarketQuery,
    events: Mapping[tuple[League, str, str], Sequence[EventOdds]],
    names: TeamNames,
) -> EventOdds | None:
    key = (market.league, names.canonical(market.home_team), names.canonical(market.away_team))
    for event in events.get(key, ()):
        if abs(event.commence_time - market.start_time_utc) <= _SAME_EVENT:
            return event
    return None
