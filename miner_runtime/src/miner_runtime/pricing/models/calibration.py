"""Platt scaling: p' = logistic(a * logit(p) + b), fitted on the model's own past forecasts.

Validators score probabilities, so a model that is right on average but too sure (or too
timid) loses points. Platt's two parameters fix exactly that, and unlike isotonic
regression they cannot overfit a few hundred games into a staircase. Too few forecasts, or
a fit that lands outside sane bounds, leaves the forecasts as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from miner_runtime.pricing.models.distributions import logistic, logit

MIN_SAMPLES = 300
_SLOPE_BOUNDS = (0.5, 1.6)
_INTERCEPT_BOUND = 0.5
_EPS = 1e-6
_NEWTON_STEPS = 25
# A weak Gaussian prior on (a, b) around (1, 0): stabilises small samples.
_RIDGE = 1.0


@dataclass(frozen=True)
class Platt:
    slope: float = 1.0
    intercept: float = 0.0
    samples: int = 0

    @property
    def identity(self) -> bool:
        return self.slope == 1.0 and self.intercept == 0.0

    def __call__(self, p: float) -> float:
        if self.identity:
            return p
        clipped = min(max(p, _EPS), 1.0 - _EPS)
        return logistic(self.slope * logit(clipped) + self.intercept)


def fit_platt(forecasts: Sequence[tuple[float, int]]) -> Platt:
    """Fit on (forecast probability, outcome 0/1) pairs by Newton's method (log-loss)."""
    if len(forecasts) < MIN_SAMPLES:
        return Platt(samples=len(forecasts))
    xs = [logit(min(max(p, _EPS), 1.0 - _EPS)) for p, _ in forecasts]
    ys = [y for _, y in forecasts]
    a, b = 1.0, 0.0
    for _ in range(_NEWTON_STEPS):
        # Gradient and Hessian of the penalised negative log-likelihood.
        ga, gb = _RIDGE * (a - 1.0), _RIDGE * b
        haa, hab, hbb = _RIDGE, 0.0, _RIDGE
        for x, y in zip(xs, ys, strict=True):
            q = logistic(a * x + b)
            r = q - y
            w = q * (1.0 - q)
            ga += r * x
            gb += r
            haa += w * x * x
            hab += w * x
            hbb += w
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) < 1e-9 and abs(db) < 1e-9:
            break
    if not (_SLOPE_BOUNDS[0] <= a <= _SLOPE_BOUNDS[1]) or abs(b) > _INTERCEPT_BOUND:
        return Platt(samples=len(forecasts))
    if math.isnan(a) or math.isnan(b):
        return Platt(samples=len(forecasts))
    return Platt(slope=a, intercept=b, samples=len(forecasts))
