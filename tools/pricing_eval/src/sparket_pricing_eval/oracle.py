"""The oracle: the exact outcome probabilities of a simulated game under its generating process.

It is the yardstick, so it must be exact rather than another model. Soccer sums the product
of two Poisson distributions. Basketball integrates the correlated Normal pair: given the
shared pace the two scores are independent, so the probability of every rounded score pair
is a Gauss-Hermite sum over the pace of products of Normal bin masses; ties then go through
the overtime rule (winner by the weighted coin, margin 1..6, both teams 5..12 points more).
Whole-number lines can push; a push is not scored, so cover probabilities are conditioned
on "no push", as validators and the engine do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from miner_runtime.pricing.models.fit import Market
from miner_runtime.protocol.messages import MarketKind, Side
from sparket_pricing_eval.simulate import (
    NOISE_SD,
    OVERTIME_EDGE,
    OVERTIME_POINTS,
    PACE_SD,
    SOCCER,
    Truth,
)

Array = npt.NDArray[np.float64]

# Gauss-Hermite nodes and weights for E[f(pace)], pace ~ Normal(0, PACE_SD); 48 nodes
# integrate the smooth bin masses to ~1e-12.
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(48)
_PACES = math.sqrt(2.0) * PACE_SD * _NODES
_PACE_WEIGHTS = _WEIGHTS / math.sqrt(math.pi)
# Score grids reach this many standard deviations either side of the mean (tails < 1e-11).
_GRID_SDS = 7.0
# The standard Normal CDF, tabulated once (numpy has no erf): linear interpolation on a
# 0.001 grid is within 3e-8 of the exact value, far below anything the metrics resolve.
_Z = np.linspace(-10.0, 10.0, 20001)
_CDF = np.array([0.5 * (1.0 + math.erf(z / math.sqrt(2.0))) for z in _Z])


def _normal_cdf(z: Array) -> Array:
    return np.asarray(np.interp(z, _Z, _CDF), dtype=np.float64)


@dataclass(frozen=True)
class Pmf:
    """A distribution over consecutive integers: P(value = offset + i) = probs[i]."""

    probs: Array
    offset: int

    def above(self, threshold: float) -> float:
        """P(value > threshold | value != threshold)."""
        values = np.arange(len(self.probs)) + self.offset
        over = float(self.probs[values > threshold + 1e-9].sum())
        push = float(self.probs[np.abs(values - threshold) < 1e-9].sum())
        return over / (1.0 - push) if push < 1.0 else 0.5


@dataclass(frozen=True)
class Outcomes:
    """A game's final-score distribution, as the markets read it."""

    home: float
    draw: float
    away: float
    margin: Pmf  # home minus away
    total: Pmf


def _score_bins(mean: float, paces: Array) -> tuple[Array, int]:
    """P(round(mean + pace + noise) = lo + i) for each pace node (rows) and score (columns)."""
    spread = math.hypot(PACE_SD, NOISE_SD)
    lo = math.floor(mean - _GRID_SDS * spread)
    hi = math.ceil(mean + _GRID_SDS * spread)
    edges = np.arange(lo, hi + 2, dtype=np.float64) - 0.5
    cdf = _normal_cdf((edges[None, :] - mean - paces[:, None]) / NOISE_SD)
    return np.diff(cdf, axis=1), lo


def _from_joint(joint: Array, home_lo: int, away_lo: int) -> tuple[Pmf, Pmf]:
    """Margin and total distributions of a joint score table (rows home, columns away)."""
    rows, cols = joint.shape
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    size = rows + cols - 1
    weights = joint.ravel()
    margin = np.bincount((i - j + cols - 1).ravel(), weights, size).astype(np.float64)
    total = np.bincount((i + j).ravel(), weights, size).astype(np.float64)
    return Pmf(margin, home_lo - away_lo - (cols - 1)), Pmf(total, home_lo + away_lo)


