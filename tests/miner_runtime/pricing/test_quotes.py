"""`accept`: the one gate between any engine's answer and a submission."""

from __future__ import annotations

import datetime as dt
import logging
import math

import pytest

from miner_runtime.pricing.engine import Quote
from miner_runtime.pricing.quotes import accept, fair_odds, quote_of
from miner_runtime.protocol.markets import ActiveMarket
from miner_runtime.protocol.messages import MAX_ODDS, MIN_ODDS, League, MarketKind, Side, Sport

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)


def market(market_id: int, kind: MarketKind, sport: Sport = Sport.NBA) -> ActiveMarket:
    league = League.EPL if sport is Sport.SOCCER else League.NBA
    return ActiveMarket(
        market_id=market_id,
        kind=kind,
        line=None if kind is MarketKind.MONEYLINE else 3.5,
        event_id=1,
        league=league,
        sport=sport,
        home_team="Boston Celtics",
        away_team="Miami Heat",
        start_time_utc=NOW + dt.timedelta(days=1),
    )


MARKETS = [
    market(1, MarketKind.MONEYLINE),
    market(2, MarketKind.TOTAL),
    market(3, MarketKind.MONEYLINE, Sport.SOCCER),
    market(4, MarketKind.SPREAD),
]


@pytest.mark.parametrize(
    ("quote", "reason"),
    [
        (Quote(99, MarketKind.MONEYLINE, {Side.HOME: 2.0}), "unknown market"),
        (Quote(1, MarketKind.TOTAL, {Side.OVER: 2.0}), "kind TOTAL but the market is MONEYLINE"),
        (Quote(2, MarketKind.TOTAL, {Side.HOME: 2.0}), "sides home do not belong"),
        (Quote(3, MarketKind.MONEYLINE, {Side.HOME: 2.0, Side.AWAY: 2.0}), "needs home, draw"),
        (Quote(1, MarketKind.MONEYLINE, {Side.HOME: math.nan}), "not a finite number"),
        (Quote(1, MarketKind.MONEYLINE, {Side.HOME: math.inf}), "not a finite number"),
        (Quote(1, MarketKind.MONEYLINE, {Side.HOME: 1.0}), "outside [1.01, 1000.0]"),
        (Quote(4, MarketKind.SPREAD, {Side.AWAY: 1000.5}), "outside [1.01, 1000.0]"),
        (Quote(1, MarketKind.MONEYLINE, {}), "no sides"),
    ],
)
def test_a_bad_quote_is_dropped_with_a_log_line(
    quote: Quote, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = Quote(2, MarketKind.TOTAL, {Side.OVER: 1.9, Side.UNDER: 1.95})
    with caplog.at_level(logging.WARNING):
        submissions, dropped = accept(MARKETS, [quote, good], NOW, engine="sidecar")
    assert [s.market_id for s in submissions] == [2]
    assert len(dropped) == 1 and reason in dropped[0].reason
    logged = [r for r in caplog.records if r.getMessage() == "pricing_quote_dropped"]
    assert len(logged) == 1
    assert reason in logged[0].sparket_fields["reason"]  # type: ignore[attr-defined]
    assert logged[0].sparket_fields["market_id"] == quote.market_id  # type: ignore[attr-defined]


def test_valid_quotes_become_submissions_priced_now() -> None:
    quotes = [
        Quote(3, MarketKind.MONEYLINE, {Side.HOME: 2.1, Side.DRAW: 3.4, Side.AWAY: 3.9}),
        Quote(4, MarketKind.SPREAD, {Side.HOME: MIN_ODDS}),  # one side of a two-way: allowed
        Quote(1, MarketKind.MONEYLINE, {Side.HOME: 1.5, Side.AWAY: MAX_ODDS}),
    ]
    submissions, dropped = accept(MARKETS, quotes, NOW, engine="builtin")
    assert dropped == []
    wire = {s.market_id: s.to_wire() for s in submissions}
    assert wire[3]["prices"] == [
        {"side": "home", "odds_eu": 2.1},
        {"side": "draw", "odds_eu": 3.4},
        {"side": "away", "odds_eu": 3.9},
    ]
    assert wire[4] == {
        "market_id": 4,
        "kind": "spread",
        "prices": [{"side": "home", "odds_eu": MIN_ODDS}],
        "priced_at": NOW.isoformat(),
    }


def test_a_market_quoted_twice_keeps_the_first_quote() -> None:
    first = Quote(2, MarketKind.TOTAL, {Side.OVER: 1.9, Side.UNDER: 1.95})
    second = Quote(2, MarketKind.TOTAL, {Side.OVER: 2.5, Side.UNDER: 1.6})
    submissions, dropped = accept(MARKETS, [first, second], NOW, engine="sidecar")
    assert [p.odds_eu for p in submissions[0].prices] == [1.9, 1.95]
    assert [d.reason for d in dropped] == ["quoted twice"]


def test_a_flood_of_bad_quotes_is_summarised(caplog: pytest.LogCaptureFixture) -> None:
    junk = [Quote(1000 + i, MarketKind.MONEYLINE, {Side.HOME: 2.0}) for i in range(50)]
    with caplog.at_level(logging.WARNING):
        _, dropped = accept(MARKETS, junk, NOW, engine="sidecar")
    assert len(dropped) == 50
    assert caplog.text.count("pricing_quote_dropped") == 20
    assert "pricing_quotes_dropped" in caplog.text


@pytest.mark.parametrize("probability", [0.0, 1e-9, 0.5, 0.999, 1.0, 1.7])
def test_fair_odds_stay_within_the_validators_bounds(probability: float) -> None:
    assert MIN_ODDS <= fair_odds(probability) <= MAX_ODDS


def test_quote_of_spreads_the_vig_over_the_sides() -> None:
    fair = quote_of(MARKETS[0], {Side.HOME: 0.5, Side.AWAY: 0.5})
    assert fair.odds == {Side.HOME: 2.0, Side.AWAY: 2.0}
    vigged = quote_of(MARKETS[0], {Side.HOME: 0.5, Side.AWAY: 0.5}, vig=0.04)
    assert sum(1 / o for o in vigged.odds.values()) == pytest.approx(1.04, abs=0.005)
