"""Bookmaker prices as probabilities, and blending them with the model.

A book's implied probabilities (1/odds) sum to more than one: the margin. Removing it
proportionally (the multiplicative method) is the standard, assumption-light choice; the
consensus of several books is their median per side, renormalised. The blend is linear,
weighted by `market_blend_weight` (the market's share), then renormalised.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from miner_runtime.protocol.messages import Side


def devig(odds: Mapping[Side, float]) -> dict[Side, float]:
    """Fair probabilities from one book's decimal odds for every side of a market."""
    implied = {side: 1.0 / price for side, price in odds.items() if price > 1.0}
    total = sum(implied.values())
    if len(implied) != len(odds) or total <= 0:
        return {}
    return {side: p / total for side, p in implied.items()}


def consensus(books: Sequence[Mapping[Side, float]]) -> dict[Side, float]:
    """The median fair probability per side over books that priced every side."""
    fair = [devigged for book in books if (devigged := devig(book))]
    if not fair:
        return {}
    sides = set(fair[0])
    complete = [f for f in fair if set(f) == sides]
    median = {side: statistics.median(f[side] for f in complete) for side in sides}
    total = sum(median.values())
    return {side: p / total for side, p in median.items()}


def blend(
    model: Mapping[Side, float], market: Mapping[Side, float], market_weight: float
) -> dict[Side, float]:
    """Weighted mix of two forecasts over the same sides (the model's alone otherwise)."""
    if not market or set(market) != set(model):
        return dict(model)
    mixed = {s: market_weight * market[s] + (1.0 - market_weight) * model[s] for s in model}
    total = sum(mixed.values())
    return {side: p / total for side, p in mixed.items()}
