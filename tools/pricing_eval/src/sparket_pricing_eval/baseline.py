"""The home-advantage baseline: how often home teams won before, and a coin for lines.

It knows nothing about the teams, so any predictor worth running must beat it; on spreads
and totals set at the true expectation it is close to the oracle, which is exactly why it
is in the table (a model that is worse than 50/50 on lines is adding noise).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from miner_runtime.pricing.models.fit import Game, Market
from miner_runtime.protocol.messages import MarketKind, Side


@dataclass(frozen=True)
class HomeAdvantageBaseline:
    home: float
    draw: float
    away: float
    three_way: bool

    @classmethod
    def fit(cls, games: Iterable[Game], *, three_way: bool) -> HomeAdvantageBaseline:
        """Frequencies over `games` (the history before the evaluation window). Two-way:
        the home-win rate over decided games; three-way: home, draw and away rates."""
        home = draw = away = 0
        for game in games:
            if game.score_home > game.score_away:
                home += 1
            elif game.score_home < game.score_away:
                away += 1
            else:
                draw += 1
        if three_way:
            n = home + draw + away
            if n == 0:
                return cls(1 / 3, 1 / 3, 1 / 3, three_way)
            return cls(home / n, draw / n, away / n, three_way)
        decided = home + away
        p = home / decided if decided else 0.5
        return cls(p, 0.0, 1.0 - p, three_way)

    def probabilities(self, market: Market) -> dict[Side, float]:
        if market.kind is MarketKind.MONEYLINE:
            if self.three_way:
                return {Side.HOME: self.home, Side.DRAW: self.draw, Side.AWAY: self.away}
            return {Side.HOME: self.home, Side.AWAY: self.away}
        if market.kind is MarketKind.SPREAD:
            return {Side.HOME: 0.5, Side.AWAY: 0.5}
        return {Side.OVER: 0.5, Side.UNDER: 0.5}
