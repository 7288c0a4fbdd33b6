"""From a league's results history to fair probabilities for its markets.

`fit_league` replays the history in time order through `Ratings`. Before each game it
records the moneyline forecast it would have made (once both teams have a few games), so
the calibration is fitted on genuine out-of-sample forecasts. The result prices a market
as follows: two-way moneylines by Elo's logistic curve (Normal leagues) or Poisson with
ties shared (hockey, baseball); soccer's three-way moneyline and every spread and total by
the score distribution, from the market's own line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from miner_runtime.pricing.models.calibration import Platt, fit_platt
from miner_runtime.pricing.models.distributions import NormalGame, PoissonGame
from miner_runtime.pricing.models.leagues import PROFILES
from miner_runtime.pricing.models.ratings import Ratings
from miner_runtime.protocol.messages import League, MarketKind, Side

# A team's forecasts count for calibration only once it has this many games rated.
_CALIBRATION_WARMUP_GAMES = 5


@dataclass(frozen=True)
class Game:
    """One final score, team names already canonical (see `pricing.names`)."""

    home: str
    away: str
    start: dt.datetime
    score_home: int
    score_away: int


@dataclass(frozen=True)
class Market:
    """What pricing needs of a market: names canonical, `line` the home spread or total.

    `event_margin`/`event_total` are what the event's own spread and total lines say
    (minus the home spread, and the total): the bookmakers' expectation, free with every
    game-data snapshot and hard to beat, so the ratings' expectation is pulled toward it.
    """

    kind: MarketKind
    home: str
    away: str
    start: dt.datetime
    line: float | None
    event_margin: float | None = None
    event_total: float | None = None


@dataclass
class FittedLeague:
    league: League
    ratings: Ratings
    calibration: Platt = field(default_factory=Platt)
    # One score distribution per event and lines, shared by its markets (this fit only).
    _games: dict[tuple[object, ...], NormalGame | PoissonGame] = field(
        default_factory=dict, repr=False
    )

    @property
    def games(self) -> int:
        return self.ratings.games

    def game(self, market: Market) -> NormalGame | PoissonGame:
        """The score distribution: the ratings' expectation pulled toward the lines'."""
        key = (market.home, market.away, market.start, market.event_margin, market.event_total)
        cached = self._games.get(key)
        if cached is not None:
            return cached
        home, away = self.ratings.expected_scores(market.home, market.away, market.start)
        margin, total = home - away, home + away
        weight = self.ratings.profile.line_weight
        if market.event_margin is not None:
            margin += weight * (market.event_margin - margin)
        if market.event_total is not None:
            total += weight * (market.event_total - total)
        game = self.ratings.game_of((total + margin) / 2, (total - margin) / 2)
        self._games[key] = game
        return game

    def probabilities(self, market: Market) -> dict[Side, float] | None:
        """Fair probabilities per side (summing to one), or None if it cannot be priced."""
        game = self.game(market)
        if market.kind is MarketKind.MONEYLINE:
            if self.ratings.profile.three_way and isinstance(game, PoissonGame):
                home, draw, away = game.three_way()
                return {Side.HOME: home, Side.DRAW: draw, Side.AWAY: away}
            p = game.home_win()
            if market.event_margin is None:
                # Calibrated on ratings-only forecasts: it applies to those only.
                p = self.calibration(p)
            return {Side.HOME: p, Side.AWAY: 1.0 - p}
        if market.line is None:
            return None
        if market.kind is MarketKind.SPREAD:
            # The home line: -7 means home gives 7 points, so it covers if margin > 7.
            p = game.above(-market.line, margin=True)
            return {Side.HOME: p, Side.AWAY: 1.0 - p}
        p = game.above(market.line, margin=False)
        return {Side.OVER: p, Side.UNDER: 1.0 - p}


def fit_league(
    league: League,
    games: Iterable[Game],
) -> FittedLeague:
    """Replay `games` (any order; sorted here) and calibrate two-way moneylines."""
    ratings = Ratings(PROFILES[league])
    forecasts: list[tuple[float, int]] = []
    for game in sorted(games, key=lambda g: g.start):
        home_t, away_t = ratings.teams.get(game.home), ratings.teams.get(game.away)
        warm = (
            home_t is not None
            and away_t is not None
            and min(home_t.games, away_t.games) >= _CALIBRATION_WARMUP_GAMES
        )
        if warm and game.score_home != game.score_away:
            p = ratings.game(game.home, game.away, game.start).home_win()
            forecasts.append((p, 1 if game.score_home > game.score_away else 0))
        ratings.update(game.home, game.away, game.start, game.score_home, game.score_away)
    calibration = Platt() if ratings.profile.three_way else fit_platt(forecasts)
    return FittedLeague(league=league, ratings=ratings, calibration=calibration)
