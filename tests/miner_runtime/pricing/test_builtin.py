"""The built-in engine: priors without history, fits with it, the bookmakers' blend and
what `condition()` reports. (A stub odds source stands in for The Odds API here; the
client itself is tested against recorded-shape answers in test_sources.py.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from miner_runtime.pricing.builtin import MIN_HISTORY_GAMES, BuiltinEngine, event_lines
from miner_runtime.pricing.names import TeamNames
from miner_runtime.pricing.quotes import accept
from miner_runtime.pricing.sources.errors import SourceError
from miner_runtime.pricing.sources.theodds import BookOdds, BookPrice, EventOdds
from miner_runtime.protocol.markets import ActiveMarket
from miner_runtime.protocol.messages import League, MarketKind, Side, Sport
from miner_runtime.protocol.results import GameResult

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
START = NOW + dt.timedelta(hours=30)


def market(market_id: int, kind: MarketKind, line: float | None = None) -> ActiveMarket:
    return ActiveMarket(
        market_id=market_id,
        kind=kind,
        line=line,
        event_id=1,
        league=League.NBA,
        sport=Sport.NBA,
        home_team="Miami Heat",
        away_team="Boston Celtics",
        start_time_utc=START,
    )


MARKETS = [
    market(1, MarketKind.MONEYLINE),
    market(2, MarketKind.SPREAD, 4.5),
    market(3, MarketKind.TOTAL, 221.5),
]


def history(games: int) -> list[GameResult]:
    """The Celtics (spelt as ESPN does) beat everyone by 12, home or away."""
    results = []
    for i in range(games):
        start = NOW - dt.timedelta(days=games - i)
        rival = f"Rival {i % 5}"
        celtics_home = i % 2 == 0
        home, away = ("Boston Celtics", rival) if celtics_home else (rival, "Boston Celtics")
        scores = (118, 106) if celtics_home else (106, 118)
        results.append(
            GameResult(League.NBA, home, away, start, *scores, source="espn", source_id=str(i))
        )
    return results


def odds_of(engine: BuiltinEngine, quotes: Sequence[object]) -> dict[int, dict[Side, float]]:
    submissions, dropped = accept(MARKETS, quotes, NOW, engine="builtin")  # type: ignore[arg-type]
    assert dropped == []
    return {s.market_id: {p.side: p.odds_eu for p in s.prices} for s in submissions}


async def test_without_history_it_prices_from_priors_and_says_so() -> None:
    engine = BuiltinEngine(names=TeamNames())
    odds = odds_of(engine, await engine.quote(MARKETS, NOW))
    assert set(odds) == {1, 2, 3}
    # Miami +4.5: the event's own spread line says Boston is better, and it is heeded.
    assert odds[1][Side.AWAY] < odds[1][Side.HOME]
    # A moneyline alone (no lines to go by): the league's home edge decides.
    alone = odds_of(engine, await engine.quote(MARKETS[:1], NOW))
    assert alone[1][Side.HOME] < alone[1][Side.AWAY]
    condition = engine.condition()
    assert condition.degraded
    assert condition.reasons == (f"too little history (< {MIN_HISTORY_GAMES} games): nba",)


async def test_with_history_the_stronger_team_is_the_favourite() -> None:
    engine = BuiltinEngine(names=TeamNames())
    games = engine.refit({League.NBA: history(80)}, NOW)
    assert games == {League.NBA: 80}
    odds = odds_of(engine, await engine.quote(MARKETS, NOW))
    assert odds[1][Side.AWAY] < 1.5 < odds[1][Side.HOME]
    # Miami +4.5 still loses to a 12-point-better team more often than not.
    assert odds[2][Side.AWAY] < odds[2][Side.HOME]
    # Fair odds: no margin, so the implied probabilities sum to about one.
    for sides in odds.values():
        assert sum(1 / o for o in sides.values()) == pytest.approx(1.0, abs=0.01)
    assert engine.condition().degraded is False


class Books:
    """Bookmakers' prices for the Miami-Boston game, as The Odds API client returns them."""

    def __init__(self) -> None:
        self.fail: str | None = None
        self.calls = 0

    async def odds(self, league: League) -> Sequence[EventOdds]:
        self.calls += 1
        if self.fail:
            raise SourceError(self.fail)
        prices = (
            BookPrice(MarketKind.MONEYLINE, Side.HOME, None, 2.50),
            BookPrice(MarketKind.MONEYLINE, Side.AWAY, None, 1.57),
            BookPrice(MarketKind.SPREAD, Side.HOME, 4.5, 1.91),
            BookPrice(MarketKind.SPREAD, Side.AWAY, -4.5, 1.91),
            BookPrice(MarketKind.TOTAL, Side.OVER, 225.5, 1.91),  # another line: ignored
            BookPrice(MarketKind.TOTAL, Side.UNDER, 225.5, 1.91),
        )
        return [
            EventOdds(
                "Miami Heat",
                "Boston Celtics",
                START + dt.timedelta(minutes=10),
                (BookOdds("book-a", prices), BookOdds("book-b", prices)),
            )
        ]


async def test_the_bookmakers_consensus_is_blended_in_where_the_line_matches() -> None:
    books = Books()
    alone = BuiltinEngine(names=TeamNames())
    blended = BuiltinEngine(names=TeamNames(), market_weight=0.6, market_odds=books)
    lines = event_lines(MARKETS)[1]
    model = {m.market_id: alone.probabilities(m, lines) for m in MARKETS}
    quoted = odds_of(blended, await blended.quote(MARKETS, NOW))
    fair_home = (1 / 2.50) / (1 / 2.50 + 1 / 1.57)
    expected_home = 0.6 * fair_home + 0.4 * model[1][Side.HOME]  # type: ignore[index]
    assert 1 / quoted[1][Side.HOME] == pytest.approx(expected_home, abs=0.005)
    expected_cover = 0.6 * 0.5 + 0.4 * model[2][Side.HOME]  # type: ignore[index]
    assert 1 / quoted[2][Side.HOME] == pytest.approx(expected_cover, abs=0.005)
    # The total's line (221.5) is not the books' (225.5): the model's price alone.
    assert 1 / quoted[3][Side.OVER] == pytest.approx(model[3][Side.OVER], abs=0.005)  # type: ignore[index]
    assert books.calls == 1


async def test_an_odds_source_failure_degrades_but_still_prices() -> None:
    books = Books()
    books.fail = "the-odds-api nba: HTTP 401"
    engine = BuiltinEngine(names=TeamNames(), market_odds=books, history_expected=False)
    assert len(await engine.quote(MARKETS, NOW)) == 3
    reasons = engine.condition().reasons
    assert "market odds for nba: the-odds-api nba: HTTP 401" in reasons
    assert "no results source: priced from league priors" in reasons
    books.fail = None
    await engine.quote(MARKETS, NOW)
    assert engine.condition().reasons == ("no results source: priced from league priors",)
