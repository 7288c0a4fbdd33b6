"""A pricing model image run as a sidecar: the runtime asks it over HTTP on localhost.

The model is authoritative: if it cannot answer (down, slow, broken JSON) the cycle
submits nothing rather than falling back to prices the operator did not choose, and
`condition()` says why. Sides and kinds are converted here; every odds value is checked
by `pricing.quotes.accept` like any engine's.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

import httpx
from pydantic import ValidationError

from miner_runtime.logs import log_event
from miner_runtime.pricing.engine import EngineCondition, MarketQuery, Quote
from miner_runtime.pricing.model_api import (
    PRICE_PATH,
    ModelMarket,
    ModelQuote,
    PriceRequest,
    PriceResponse,
)
from miner_runtime.protocol.messages import MarketKind, Side

logger = logging.getLogger(__name__)

# Markets per request: keeps each answer small enough to parse quickly and time out fairly.
CHUNK = 1000


def _query(market: MarketQuery) -> ModelMarket:
    return ModelMarket(
        market_id=market.market_id,
        event_id=market.event_id,
        kind=market.kind,
        line=market.line,
        league=market.league,
        sport=market.sport,
        home_team=market.home_team,
        away_team=market.away_team,
        start_time_utc=market.start_time_utc,
    )


def _quote(answer: ModelQuote) -> Quote | str:
    """The typed quote, or why it cannot be one."""
    try:
        kind = MarketKind(answer.kind.strip().upper())
    except ValueError:
        return f"kind {answer.kind!r} unknown"
    odds: dict[Side, float] = {}
    for price in answer.prices:
        try:
            side = Side(price.side.strip().lower())
        except ValueError:
            return f"side {price.side!r} unknown"
        if side in odds:
            return f"side {side.value} priced twice"
        odds[side] = price.odds_eu
    return Quote(market_id=answer.market_id, kind=kind, odds=odds)


class SidecarEngine:
    name = "sidecar"

    def __init__(self, client: httpx.AsyncClient, *, base_url: str, timeout: float) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + PRICE_PATH
        self._timeout = timeout
        self._error: str | None = None
        self._seconds: float | None = None
        self._malformed = 0

    async def quote(self, markets: Sequence[MarketQuery], now: dt.datetime) -> list[Quote]:
        quotes: list[Quote] = []
        started = time.perf_counter()
        for first in range(0, len(markets), CHUNK):
            request = PriceRequest(
                priced_at=now, markets=[_query(m) for m in markets[first : first + CHUNK]]
            )
            answer = await self._ask(request)
            if answer is None:
                return []  # the model is authoritative: nothing rather than a partial cycle
            quotes.extend(self._typed(answer))
        self._seconds = time.perf_counter() - started
        self._error = None
        return quotes

    async def _ask(self, request: PriceRequest) -> PriceResponse | None:
        try:
            response = await self._client.post(
                self._url,
                content=request.model_dump_json(),
                headers={"content-type": "application/json"},
                timeout=self._timeout,
            )
            response.raise_for_status()
            return PriceResponse.model_validate_json(response.content)
        except httpx.TimeoutException:
            error = f"no answer within {self._timeout:g} s"
        except httpx.HTTPStatusError as exc:
            error = f"HTTP {exc.response.status_code}"
        except httpx.HTTPError as exc:
            error = f"unreachable ({type(exc).__name__})"
        except ValidationError as exc:
            error = f"answer does not match the API ({exc.error_count()} errors)"
        if error != self._error:
            log_event(logger, "pricing_model_failed", logging.WARNING, url=self._url, error=error)
        self._error = error
        return None

    def _typed(self, answer: PriceResponse) -> list[Quote]:
        typed: list[Quote] = []
        for item in answer.quotes:
            quote = _quote(item)
            if isinstance(quote, str):
                self._malformed += 1
                log_event(
                    logger,
                    "pricing_quote_dropped",
                    logging.WARNING,
                    engine=self.name,
                    market_id=item.market_id,
                    reason=quote,
                )
                continue
            typed.append(quote)
        return typed

    def condition(self) -> EngineCondition:
        return EngineCondition(
            engine=self.name,
            degraded=self._error is not None,
            reasons=(f"model: {self._error}",) if self._error else (),
            detail={
                "url": self._url,
                "last_seconds": round(self._seconds, 3) if self._seconds is not None else None,
                "malformed_quotes": self._malformed,
            },
        )
