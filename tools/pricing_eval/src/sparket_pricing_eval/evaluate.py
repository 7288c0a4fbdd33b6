"""The walk-forward protocol: every predictor prices the last season's markets, seeing only
what it could have seen at the time, and is scored per submitted side.

The first seasons are history. In the evaluation season the built-in engine is refitted
with `fit_league` every `refit_days` days on the games that started strictly before the
refit time (no leakage: the week's games are priced by a fit that has not seen them). The
reference miner keeps each team's results of the current season and sees every game before
the game's own day (a little more than the engine: any doubt goes against the engine). The
baseline is fitted once on the history. The oracle and the engine submit fair odds.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from miner_runtime.pricing.models.fit import FittedLeague, Game, Market, fit_league
from miner_runtime.pricing.models.leagues import PROFILES
from miner_runtime.pricing.quotes import fair_odds
from miner_runtime.protocol.messages import League, MarketKind, Side
from sparket_pricing_eval import oracle
from sparket_pricing_eval.baseline import HomeAdvantageBaseline
from sparket_pricing_eval.metrics import Row, rows_for
from sparket_pricing_eval.reference import ReferenceMiner
from sparket_pricing_eval.simulate import SimGame, settle

BUILT_IN = "built-in"
RATINGS_ONLY = "built-in, ratings only"
ORACLE = "oracle"
REFERENCE = "reference"
BASELINE = "baseline"
PREDICTORS = (BUILT_IN, RATINGS_ONLY, ORACLE, REFERENCE, BASELINE)
REFIT_DAYS = 7


@dataclass(frozen=True)
class LeagueRun:
    league: League
    rows: dict[str, list[Row]]  # per predictor
    history_games: int
    evaluation_games: int
    pushes: int  # markets not scored because they pushed
    refits: int


def _fair(probabilities: dict[Side, float] | None) -> dict[Side, float]:
    if probabilities is None:
        return {}
    return {side: fair_odds(p) for side, p in probabilities.items()}


def _event_lines(markets: Sequence[Market]) -> tuple[float | None, float | None]:
    """(expected margin, expected total) as the event's spread and total lines say."""
    margin = next(
        (-m.line for m in markets if m.kind is MarketKind.SPREAD and m.line is not None), None
    )
    total = next(
        (m.line for m in markets if m.kind is MarketKind.TOTAL and m.line is not None), None
    )
    return margin, total


def _midnight(when: dt.datetime) -> dt.datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


class _Engine:
    """The built-in engine, refitted on a fixed weekly grid from the first evaluation day."""

    def __init__(self, league: League, games: Sequence[Game], first_day: dt.datetime) -> None:
        self._league = league
        self._games = sorted(games, key=lambda g: g.start)
        self._starts = [g.start for g in self._games]
        self._first_day = first_day
        self._fit_time: dt.datetime | None = None
        self._fitted: FittedLeague | None = None
        self.refits = 0

    def at(self, day: dt.datetime, refit_days: int) -> FittedLeague:
        weeks = (day - self._first_day).days // refit_days
        fit_time = self._first_day + dt.timedelta(days=weeks * refit_days)
        if self._fitted is None or fit_time != self._fit_time:
            before = bisect.bisect_left(self._starts, fit_time)  # start < fit_time only
            self._fitted = fit_league(self._league, self._games[:before])
            self._fit_time = fit_time
            self.refits += 1
        return self._fitted


def evaluate_league(
    league: League, games: Sequence[SimGame], *, refit_days: int = REFIT_DAYS
) -> LeagueRun:
    last = max(g.season for g in games)
    history = [g.game for g in games if g.season < last]
    evaluation = sorted((g for g in games if g.season == last), key=lambda g: g.game.start)
    if not history or not evaluation:
        raise ValueError("need at least one history season and one evaluation season")
    baseline = HomeAdvantageBaseline.fit(history, three_way=PROFILES[league].three_way)
    reference = ReferenceMiner()
    engine = _Engine(league, [g.game for g in games], _midnight(evaluation[0].game.start))
    rows: dict[str, list[Row]] = {name: [] for name in PREDICTORS}
    pushes = 0
    for day, day_games in itertools.groupby(evaluation, key=lambda g: _midnight(g.game.start)):
        todays = list(day_games)
        fitted = engine.at(day, refit_days)
        for sim in todays:
            # What the engine sees of the event in game data: its spread and total lines.
            margin, total = _event_lines(sim.markets)
            for market in sim.markets:
                winner = settle(market, sim.game.score_home, sim.game.score_away)
                if winner is None:
                    pushes += 1
                    continue
                with_lines = replace(market, event_margin=margin, event_total=total)
                submissions = {
                    BUILT_IN: _fair(fitted.probabilities(with_lines)),
                    RATINGS_ONLY: _fair(fitted.probabilities(market)),
                    ORACLE: _fair(oracle.probabilities(sim.truth, market)),
                    REFERENCE: reference.odds(market),
                    BASELINE: _fair(baseline.probabilities(market)),
                }
                for name, odds in submissions.items():
                    rows[name].extend(rows_for(market.kind, odds, winner))
        for sim in todays:
            reference.record(sim.game)
    return LeagueRun(
        league=league,
        rows=rows,
        history_games=len(history),
        evaluation_games=len(evaluation),
        pushes=pushes,
        refits=engine.refits,
    )
