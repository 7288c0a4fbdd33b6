"""A simple built-in model: home advantage by league, de-vigged probabilities with our vig.

Deterministic on purpose: a price changes only when the market does, so the scheduler's
"send only changed prices" keeps the validator's 200-rows-a-day cap for real changes. The
calibrated model is its own piece of work (issue 6); this one is the fallback the
reference miner also uses (NaiveEngine), minus its bugs: soccer moneylines are priced
three-way (home/draw/away), because the validator scores a 3-way market only with all
three sides in one 60 s bucket.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from miner_runtime.protocol.models import (
    MAX_ODDS,
    MIN_ODDS,
    League,
    MarketKind,
    OddsSubmission,
    Price,
    Side,
    Sport,
)
from miner_runtime.storage import ActiveMarket

HOME_ADVANTAGE: dict[League, float] = {
    League.NFL: 0.03,
    League.NBA: 0.06,
    League.MLB: 0.04,
    League.NHL: 0.05,
}
SOCCER_HOME_ADVANTAGE = 0.05
SOCCER_DRAW = 0.26
SPREAD_SHIFT_PER_POINT = 0.001
SPREAD_SHIFT_MAX = 0.02


def odds_for(probability: float, vig_share: float) -> float:
    """Decimal odds with our share of the vig, rounded to cents, within the validator's bounds."""
    priced = min(max(probability + vig_share, 0.001), 0.99)
    return round(min(max(1.0 / priced, MIN_ODDS), MAX_ODDS), 2)


def _two_way(p_first: float, sides: tuple[Side, Side], vig: float) -> tuple[Price, ...]:
    probabilities = (p_first, 1.0 - p_first)
    return tuple(
        Price(side=side, odds_eu=odds_for(p, vig / 2), imp_prob=round(p, 6))
        for side, p in zip(sides, probabilities, strict=True)
    )


class NaiveEngine:
    """Prices every market; `vig` is the total margin spread over the sides."""

    def __init__(self, *, vig: float) -> None:
        self._vig = vig

    def home_probability(self, market: ActiveMarket) -> float:
        if market.sport is Sport.SOCCER:
            return 0.5 + SOCCER_HOME_ADVANTAGE
        return 0.5 + HOME_ADVANTAGE.get(market.league, 0.03)

    def price_market(self, market: ActiveMarket, now: dt.datetime) -> OddsSubmission:
        if market.kind is MarketKind.MONEYLINE and market.sport is Sport.SOCCER:
            home = (1.0 - SOCCER_DRAW) * self.home_probability(market)
            away = 1.0 - SOCCER_DRAW - home
            prices: tuple[Price, ...] = tuple(
                Price(side=side, odds_eu=odds_for(p, self._vig / 3), imp_prob=round(p, 6))
                for side, p in ((Side.HOME, home), (Side.DRAW, SOCCER_DRAW), (Side.AWAY, away))
            )
        elif market.kind is MarketKind.MONEYLINE:
            prices = _two_way(self.home_probability(market), (Side.HOME, Side.AWAY), self._vig)
        elif market.kind is MarketKind.SPREAD:
            # A home line of -7 means home gives points: a little less likely to cover.
            line = market.line or 0.0
            shift = min(SPREAD_SHIFT_MAX, abs(line) * SPREAD_SHIFT_PER_POINT)
            p_home = 0.5 - shift if line < 0 else 0.5 + shift
            prices = _two_way(p_home, (Side.HOME, Side.AWAY), self._vig)
        else:
            prices = _two_way(0.5, (Side.OVER, Side.UNDER), self._vig)
        return OddsSubmission(
            market_id=market.market_id, kind=market.kind, priced_at=now, prices=prices
        )

    def price(self, markets: Sequence[ActiveMarket], now: dt.datetime) -> list[OddsSubmission]:
        return [self.price_market(market, now) for market in markets]
