"""A pricing engine whose prices move on demand: the built-in engine on league priors (no
history, no network) with every odds value shifted by `shift`. Tests use it to make the
market move between cycles, so that "only changed prices are sent" can be exercised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.engine import EngineCondition, MarketQuery, Quote
from miner_runtime.pricing.names import TeamNames


class MovingEngine:
    def __init__(self, *, vig: float = 0.045) -> None:
        self.inner = BuiltinEngine(names=TeamNames(), vig=vig, history_expected=False)
        self.shift = 0.0

    async def quote(self, markets: Sequence[MarketQuery], now: dt.datetime) -> list[Quote]:
        return [
            Quote(
                market_id=q.market_id,
                kind=q.kind,
                odds={side: round(odds + self.shift, 2) for side, odds in q.odds.items()},
            )
            for q in await self.inner.quote(markets, now)
        ]

    def condition(self) -> EngineCondition:
        return self.inner.condition()
