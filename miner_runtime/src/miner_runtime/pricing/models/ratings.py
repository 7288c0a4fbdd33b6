"""Team ratings learnt one game at a time (Elo-style), in a league's score units.

Every team has an attack and a defence rating. A game's expected scores are the league
mean, plus half the home edge for the home side, plus attack minus the opponent's defence,
minus a penalty for a team on short rest. After the game both teams move by the surprise
times the step (Elo's K); the league mean, home edge, rest penalty and the spreads of the
margin and the total are learnt the same way, more slowly. Normal leagues work in points,
Poisson leagues in log-rates.

Why online rather than a batch fit: it tracks form as it changes, it is O(games), and a
refit from the whole history costs milliseconds, so the runtime simply replays history.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from miner_runtime.pricing.models.distributions import NormalGame, PoissonGame
from miner_runtime.pricing.models.leagues import Family, LeagueProfile

# League-wide parameters move this fraction of a team step.
_GLOBAL_SHARE = 0.05
# Exponential weight of one game in the running margin/total variances.
_VARIANCE_WEIGHT = 0.01
# Between seasons (a long break) ratings fall back a third of the way to average.
_OFF_SEASON = dt.timedelta(days=60)
_OFF_SEASON_REGRESSION = 1.0 / 3.0
# Poisson rates never go below this (lines can imply a non-positive rate).
_MIN_RATE = 0.05
# A new team's first games move it more (a running mean), down to the profile's step.
_NEW_TEAM_GAMES = 2.0


@dataclass
class TeamRating:
    attack: float = 0.0
    defence: float = 0.0
    games: int = 0
    last_played: dt.datetime | None = None


class Ratings:
    """One league's ratings; `update` with each final score in time order."""

    def __init__(self, profile: LeagueProfile) -> None:
        self.profile = profile
        self.teams: dict[str, TeamRating] = {}
        poisson = profile.family is Family.POISSON
        self.mean = math.log(profile.mean_score) if poisson else profile.mean_score
        self.home_edge = profile.home_edge
        self.rest_effect = profile.short_rest_effect
        self.margin_var = profile.margin_sd**2
        self.total_var = profile.total_sd**2
        self.games = 0

    def _short_rest(self, team: TeamRating, start: dt.datetime) -> float:
        if team.last_played is None:
            return 0.0
        rested = (start - team.last_played).total_seconds() / 86400.0
        return 1.0 if 0 <= rested < self.profile.short_rest_days else 0.0

    def _linear(
        self, home: str, away: str, start: dt.datetime
    ) -> tuple[float, float, float, float]:
        """Expected home and away scores on the model's scale, and the two rest flags."""
        h = self.teams.get(home) or TeamRating()
        a = self.teams.get(away) or TeamRating()
        short_h, short_a = self._short_rest(h, start), self._short_rest(a, start)
        home_x = self.mean + self.home_edge / 2 + h.attack - a.defence - self.rest_effect * short_h
        away_x = self.mean - self.home_edge / 2 + a.attack - h.defence - self.rest_effect * short_a
        return home_x, away_x, short_h, short_a

    def expected_scores(self, home: str, away: str, start: dt.datetime) -> tuple[float, float]:
        home_x, away_x, _, _ = self._linear(home, away, start)
        if self.profile.family is Family.POISSON:
            return math.exp(home_x), math.exp(away_x)
        return home_x, away_x

    def game(self, home: str, away: str, start: dt.datetime) -> NormalGame | PoissonGame:
        return self.game_of(*self.expected_scores(home, away, start))

    def game_of(self, home_score: float, away_score: float) -> NormalGame | PoissonGame:
        """The score distribution with these expected scores and the league's spreads."""
        if self.profile.family is Family.POISSON:
            return PoissonGame.of(max(home_score, _MIN_RATE), max(away_score, _MIN_RATE))
        return NormalGame(
            margin_mean=home_score - away_score,
            margin_sd=math.sqrt(self.margin_var),
            total_mean=home_score + away_score,
            total_sd=math.sqrt(self.total_var),
        )

    def _team(self, name: str, start: dt.datetime) -> TeamRating:
        team = self.teams.setdefault(name, TeamRating())
        if team.last_played is not None and start - team.last_played > _OFF_SEASON:
            team.attack *= 1.0 - _OFF_SEASON_REGRESSION
            team.defence *= 1.0 - _OFF_SEASON_REGRESSION
        return team

    def _step(self, team: TeamRating) -> float:
        return max(self.profile.rating_step, 1.0 / (2.0 * (team.games + _NEW_TEAM_GAMES)))

    def update(
        self, home: str, away: str, start: dt.datetime, score_home: int, score_away: int
    ) -> None:
        h, a = self._team(home, start), self._team(away, start)
        home_x, away_x, short_h, short_a = self._linear(home, away, start)
        if self.profile.family is Family.POISSON:
            # The log-likelihood's gradient in log-rate is (score - rate); scaled by the
            # league mean so one step means the same in soccer as in baseball.
            scale = math.exp(self.mean)
            err_h = (score_home - math.exp(home_x)) / scale
            err_a = (score_away - math.exp(away_x)) / scale
        else:
            err_h, err_a = score_home - home_x, score_away - away_x
            self.margin_var += _VARIANCE_WEIGHT * ((err_h - err_a) ** 2 - self.margin_var)
            self.total_var += _VARIANCE_WEIGHT * ((err_h + err_a) ** 2 - self.total_var)
        step_h, step_a = self._step(h), self._step(a)
        h.attack += step_h * err_h
        a.defence -= step_a * err_h
        a.attack += step_a * err_a
        h.defence -= step_h * err_a
        share = self.profile.rating_step * _GLOBAL_SHARE
        self.mean += share * (err_h + err_a) / 2
        self.home_edge += share * (err_h - err_a)
        self.rest_effect -= share * (err_h * short_h + err_a * short_a)
        for team in (h, a):
            team.games += 1
            team.last_played = start
        self.games += 1
