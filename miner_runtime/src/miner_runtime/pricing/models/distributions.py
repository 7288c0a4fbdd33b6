"""Outcome probabilities from a rated game: a Normal margin/total (high-scoring sports) or
independent Poisson goals (soccer, hockey, baseball).

Scores are whole numbers, so lines are read the way books settle them: a whole-number line
can push (the stake comes back), and a push is not an outcome the validator scores, so
cover probabilities are conditioned on "no push". Quarter lines (Asian handicaps) are the
average of their two half lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_SQRT2 = math.sqrt(2.0)
# Poisson tails beyond this many standard deviations (+6) carry < 1e-7 of the mass.
_TAIL_SDS = 7.0


def normal_cdf(x: float, mean: float, sd: float) -> float:
    return 0.5 * (1.0 + math.erf((x - mean) / (sd * _SQRT2)))


def logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9


def _is_quarter(x: float) -> bool:
    return _is_whole(x * 4) and not _is_whole(x * 2)


@dataclass(frozen=True)
class NormalGame:
    """Margin (home minus away) and total, each Normal; `margin_scale` is the logistic scale
    the moneyline uses (Elo's curve)."""

    margin_mean: float
    margin_sd: float
    total_mean: float
    total_sd: float

    def home_win(self) -> float:
        # A logistic with the Normal's spread (scale = sd * sqrt(3) / pi): Elo's win curve.
        return logistic(self.margin_mean * math.pi / (self.margin_sd * math.sqrt(3.0)))

    def above(self, threshold: float, *, margin: bool) -> float:
        """P(value > threshold | no push) for a whole-number score statistic."""
        mean, sd = (
            (self.margin_mean, self.margin_sd) if margin else (self.total_mean, self.total_sd)
        )
        if _is_quarter(threshold):
            return 0.5 * (
                self.above(threshold - 0.25, margin=margin)
                + self.above(threshold + 0.25, margin=margin)
            )
        if _is_whole(threshold):
            over = 1.0 - normal_cdf(threshold + 0.5, mean, sd)
            push = normal_cdf(threshold + 0.5, mean, sd) - normal_cdf(threshold - 0.5, mean, sd)
            return over / (1.0 - push) if push < 1.0 else 0.5
        return 1.0 - normal_cdf(threshold, mean, sd)


def poisson_pmf(rate: float) -> list[float]:
    """P(k) for k = 0..n, n far enough into the tail; the tail mass is folded into the last."""
    limit = int(rate + _TAIL_SDS * math.sqrt(rate) + 6)
    pmf = [math.exp(-rate)]
    for k in range(1, limit + 1):
        pmf.append(pmf[-1] * rate / k)
    pmf[-1] += max(0.0, 1.0 - sum(pmf))
    return pmf


@dataclass(frozen=True)
class PoissonGame:
    """Independent Poisson scores; margin and total distributions as offset lists."""

    margin: Sequence[float]  # margin[i] = P(home - away = i - offset)
    offset: int
    total: Sequence[float]  # total[t] = P(home + away = t)

    @classmethod
    def of(cls, home_rate: float, away_rate: float) -> PoissonGame:
        home, away = poisson_pmf(home_rate), poisson_pmf(away_rate)
        offset = len(away) - 1
        margin = [0.0] * (len(home) + len(away) - 1)
        total = [0.0] * (len(home) + len(away) - 1)
        for h, ph in enumerate(home):
            for a, pa in enumerate(away):
                joint = ph * pa
                margin[h - a + offset] += joint
                total[h + a] += joint
        return cls(margin=margin, offset=offset, total=total)

    def three_way(self) -> tuple[float, float, float]:
        """P(home wins), P(draw), P(away wins) in regulation."""
        o = self.offset
        return sum(self.margin[o + 1 :]), self.margin[o], sum(self.margin[:o])

    def home_win(self) -> float:
        """Two-way: a tie goes to extra time/innings, shared in the ratio of the other results."""
        home, draw, away = self.three_way()
        return home + draw * home / (home + away) if home + away > 0 else 0.5

    def above(self, threshold: float, *, margin: bool) -> float:
        """P(value > threshold | no push)."""
        if _is_quarter(threshold):
            return 0.5 * (
                self.above(threshold - 0.25, margin=margin)
                + self.above(threshold + 0.25, margin=margin)
            )
        values, shift = (self.margin, self.offset) if margin else (self.total, 0)
        over = push = 0.0
        for i, p in enumerate(values):
            value = i - shift
            if value > threshold + 1e-9:
                over += p
            elif abs(value - threshold) < 1e-9:
                push += p
        return over / (1.0 - push) if push < 1.0 else 0.5
