"""The reference miner's pricing formula, reproduced as it is described (bugs included).

This is the bar the built-in engine has to clear, so it is copied, not improved: a team
"strength" in [0.25, 0.75] blended from win rates of the season so far, Log5 between the
two strengths, the same probability reused for spreads and totals whatever their line
(over = home), a flat vig added to each side, and only two sides even for soccer's
three-way moneyline (no draw). The reference blends 0.6 with bookmaker odds when an odds
source is configured; the simulation has none, so there is no blend here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from miner_runtime.pricing.models.fit import Game, Market
from miner_runtime.protocol.messages import MarketKind, Side

VIG = 0.045
_SHRINK_GAMES = 20.0  # r = max(0.1, 1 - games / 20): early-season shrinkage to 0.5
_MIN_SHRINK = 0.1
_RECENT_GAMES = 10
_POINTS_SCALE = 40.0  # advanced = 0.5 + point differential per game / 40
_ADVANCED_BOUNDS = (0.3, 0.7)
_STRENGTH_BOUNDS = (0.25, 0.75)
_WEIGHTS = (0.40, 0.20, 0.25, 0.15)  # season, home/away, form, advanced


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


@dataclass(frozen=True)
class Result:
    """One game from a team's point of view."""

    home: bool
    won: bool  # a draw is not a win
    differential: int  # own score minus the opponent's


def _win_rate(results: Sequence[Result]) -> float:
    return sum(r.won for r in results) / len(results)


def strength(results: Sequence[Result], *, home: bool) -> float:
    """The reference's team strength from this season's games so far (0.5 with none)."""
    if not results:
        return 0.5
    games = len(results)
    wr = _win_rate(results)
    r = max(_MIN_SHRINK, 1.0 - games / _SHRINK_GAMES)
    season = wr * (1.0 - r) + 0.5 * r
    split = [result for result in results if result.home == home]
    split_wr = _win_rate(split) if split else wr
    home_away = wr + 0.5 * (split_wr - wr)
    form = wr + 0.5 * (_win_rate(results[-_RECENT_GAMES:]) - wr)
    per_game = sum(result.differential for result in results) / games
    advanced = _clamp(0.5 + per_game / _POINTS_SCALE, *_ADVANCED_BOUNDS)
    w_season, w_split, w_form, w_advanced = _WEIGHTS
    value = w_season * season + w_split * home_away + w_form * form + w_advanced * advanced
    return _clamp(value, *_STRENGTH_BOUNDS)


def log5(a: float, b: float) -> float:
    """P(a beats b) from two strengths (Bill James's Log5), inputs clamped to [0.01, 0.99]."""
    a, b = _clamp(a, 0.01, 0.99), _clamp(b, 0.01, 0.99)
    return (a - a * b) / (a + b - 2.0 * a * b)


def side_odds(probability: float, vig: float = VIG) -> float:
    """Half the vig added to the side's probability, then decimal odds to cents."""
    return round(1.0 / _clamp(probability + vig / 2.0, 0.01, 0.99), 2)


def odds_for(kind: MarketKind, p_home: float) -> dict[Side, float]:
    """Two sides for every market: soccer's draw is never priced, and a total reuses the
    moneyline probability with over = home."""
    first, second = (Side.OVER, Side.UNDER) if kind is MarketKind.TOTAL else (Side.HOME, Side.AWAY)
    return {first: side_odds(p_home), second: side_odds(1.0 - p_home)}


class ReferenceMiner:
    """Keeps each team's results for one season; `odds` prices a market from them."""

    def __init__(self) -> None:
        self._results: dict[str, list[Result]] = {}

    def record(self, game: Game) -> None:
        diff = game.score_home - game.score_away
        self._results.setdefault(game.home, []).append(Result(True, diff > 0, diff))
        self._results.setdefault(game.away, []).append(Result(False, diff < 0, -diff))

    def home_probability(self, market: Market) -> float:
        home = strength(self._results.get(market.home, []), home=True)
        away = strength(self._results.get(market.away, []), home=False)
        return log5(home, away)

    def odds(self, market: Market) -> dict[Side, float]:
        return odds_for(market.kind, self.home_probability(market))
