"""The pure statistical pieces: distributions, ratings, calibration, market blending."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from miner_runtime.pricing.models.calibration import MIN_SAMPLES, fit_platt
from miner_runtime.pricing.models.distributions import (
    NormalGame,
    PoissonGame,
    logistic,
    logit,
    normal_cdf,
)
from miner_runtime.pricing.models.fit import Game, Market, fit_league
from miner_runtime.pricing.models.leagues import PROFILES
from miner_runtime.pricing.models.market import blend, consensus, devig
from miner_runtime.pricing.models.ratings import Ratings
from miner_runtime.protocol.messages import League, MarketKind, Side

T0 = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)


# ---- distributions --------------------------------------------------------------------


def test_poisson_draw_probability_matches_the_closed_form() -> None:
    # Two Poisson(1) teams: P(draw) = e^-2 * I0(2) = 0.30850832...
    home, draw, away = PoissonGame.of(1.0, 1.0).three_way()
    assert draw == pytest.approx(0.3085083, abs=1e-6)
    assert home == pytest.approx(away) and home + draw + away == pytest.approx(1.0)


def test_poisson_total_over_a_half_line_is_the_poisson_tail() -> None:
    game = PoissonGame.of(1.5, 1.2)  # the total is Poisson(2.7)
    expected = 1 - math.exp(-2.7) * (1 + 2.7 + 2.7**2 / 2)
    assert game.above(2.5, margin=False) == pytest.approx(expected, abs=1e-9)


def test_a_whole_line_is_conditioned_on_no_push() -> None:
    game = PoissonGame.of(1.5, 1.2)
    total = [math.exp(-2.7) * 2.7**k / math.factorial(k) for k in range(4)]
    over_3 = 1 - sum(total)
    assert game.above(3.0, margin=False) == pytest.approx(over_3 / (1 - total[3]), abs=1e-9)


def test_two_way_poisson_shares_ties_in_the_ratio_of_wins() -> None:
    game = PoissonGame.of(3.2, 2.8)
    home, draw, away = game.three_way()
    assert game.home_win() == pytest.approx(home + draw * home / (home + away))


def test_quarter_lines_average_their_half_lines() -> None:
    game = PoissonGame.of(1.6, 1.1)
    quarter = game.above(0.25, margin=True)
    assert quarter == pytest.approx(
        0.5 * (game.above(0.0, margin=True) + game.above(0.5, margin=True))
    )


def test_normal_game_reads_lines_with_a_continuity_correction() -> None:
    game = NormalGame(margin_mean=3.0, margin_sd=12.0, total_mean=220.0, total_sd=18.0)
    assert game.above(219.5, margin=False) == pytest.approx(1 - normal_cdf(219.5, 220.0, 18.0))
    over = 1 - normal_cdf(220.5, 220.0, 18.0)
    push = normal_cdf(220.5, 220.0, 18.0) - normal_cdf(219.5, 220.0, 18.0)
    assert game.above(220.0, margin=False) == pytest.approx(over / (1 - push))
    # Elo's logistic curve with the Normal's spread: close to the Normal CDF.
    assert game.home_win() == pytest.approx(1 - normal_cdf(0, 3.0, 12.0), abs=0.02)
    assert NormalGame(0.0, 12.0, 200.0, 18.0).home_win() == 0.5


def test_logit_inverts_logistic() -> None:
    for p in (0.01, 0.3, 0.5, 0.77, 0.99):
        assert logistic(logit(p)) == pytest.approx(p)
    assert logistic(-800.0) == 0.0 and logistic(800.0) == 1.0


# ---- ratings and fits -----------------------------------------------------------------


def _season(
    winner_margin: int, games: int, *, home_bonus: int = 0, days_apart: float = 2.0
) -> list[Game]:
    """'Strong' beats 'Weak' by `winner_margin`, alternating venues."""
    played = []
    for i in range(games):
        start = T0 + dt.timedelta(days=i * days_apart)
        strong_home = i % 2 == 0
        base = 100
        strong, weak = base + winner_margin, base
        if strong_home:
            played.append(Game("strong", "weak", start, strong + home_bonus, weak))
        else:
            played.append(Game("weak", "strong", start, weak + home_bonus, strong))
    return played


def test_ratings_learn_who_is_stronger() -> None:
    fitted = fit_league(League.NBA, _season(12, 60))
    later = T0 + dt.timedelta(days=200)
    p = fitted.probabilities(Market(MarketKind.MONEYLINE, "strong", "weak", later, None))
    assert p is not None and p[Side.HOME] > 0.8
    q = fitted.probabilities(Market(MarketKind.MONEYLINE, "weak", "strong", later, None))
    assert q is not None and q[Side.HOME] < 0.3


def test_the_league_home_edge_is_learnt_from_results() -> None:
    ratings = Ratings(PROFILES[League.NBA])
    start_edge = ratings.home_edge
    for game in _season(0, 300, home_bonus=8, days_apart=1.0):
        ratings.update(game.home, game.away, game.start, game.score_home, game.score_away)
    assert ratings.home_edge > start_edge + 1.0


def test_short_rest_costs_points_once_learnt() -> None:
    ratings = Ratings(PROFILES[League.NBA])
    before = ratings.rest_effect
    for i in range(400):
        start = T0 + dt.timedelta(days=i)
        # "tired" played yesterday every time and scores 10 under expectation.
        ratings.update("tired", f"fresh{i}", start, 100, 110)
    assert ratings.rest_effect > before
    rested_game = ratings.expected_scores("tired", "other", T0 + dt.timedelta(days=500))
    tired_game = ratings.expected_scores("tired", "other", T0 + dt.timedelta(days=399, hours=20))
    assert tired_game[0] < rested_game[0]


def test_spreads_and_totals_are_priced_from_the_markets_own_line() -> None:
    fitted = fit_league(League.NFL, ())
    when = T0 + dt.timedelta(days=3)

    def price(kind: MarketKind, line: float) -> dict[Side, float]:
        found = fitted.probabilities(Market(kind, "a", "b", when, line))
        assert found is not None
        return found

    # Home giving more points covers less often; a higher total is "over" less often.
    covers = [price(MarketKind.SPREAD, line)[Side.HOME] for line in (3.5, -0.5, -3.5, -7.5)]
    assert covers == sorted(covers, reverse=True)
    overs = [price(MarketKind.TOTAL, line)[Side.OVER] for line in (38.5, 44.5, 50.5)]
    assert overs == sorted(overs, reverse=True)
    assert fitted.probabilities(Market(MarketKind.TOTAL, "a", "b", when, None)) is None


def test_soccer_moneylines_are_three_way_and_sum_to_one() -> None:
    fitted = fit_league(League.EPL, ())
    p = fitted.probabilities(Market(MarketKind.MONEYLINE, "a", "b", T0, None))
    assert p is not None and set(p) == {Side.HOME, Side.DRAW, Side.AWAY}
    assert sum(p.values()) == pytest.approx(1.0)
    assert p[Side.HOME] > p[Side.AWAY]  # the prior home edge
    assert 0.2 < p[Side.DRAW] < 0.33


# ---- calibration ----------------------------------------------------------------------


def _overconfident(n: int, seed: int) -> list[tuple[float, int]]:
    rng = random.Random(seed)
    samples = []
    for _ in range(n):
        truth = rng.uniform(0.2, 0.8)
        forecast = logistic(1.6 * logit(truth))  # too sure of itself
        samples.append((forecast, 1 if rng.random() < truth else 0))
    return samples


def test_platt_scaling_undoes_overconfidence() -> None:
    platt = fit_platt(_overconfident(6000, seed=1))
    assert platt.slope == pytest.approx(1 / 1.6, abs=0.08)
    assert abs(platt.intercept) < 0.08
    holdout = _overconfident(4000, seed=2)

    def log_loss(f: object) -> float:
        assert callable(f)
        return -sum(math.log(f(p) if y else 1 - f(p)) for p, y in holdout) / len(holdout)

    assert log_loss(platt) < log_loss(lambda p: p)


def test_too_few_forecasts_leave_them_as_they_are() -> None:
    platt = fit_platt(_overconfident(MIN_SAMPLES - 1, seed=3))
    assert platt.identity and platt(0.73) == 0.73


# ---- market odds ----------------------------------------------------------------------


def test_devig_removes_the_margin_proportionally() -> None:
    fair = devig({Side.HOME: 1.80, Side.AWAY: 2.10})
    assert sum(fair.values()) == pytest.approx(1.0)
    assert fair[Side.HOME] == pytest.approx((1 / 1.8) / (1 / 1.8 + 1 / 2.1))


def test_consensus_is_the_median_book_and_blend_weighs_it() -> None:
    books = [
        {Side.HOME: 1.80, Side.AWAY: 2.10},
        {Side.HOME: 1.90, Side.AWAY: 2.00},
        {Side.HOME: 1.50, Side.AWAY: 2.70},
        {Side.HOME: 1.70},  # incomplete: ignored
    ]
    market = consensus(books)
    assert market[Side.HOME] == pytest.approx(devig(books[0])[Side.HOME], abs=1e-9)
    model = {Side.HOME: 0.40, Side.AWAY: 0.60}
    mixed = blend(model, market, 0.6)
    assert mixed[Side.HOME] == pytest.approx(0.6 * market[Side.HOME] + 0.4 * 0.40)
    assert blend(model, {}, 0.6) == model
