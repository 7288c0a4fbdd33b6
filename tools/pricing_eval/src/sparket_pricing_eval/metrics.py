"""Scores of submitted prices the way a validator sees them: one row per submitted side.

A validator stores a side's probability as 1/odds, odds in cents within [1.01, 1000], so
the metrics read the same number (rounding and clamping cost a little, and that is part of
what a miner is scored on). Brier and log-loss reward sharp, right forecasts; the expected
calibration error (ECE) isolates "are 70% forecasts right 70% of the time". Pushed markets
are never turned into rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from miner_runtime.protocol.messages import MAX_ODDS, MIN_ODDS, MarketKind, Side

OVERALL = "overall"
BINS = 10
_LOG_EPS = 1e-6


def submitted_probability(odds: float) -> float:
    """What the validator records for decimal `odds`: 1/odds, odds rounded and clamped."""
    return 1.0 / min(max(round(odds, 2), MIN_ODDS), MAX_ODDS)


@dataclass(frozen=True)
class Row:
    kind: MarketKind
    q: float  # the submitted probability (see `submitted_probability`)
    y: int  # 1 if this side won


def rows_for(kind: MarketKind, odds: Mapping[Side, float], winner: Side) -> list[Row]:
    """One row per side submitted for a settled (not pushed) market."""
    return [
        Row(kind, submitted_probability(price), int(side is winner)) for side, price in odds.items()
    ]


@dataclass(frozen=True)
class Scores:
    brier: float
    log_loss: float
    ece: float
    rows: int


@dataclass(frozen=True)
class Bin:
    mean_forecast: float
    frequency: float
    count: int


def brier(rows: Sequence[Row]) -> float:
    return sum((r.q - r.y) ** 2 for r in rows) / len(rows)


def log_loss(rows: Sequence[Row]) -> float:
    total = 0.0
    for r in rows:
        q = min(max(r.q, _LOG_EPS), 1.0 - _LOG_EPS)
        total -= r.y * math.log(q) + (1 - r.y) * math.log(1.0 - q)
    return total / len(rows)


def reliability(rows: Iterable[Row], bins: int = BINS) -> list[Bin | None]:
    """Equal-width bins over [0, 1] (1.0 falls in the last); None for an empty bin."""
    sums = [[0.0, 0.0, 0] for _ in range(bins)]
    for r in rows:
        b = sums[min(int(r.q * bins), bins - 1)]
        b[0] += r.q
        b[1] += r.y
        b[2] += 1
    return [Bin(q / n, y / n, int(n)) if n else None for q, y, n in sums]


def ece(rows: Sequence[Row], bins: int = BINS) -> float:
    """Sum over bins of (share of rows) * |mean forecast - observed frequency|."""
    return sum(
        b.count / len(rows) * abs(b.mean_forecast - b.frequency)
        for b in reliability(rows, bins)
        if b is not None
    )


def score(rows: Sequence[Row]) -> Scores:
    if not rows:
        return Scores(math.nan, math.nan, math.nan, 0)
    return Scores(brier(rows), log_loss(rows), ece(rows), len(rows))


def by_kind(rows: Sequence[Row]) -> dict[str, Scores]:
    """Scores per market kind present, then pooled over all rows (`OVERALL`)."""
    out = {
        kind.value: score([r for r in rows if r.kind is kind])
        for kind in MarketKind
        if any(r.kind is kind for r in rows)
    }
    out[OVERALL] = score(rows)
    return out
