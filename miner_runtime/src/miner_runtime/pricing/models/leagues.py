"""What the model assumes about each league before it has seen a game (its priors).

Two score families: American football and basketball scores are near-Normal (many small
scoring events, some of them worth several points); soccer, hockey and baseball scores are
counts of rare events, so Poisson. The numbers are long-run league averages and only
starting points: the ratings, the league mean, the home edge, the short-rest penalty and
the spreads are all re-learnt from the results history.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from miner_runtime.protocol.messages import League


class Family(StrEnum):
    NORMAL = "normal"
    POISSON = "poisson"


@dataclass(frozen=True)
class LeagueProfile:
    family: Family
    three_way: bool  # the moneyline settles in regulation with a draw (soccer)
    mean_score: float  # per team per game
    home_edge: float  # points (Normal) or log-rate (Poisson), home minus away
    margin_sd: float  # Normal only: spread of the margin around its mean
    total_sd: float  # Normal only: spread of the total around its mean
    rating_step: float  # how far one game moves a team's ratings (Elo's K)
    short_rest_days: float = 1.5  # a team that played this recently is "on short rest"
    short_rest_effect: float = 0.0  # prior penalty on its own score (points or log-rate)
    # How far the expectation moves from the ratings' toward the event's spread and total
    # lines (the bookmakers' view, sharper than any ratings; chosen on simulated seeds 0-1,
    # docs/pricing.md). Hockey and baseball, not simulated, get a more cautious weight.
    line_weight: float = 0.8


_SOCCER = LeagueProfile(
    family=Family.POISSON,
    three_way=True,
    mean_score=1.35,
    home_edge=0.25,
    margin_sd=0.0,
    total_sd=0.0,
    rating_step=0.04,
    short_rest_days=2.5,
)

PROFILES: dict[League, LeagueProfile] = {
    League.NFL: LeagueProfile(Family.NORMAL, False, 22.5, 1.8, 13.5, 13.5, 0.10, 5.0),
    League.NBA: LeagueProfile(Family.NORMAL, False, 113.0, 2.5, 12.5, 18.0, 0.04, 1.5, 1.5),
    League.MLB: LeagueProfile(Family.POISSON, False, 4.4, 0.04, 0.0, 0.0, 0.02, line_weight=0.65),
    League.NHL: LeagueProfile(
        Family.POISSON, False, 3.05, 0.06, 0.0, 0.0, 0.03, 1.5, 0.04, line_weight=0.5
    ),
} | {
    league: _SOCCER
    for league in (
        League.EPL,
        League.UCL,
        League.UEL,
        League.ESP,
        League.DEB,
        League.ITSA,
        League.FRL1,
        League.MLS,
        League.NLE,
    )
}
