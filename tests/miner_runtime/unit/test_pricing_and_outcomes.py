"""The built-in naive pricing and the outcome results file (pure logic)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from miner_runtime.pricing.naive import NaiveEngine, odds_for
from miner_runtime.protocol.models import MAX_ODDS, MIN_ODDS, League, MarketKind, Side, Sport
from miner_runtime.storage import ActiveMarket, StoredEvent
from miner_runtime.work.outcomes import (
    EventResult,
    FileOutcomeSource,
    ResultsFileError,
    dump_results,
    in_window,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def market(
    kind: MarketKind,
    league: League = League.NBA,
    sport: Sport = Sport.NBA,
    line: float | None = None,
) -> ActiveMarket:
    return ActiveMarket(
        market_id=7,
        kind=kind,
        line=line,
        event_id=1,
        league=league,
        sport=sport,
        home_team="Home City Hosts",
        away_team="Away Town Visitors",
        start_time_utc=NOW + dt.timedelta(days=1),
    )


def test_soccer_moneyline_is_priced_three_way() -> None:
    quote = NaiveEngine(vig=0.045).price_market(
        market(MarketKind.MONEYLINE, League.EPL, Sport.SOCCER), NOW
    )
    assert {p.side for p in quote.prices} == {Side.HOME, Side.DRAW, Side.AWAY}
    assert sum(p.imp_prob or 0 for p in quote.prices) == pytest.approx(1.0)
    overround = sum(1 / p.odds_eu for p in quote.prices)
    assert 1.0 < overround < 1.08  # our vig, no more


@pytest.mark.parametrize(
    ("kind", "sides"),
    [
        (MarketKind.MONEYLINE, {Side.HOME, Side.AWAY}),
        (MarketKind.SPREAD, {Side.HOME, Side.AWAY}),
        (MarketKind.TOTAL, {Side.OVER, Side.UNDER}),
    ],
)
def test_two_way_markets(kind: MarketKind, sides: set[Side]) -> None:
    quote = NaiveEngine(vig=0.045).price_market(market(kind, line=-3.5), NOW)
    assert {p.side for p in quote.prices} == sides
    assert quote.kind is kind and quote.priced_at == NOW
    assert sum(1 / p.odds_eu for p in quote.prices) > 1.0


def test_home_advantage_favours_home() -> None:
    quote = NaiveEngine(vig=0.0).price_market(market(MarketKind.MONEYLINE), NOW)
    odds = {p.side: p.odds_eu for p in quote.prices}
    assert odds[Side.HOME] < odds[Side.AWAY]


def test_prices_are_deterministic() -> None:
    engine = NaiveEngine(vig=0.045)
    markets = [market(MarketKind.TOTAL), market(MarketKind.SPREAD, line=7)]
    assert engine.price(markets, NOW) == engine.price(markets, NOW)


@pytest.mark.parametrize("probability", [0.0, 0.0001, 0.5, 0.999, 1.5])
def test_odds_always_within_the_validators_bounds(probability: float) -> None:
    assert MIN_ODDS <= odds_for(probability, 0.02) <= MAX_ODDS


def event(event_id: int) -> StoredEvent:
    return StoredEvent(event_id, League.NBA, Sport.NBA, "H", "A", NOW - dt.timedelta(hours=2))


def test_only_results_of_open_events_are_kept() -> None:
    results = [EventResult(event_id=1, result="HOME"), EventResult(event_id=2, result="away")]
    assert in_window(results, [event(2)]) == [results[1]]


async def test_results_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    results = [
        EventResult(event_id=1, result="home", score_home=3, score_away=1),
        EventResult(event_id=2, score_home=0, score_away=0),
    ]
    path.write_text(dump_results(results))
    source = FileOutcomeSource(path)
    assert await source.results([event(1), event(2)]) == results
    assert await FileOutcomeSource(tmp_path / "absent.json").results([event(1)]) == []


async def test_a_bad_results_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('[{"event_id": 1, "winner_label": "home"}]')
    with pytest.raises(ResultsFileError, match=r"results\.json"):
        await FileOutcomeSource(path).results([event(1)])


def test_a_result_needs_a_result_or_both_scores() -> None:
    with pytest.raises(ValueError, match="go together"):
        EventResult(event_id=1, score_home=1)
    with pytest.raises(ValueError, match="needs a result"):
        EventResult(event_id=1)
