"""Quotes become submissions only through `accept`: the one check every engine's answer
passes, the built-in engine's included.

A model sidecar is someone else's code, so its answer is data to validate: a market we did
not ask about, a kind that does not match, a side that does not belong to the market, a
three-way market missing a side (the validator scores it only with all three), or odds that
are not finite or outside [1.01, 1000] drop that quote, with a log line; it is never sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from miner_runtime.logs import log_event
from miner_runtime.pricing.engine import MarketQuery, Quote
from miner_runtime.protocol.messages import (
    MAX_ODDS,
    MIN_ODDS,
    MarketKind,
    OddsSubmission,
    Price,
    Side,
    Sport,
)

logger = logging.getLogger(__name__)

# Beyond this many, dropped quotes are summarised in one line instead of one line each.
_DROPS_LOGGED = 20
_TWO_WAY = frozenset({Side.HOME, Side.AWAY})
_THREE_WAY = frozenset({Side.HOME, Side.DRAW, Side.AWAY})
_TOTALS = frozenset({Side.OVER, Side.UNDER})


def sides_of(market: MarketQuery) -> frozenset[Side]:
    if market.kind is MarketKind.TOTAL:
        return _TOTALS
    if market.kind is MarketKind.MONEYLINE and market.sport is Sport.SOCCER:
        return _THREE_WAY
    return _TWO_WAY


def fair_odds(probability: float, margin: float = 0.0) -> float:
    """Decimal odds for a probability plus our `margin` share, cents, within bounds.

    The validator takes 1/odds as our forecast, so the default margin is none.
    """
    priced = min(max(probability + margin, 1.0 / MAX_ODDS), 1.0 / MIN_ODDS)
    return round(min(max(1.0 / priced, MIN_ODDS), MAX_ODDS), 2)


def quote_of(
    market: MarketQuery, probabilities: Mapping[Side, float], *, vig: float = 0.0
) -> Quote:
    """A quote from fair probabilities; `vig` is the total margin, spread over the sides."""
    share = vig / len(probabilities) if probabilities else 0.0
    return Quote(
        market_id=market.market_id,
        kind=market.kind,
        odds={side: fair_odds(p, share) for side, p in probabilities.items()},
    )


@dataclass(frozen=True)
class Dropped:
    market_id: int
    reason: str


def _problem(quote: Quote, market: MarketQuery | None) -> str | None:
    if market is None:
        return "unknown market"
    if quote.kind is not market.kind:
        return f"kind {quote.kind.value} but the market is {market.kind.value}"
    expected = sides_of(market)
    sides = frozenset(quote.odds)
    if not sides:
        return "no sides"
    if not sides <= expected:
        stray = ",".join(sorted(s.value for s in sides - expected))
        return f"sides {stray} do not belong to a {market.kind.value} market"
    if expected == _THREE_WAY and sides != expected:
        return "a three-way market needs home, draw and away"
    for side, odds in quote.odds.items():
        if not isinstance(odds, float | int) or not math.isfinite(odds):
            return f"{side.value} odds {odds!r} not a finite number"
        if not MIN_ODDS <= odds <= MAX_ODDS:
            return f"{side.value} odds {odds} outside [{MIN_ODDS}, {MAX_ODDS}]"
    return None


def accept(
    markets: Sequence[MarketQuery],
    quotes: Iterable[Quote],
    now: dt.datetime,
    *,
    engine: str,
) -> tuple[list[OddsSubmission], list[Dropped]]:
    """The valid quotes as submissions (one per market), and what was dropped and why."""
    by_id = {market.market_id: market for market in markets}
    accepted: dict[int, OddsSubmission] = {}
    dropped: list[Dropped] = []
    for quote in quotes:
        problem = _problem(quote, by_id.get(quote.market_id))
        if problem is None and quote.market_id in accepted:
            problem = "quoted twice"
        if problem is not None:
            dropped.append(Dropped(quote.market_id, problem))
            if len(dropped) <= _DROPS_LOGGED:
                log_event(
                    logger,
                    "pricing_quote_dropped",
                    logging.WARNING,
                    engine=engine,
                    market_id=quote.market_id,
                    reason=problem,
                )
            continue
        accepted[quote.market_id] = OddsSubmission.model_construct(
            market_id=quote.market_id,
            kind=quote.kind,
            priced_at=now,
            prices=tuple(
                Price.model_construct(side=side, odds_eu=float(odds), imp_prob=None)
                for side, odds in quote.odds.items()
            ),
        )
    if len(dropped) > _DROPS_LOGGED:
        log_event(
            logger,
            "pricing_quotes_dropped",
            logging.WARNING,
            engine=engine,
            dropped=len(dropped),
            logged=_DROPS_LOGGED,
        )
    return list(accepted.values()), dropped
