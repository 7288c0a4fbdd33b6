"""A seeded simulated league whose true outcome probabilities are known exactly.

Why simulate: on real results nobody knows the true probabilities, so a model's Brier score
mixes its own error with the games' irreducible noise. Here the oracle (`oracle.py`) knows
the generating process, so "how far from perfect" becomes measurable.

The process is deliberately *not* the built-in model's own, so that the model gets no free
pass for assuming the right structure: strengths drift every game day (a Gaussian random
walk) and change over the off-season, every team has its own home advantage, basketball
teams lose points on the second night of a back-to-back, basketball scores share a pace
term (so the two scores are correlated) and a tie goes to an overtime decided by a coin
weighted by strength. Soccer goals are independent Poisson counts.

Markets are the three a validator offers for every game: the moneyline (three-way in
soccer), a spread with the home line and a total; the lines are set like a bookmaker's,
from the true expectations rounded to the nearest half plus a little noise, so some are
whole numbers and can push.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from miner_runtime.pricing.models.fit import Game, Market
from miner_runtime.protocol.messages import League, MarketKind, Side

# The engine's profiles: NBA is a Normal-family league, EPL a Poisson three-way one.
BASKETBALL = League.NBA
SOCCER = League.EPL

# Basketball: each team's regulation score is round(mean + pace + own noise); the shared
# pace makes the two scores correlated (corr = PACE^2 / (PACE^2 + NOISE^2) ~ 0.38).
PACE_SD = 7.0
NOISE_SD = 9.0
# Overtime: both teams add 5..12 points and the winner 1..6 more (uniform); the winner is a
# coin weighted by the expected regulation margin, Phi(margin / OVERTIME_SCALE).
OVERTIME_POINTS = (5, 12)
OVERTIME_EDGE = (1, 6)
OVERTIME_SCALE = 20.0

_BASKETBALL_START = dt.datetime(2021, 10, 19, 23, 30, tzinfo=dt.UTC)
_SOCCER_START = dt.datetime(2021, 8, 14, 14, 0, tzinfo=dt.UTC)  # a Saturday
_SOCCER_SUNDAY_SHARE = 0.3


@dataclass(frozen=True)
class Process:
    """One sport's generating process, in points (basketball) or log goal rates (soccer)."""

    mean: float  # per team per game
    home_edge: float  # league home advantage, home minus away
    team_home_sd: float  # spread of the team-specific home advantage around it
    strength_sd: float  # spread of attack and of defence
    drift_sd: float  # the random walk's step per game day
    off_season_keep: float  # share of a team's strength carried into the next season
    short_rest: float  # score penalty on the second night of a back-to-back
    spread_noise: float  # the bookmaker's noise on the margin before rounding the line
    total_noise: float  # the same for the total


PROCESSES: dict[League, Process] = {
    BASKETBALL: Process(113.0, 2.6, 1.0, 3.0, 0.12, 0.75, 2.0, 1.0, 1.5),
    SOCCER: Process(math.log(1.35), 0.27, 0.08, 0.22, 0.012, 0.75, 0.0, 0.2, 0.2),
}


@dataclass(frozen=True)
class SimConfig:
    seed: int = 0
    seasons: int = 4
    basketball_teams: int = 30
    basketball_games: int = 82  # per team per season
    basketball_days: int = 170  # the length of a basketball regular season
    soccer_teams: int = 20  # a double round robin: 2 * (teams - 1) games per team


@dataclass(frozen=True)
class Truth:
    """What the generating process expects of one game: enough for its exact distribution."""

    league: League
    home_mean: float  # expected regulation points (basketball) or goal rate (soccer)
    away_mean: float

    def overtime_home(self) -> float:
        """Basketball: the probability that the home team wins an overtime."""
        x = (self.home_mean - self.away_mean) / (OVERTIME_SCALE * math.sqrt(2.0))
        return 0.5 * (1.0 + math.erf(x))


@dataclass(frozen=True)
class SimGame:
    season: int
    game: Game  # the final score (after any overtime)
    truth: Truth
    markets: tuple[Market, ...]  # moneyline, spread, total
    short_rest: tuple[bool, bool]  # home, away on the second night of a back-to-back


@dataclass
class _Team:
    name: str
    attack: float
    defence: float
    home_edge: float
    last_played: dt.date | None = None


