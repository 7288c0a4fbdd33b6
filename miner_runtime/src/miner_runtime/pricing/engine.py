"""The contract every pricing engine meets: the built-in one, or a model sidecar.

Markets in (`MarketQuery`: the store's active markets, full team names as validators send
them), a `Quote` per market out: decimal odds for every side of it. Engines may leave a
market out. Whatever an engine answers is checked by `pricing.quotes.accept` before it can
become an `OddsSubmission`: odds outside [1.01, 1000], sides that do not belong to the
market or a three-way market missing a side are dropped with a log line, never sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from miner_runtime.protocol.markets import ActiveMarket
from miner_runtime.protocol.messages import MarketKind, Side

MarketQuery: TypeAlias = ActiveMarket


@dataclass(frozen=True)
class Quote:
    """An engine's prices for one market: decimal odds per side (1/odds is what counts)."""

    market_id: int
    kind: MarketKind
    odds: Mapping[Side, float]


@dataclass(frozen=True)
class EngineCondition:
    """Whether the engine prices from everything it should; `reasons` says what is missing.

    Degraded is not broken: the built-in engine still prices from its priors with no
    results history or odds source; `/status` shows the reasons.
    """

    engine: str
    degraded: bool = False
    reasons: tuple[str, ...] = ()
    detail: Mapping[str, object] = field(default_factory=dict)


class PricingEngine(Protocol):
    async def quote(self, markets: Sequence[MarketQuery], now: dt.datetime) -> list[Quote]:
        """A quote per market it can price (markets it cannot price are left out)."""
        ...

    def condition(self) -> EngineCondition:
        """What the engine prices from right now (for `/status` and metrics)."""
        ...