def _basketball(truth: Truth) -> Outcomes:
    home_bins, home_lo = _score_bins(truth.home_mean, _PACES)
    away_bins, away_lo = _score_bins(truth.away_mean, _PACES)
    # Sum over pace nodes of outer products; einsum, not BLAS: a threaded BLAS spends more
    # on waking its threads than on a 48 x 160 x 160 product.
    joint = np.einsum("ki,kj->ij", home_bins * _PACE_WEIGHTS[:, None], away_bins)
    joint /= joint.sum()
    rows, cols = joint.shape
    tie = (np.arange(rows)[:, None] + home_lo) == (np.arange(cols)[None, :] + away_lo)
    decided = np.where(tie, 0.0, joint)
    margin, total = _from_joint(decided, home_lo, away_lo)
    _, tie_total = _from_joint(np.where(tie, joint, 0.0), home_lo, away_lo)
    p_tie = float(joint[tie].sum())
    # Overtime adds 2 * points + edge to the total and leaves a margin of +-edge.
    points = range(OVERTIME_POINTS[0], OVERTIME_POINTS[1] + 1)
    edges = range(OVERTIME_EDGE[0], OVERTIME_EDGE[1] + 1)
    share = 1.0 / (len(points) * len(edges))
    added = np.zeros(2 * OVERTIME_POINTS[1] + OVERTIME_EDGE[1] + 1)
    for p in points:
        for e in edges:
            added[2 * p + e] += share
    overtime_total = np.convolve(tie_total.probs, added)
    total_probs = np.zeros(len(overtime_total))
    total_probs[: len(total.probs)] += total.probs
    total_probs += overtime_total
    margin_probs = margin.probs.copy()
    p_home_ot = truth.overtime_home()
    for e in edges:
        margin_probs[e - margin.offset] += p_tie * p_home_ot / len(edges)
        margin_probs[-e - margin.offset] += p_tie * (1.0 - p_home_ot) / len(edges)
    final_margin = Pmf(margin_probs, margin.offset)
    home = float(margin_probs[1 - margin.offset :].sum())
    return Outcomes(
        home=home,
        draw=0.0,
        away=1.0 - home,
        margin=final_margin,
        total=Pmf(total_probs, total.offset),
    )


def _poisson_pmf(rate: float) -> Array:
    top = int(rate + 12.0 * math.sqrt(rate) + 12)
    logs = [-rate + k * math.log(rate) - math.lgamma(k + 1) for k in range(top + 1)]
    pmf: Array = np.exp(np.array(logs, dtype=np.float64))
    normalised: Array = pmf / float(pmf.sum())
    return normalised


def _soccer(truth: Truth) -> Outcomes:
    joint = np.outer(_poisson_pmf(truth.home_mean), _poisson_pmf(truth.away_mean))
    margin, total = _from_joint(joint, 0, 0)
    zero = -margin.offset
    return Outcomes(
        home=float(margin.probs[zero + 1 :].sum()),
        draw=float(margin.probs[zero]),
        away=float(margin.probs[:zero].sum()),
        margin=margin,
        total=total,
    )


@lru_cache(maxsize=4096)
def outcomes(truth: Truth) -> Outcomes:
    return _soccer(truth) if truth.league is SOCCER else _basketball(truth)


def probabilities(truth: Truth, market: Market) -> dict[Side, float]:
    """The true probability of every side of `market` (summing to one)."""
    game = outcomes(truth)
    if market.kind is MarketKind.MONEYLINE:
        if truth.league is SOCCER:
            return {Side.HOME: game.home, Side.DRAW: game.draw, Side.AWAY: game.away}
        return {Side.HOME: game.home, Side.AWAY: game.away}
    line = market.line if market.line is not None else 0.0
    if market.kind is MarketKind.SPREAD:
        # The home line: home covers if margin + line > 0.
        p = game.margin.above(-line)
        return {Side.HOME: p, Side.AWAY: 1.0 - p}
    p = game.total.above(line)
    return {Side.OVER: p, Side.UNDER: 1.0 - p}