def poisson(rng: random.Random, rate: float) -> int:
    """A Poisson draw by inversion (rates here are a few goals: a handful of steps)."""
    u = rng.random()
    k, p = 0, math.exp(-rate)
    cumulative = p
    while u > cumulative and k < 1000:
        k += 1
        p *= rate / k
        cumulative += p
    return k


def draw_score(truth: Truth, rng: random.Random) -> tuple[int, int]:
    """One final score from the generating process (overtime included)."""
    if truth.league is SOCCER:
        return poisson(rng, truth.home_mean), poisson(rng, truth.away_mean)
    pace = rng.gauss(0.0, PACE_SD)
    home = math.floor(truth.home_mean + pace + rng.gauss(0.0, NOISE_SD) + 0.5)
    away = math.floor(truth.away_mean + pace + rng.gauss(0.0, NOISE_SD) + 0.5)
    if home != away:
        return home, away
    points = rng.randint(*OVERTIME_POINTS)
    edge = rng.randint(*OVERTIME_EDGE)
    if rng.random() < truth.overtime_home():
        return home + points + edge, away + points
    return home + points, away + points + edge


def settle(market: Market, score_home: int, score_away: int) -> Side | None:
    """The winning side, or None for a push (whole-number lines)."""
    if market.kind is MarketKind.MONEYLINE:
        if score_home == score_away:
            return Side.DRAW
        return Side.HOME if score_home > score_away else Side.AWAY
    line = market.line if market.line is not None else 0.0
    if market.kind is MarketKind.SPREAD:
        value = score_home - score_away + line
        first, second = Side.HOME, Side.AWAY
    else:
        value = score_home + score_away - line
        first, second = Side.OVER, Side.UNDER
    if abs(value) < 1e-9:
        return None
    return first if value > 0 else second


def _half(x: float) -> float:
    """The nearest multiple of 0.5."""
    return math.floor(2.0 * x + 0.5) / 2.0


def _markets(
    truth: Truth, home: str, away: str, start: dt.datetime, rng: random.Random
) -> tuple[Market, ...]:
    process = PROCESSES[truth.league]
    margin = truth.home_mean - truth.away_mean
    total = truth.home_mean + truth.away_mean
    spread = 0.0 - _half(margin + rng.gauss(0.0, process.spread_noise))  # never -0.0
    total_line = max(0.5, _half(total + rng.gauss(0.0, process.total_noise)))
    return (
        Market(MarketKind.MONEYLINE, home, away, start, None),
        Market(MarketKind.SPREAD, home, away, start, spread),
        Market(MarketKind.TOTAL, home, away, start, total_line),
    )


def _basketball_days(
    teams: int, games: int, days: int, rng: random.Random
) -> list[list[tuple[int, int]]]:
    """Day-by-day pairings: rested teams and teams behind play first, so back-to-backs
    happen on busy days; home games are balanced per team."""
    played = [0] * teams
    homes = [0] * teams
    yesterday: set[int] = set()
    schedule: list[list[tuple[int, int]]] = []
    while True:
        eligible = [t for t in range(teams) if played[t] < games]
        if len(eligible) < 2:
            return schedule
        remaining = sum(games - played[t] for t in eligible) / 2.0
        rate = remaining / max(1, days - len(schedule))
        count = min(len(eligible) // 2, max(1, round(rate + rng.uniform(-3.0, 3.0))))
        rng.shuffle(eligible)
        eligible.sort(key=lambda t: (t in yesterday, played[t]))
        chosen = eligible[: 2 * count]
        rng.shuffle(chosen)
        day: list[tuple[int, int]] = []
        for first, second in zip(chosen[::2], chosen[1::2], strict=True):
            home, away = first, second
            if homes[home] > homes[away] or (homes[home] == homes[away] and rng.random() < 0.5):
                home, away = away, home
            homes[home] += 1
            played[home] += 1
            played[away] += 1
            day.append((home, away))
        schedule.append(day)
        yesterday = set(chosen)


def _round_robin(teams: int, rng: random.Random) -> list[list[tuple[int, int]]]:
    """A double round robin by the circle method; the second half mirrors the first."""
    order = list(range(teams))
    rng.shuffle(order)
    fixed, rotating = order[0], order[1:]
    first_half: list[list[tuple[int, int]]] = []
    for number in range(teams - 1):
        line = [fixed, *rotating]
        pairs = [(line[i], line[teams - 1 - i]) for i in range(teams // 2)]
        if number % 2:
            pairs = [(away, home) for home, away in pairs]
        first_half.append(pairs)
        rotating = rotating[-1:] + rotating[:-1]
    second_half = [[(away, home) for home, away in pairs] for pairs in first_half]
    return first_half + second_half


def _season_days(
    league: League, config: SimConfig, season: int, teams: int, rng: random.Random
) -> list[tuple[dt.datetime, list[tuple[int, int]]]]:
    if league is BASKETBALL:
        start = _BASKETBALL_START + dt.timedelta(days=365 * season)
        days = _basketball_days(teams, config.basketball_games, config.basketball_days, rng)
        return [(start + dt.timedelta(days=i), day) for i, day in enumerate(days)]
    start = _SOCCER_START + dt.timedelta(days=364 * season)
    out: list[tuple[dt.datetime, list[tuple[int, int]]]] = []
    for week, pairs in enumerate(_round_robin(teams, rng)):
        saturday = start + dt.timedelta(days=7 * week)
        sunday = [pair for pair in pairs if rng.random() < _SOCCER_SUNDAY_SHARE]
        out.append((saturday, [pair for pair in pairs if pair not in sunday]))
        if sunday:
            out.append((saturday + dt.timedelta(days=1, hours=1, minutes=30), sunday))
    return out


def _expected(
    league: League, home: _Team, away: _Team, rest_home: bool, rest_away: bool
) -> tuple[float, float]:
    process = PROCESSES[league]
    home_x = (
        process.mean
        + home.home_edge / 2.0
        + home.attack
        - away.defence
        - (process.short_rest if rest_home else 0.0)
    )
    away_x = (
        process.mean
        - home.home_edge / 2.0
        + away.attack
        - home.defence
        - (process.short_rest if rest_away else 0.0)
    )
    if league is SOCCER:
        return math.exp(home_x), math.exp(away_x)
    return home_x, away_x


def _new_teams(league: League, count: int, rng: random.Random) -> list[_Team]:
    process = PROCESSES[league]
    prefix = "Hoops" if league is BASKETBALL else "FC"
    return [
        _Team(
            name=f"{prefix} {i + 1:02d}",
            attack=rng.gauss(0.0, process.strength_sd),
            defence=rng.gauss(0.0, process.strength_sd),
            home_edge=process.home_edge + rng.gauss(0.0, process.team_home_sd),
        )
        for i in range(count)
    ]


def _drift(league: League, teams: Sequence[_Team], rng: random.Random) -> None:
    step = PROCESSES[league].drift_sd
    for team in teams:
        team.attack += rng.gauss(0.0, step)
        team.defence += rng.gauss(0.0, step)


def _off_season(league: League, teams: Sequence[_Team], rng: random.Random) -> None:
    """Regress towards average and redraw the rest, keeping the spread of strengths."""
    process = PROCESSES[league]
    keep = process.off_season_keep
    fresh = process.strength_sd * math.sqrt(1.0 - keep * keep)
    for team in teams:
        team.attack = keep * team.attack + rng.gauss(0.0, fresh)
        team.defence = keep * team.defence + rng.gauss(0.0, fresh)


def simulate_league(league: League, config: SimConfig) -> list[SimGame]:
    """Every game of `config.seasons` seasons in time order; deterministic per seed."""
    rng = random.Random(f"{config.seed}/{league.value}")
    count = config.basketball_teams if league is BASKETBALL else config.soccer_teams
    teams = _new_teams(league, count, rng)
    games: list[SimGame] = []
    for season in range(config.seasons):
        if season:
            _off_season(league, teams, rng)
        for start, pairs in _season_days(league, config, season, count, rng):
            yesterday = start.date() - dt.timedelta(days=1)
            for home_i, away_i in pairs:
                home, away = teams[home_i], teams[away_i]
                rest = (home.last_played == yesterday, away.last_played == yesterday)
                home_mean, away_mean = _expected(league, home, away, *rest)
                truth = Truth(league, home_mean, away_mean)
                markets = _markets(truth, home.name, away.name, start, rng)
                score_home, score_away = draw_score(truth, rng)
                game = Game(home.name, away.name, start, score_home, score_away)
                games.append(SimGame(season, game, truth, markets, rest))
            for home_i, away_i in pairs:
                teams[home_i].last_played = teams[away_i].last_played = start.date()
            _drift(league, teams, rng)
    return games


def simulate(config: SimConfig) -> dict[League, list[SimGame]]:
    return {league: simulate_league(league, config) for league in (BASKETBALL, SOCCER)}
