"""Bookmaker prices from The Odds API (v4 `/sports/{sport}/odds`), cached per league.

The free plan has 500 credits a month and one `/odds` call costs markets x regions of them
(3 x 3 = 9 with the defaults), so an answer is kept for `cache_ttl_seconds` and reused,
and callers asking for the same league while its request is in flight wait for that one
request (a lock per league) instead of sending their own. Failures are not cached: the
next call asks again. `requests_remaining` is the API's own count, logged with each fetch.

The API key travels as the `apiKey` query parameter (the only way v4 takes it), so it is
kept out of everything this module writes: error messages carry league, URL path and
status only, exceptions are not chained to httpx's (which hold the request), the repr
leaves it out, and httpx's own "HTTP Request: GET <url>" INFO line is redacted by a
filter on the `httpx` logger.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx
from pydantic import Field

from miner_runtime.logs import log_event
from miner_runtime.pricing.sources.answers import Answer, UtcDatetime
from miner_runtime.pricing.sources.errors import SourceError
from miner_runtime.protocol.messages import League, MarketKind, Side

logger = logging.getLogger(__name__)

ODDS_API_BASE_URL: Final = "https://api.the-odds-api.com/v4"
MIN_PRICE: Final = 1.01

SPORT_KEYS: Final[dict[League, str]] = {
    League.NFL: "americanfootball_nfl",
    League.NBA: "basketball_nba",
    League.MLB: "baseball_mlb",
    League.NHL: "icehockey_nhl",
    League.EPL: "soccer_epl",
    League.UCL: "soccer_uefa_champs_league",
    League.UEL: "soccer_uefa_europa_league",
    League.ESP: "soccer_spain_la_liga",
    League.DEB: "soccer_germany_bundesliga",
    League.ITSA: "soccer_italy_serie_a",
    League.FRL1: "soccer_france_ligue_one",
    League.MLS: "soccer_usa_mls",
    League.NLE: "soccer_netherlands_eredivisie",
}

_MARKETS: Final[dict[str, MarketKind]] = {
    "h2h": MarketKind.MONEYLINE,
    "spreads": MarketKind.SPREAD,
    "totals": MarketKind.TOTAL,
}
_TOTAL_SIDES: Final[dict[str, Side]] = {"over": Side.OVER, "under": Side.UNDER}
_API_KEY_PARAM = re.compile(r"(apiKey=)[^&\s\"'#]*", re.IGNORECASE)
_REDACTED = r"\1<redacted>"


@dataclass(frozen=True)
class BookPrice:
    """One side of one market at one bookmaker; `point` is the spread/total line, else None."""

    kind: MarketKind
    side: Side
    point: float | None
    odds: float  # decimal


@dataclass(frozen=True)
class BookOdds:
    bookmaker: str  # the API's bookmaker key, e.g. "draftkings"
    prices: tuple[BookPrice, ...]


@dataclass(frozen=True)
class EventOdds:
    """One upcoming game, team names as The Odds API spells them (matched via `names`)."""

    home_team: str
    away_team: str
    commence_time: dt.datetime  # aware UTC
    books: tuple[BookOdds, ...]


class _RedactApiKey(logging.Filter):
    """httpx logs each request's full URL at INFO; this takes the `apiKey` value out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _API_KEY_PARAM.search(message):
            record.msg = _API_KEY_PARAM.sub(_REDACTED, message)
            record.args = ()
        return True


_HTTPX_FILTER: Final = _RedactApiKey()


def _redact_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if _HTTPX_FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_HTTPX_FILTER)


class _Outcome(Answer):
    name: str
    price: float
    point: float | None = None


class _Market(Answer):
    key: str
    outcomes: list[_Outcome]


class _Bookmaker(Answer):
    key: str
    markets: list[_Market]


class _Event(Answer):
    home_team: str
    away_team: str
    commence_time: UtcDatetime
    bookmakers: list[_Bookmaker] = Field(default_factory=list)


def _side(kind: MarketKind, name: str, event: _Event) -> Side | None:
    if kind is MarketKind.TOTAL:
        return _TOTAL_SIDES.get(name.casefold())
    if name == event.home_team:
        return Side.HOME
    if name == event.away_team:
        return Side.AWAY
    if kind is MarketKind.MONEYLINE and name.casefold() == "draw":
        return Side.DRAW
    return None


def _price(kind: MarketKind, outcome: _Outcome, event: _Event) -> BookPrice | None:
    """The outcome as a price, or None when it cannot be one (unknown name, bad number)."""
    side = _side(kind, outcome.name, event)
    if side is None or not math.isfinite(outcome.price) or outcome.price < MIN_PRICE:
        return None
    if kind is MarketKind.MONEYLINE:
        return BookPrice(kind, side, None, outcome.price)
    if outcome.point is None or not math.isfinite(outcome.point):
        return None
    return BookPrice(kind, side, outcome.point, outcome.price)


def parse_event(raw: object) -> EventOdds:
    """One v4 event; raises ValueError (pydantic's ValidationError) when it is malformed."""
    event = _Event.model_validate(raw)
    if event.home_team == event.away_team:
        raise ValueError("home and away team are the same")
    books: list[BookOdds] = []
    for bookmaker in event.bookmakers:
        prices: list[BookPrice] = []
        for market in bookmaker.markets:
            kind = _MARKETS.get(market.key)  # h2h_lay and the like are not ours
            if kind is None:
                continue
            for outcome in market.outcomes:
                price = _price(kind, outcome, event)
                if price is not None:
                    prices.append(price)
        if prices:
            books.append(BookOdds(bookmaker.key, tuple(prices)))
    return EventOdds(event.home_team, event.away_team, event.commence_time, tuple(books))


def _remaining(response: httpx.Response) -> int | None:
    text = response.headers.get("x-requests-remaining")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) else None


class OddsApiClient:
    """The Odds API v4 `/odds` for one API key; the HTTP client is injected."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = ODDS_API_BASE_URL,
        regions: str = "us,eu,uk",
        cache_ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_key:
            raise ValueError("The Odds API key is empty")
        if cache_ttl_seconds < 0:
            raise ValueError("cache_ttl_seconds must be >= 0")
        self._client = client
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._regions = regions
        self._ttl = cache_ttl_seconds
        self._clock = clock
        self._cache: dict[League, tuple[float, tuple[EventOdds, ...]]] = {}
        self._locks: dict[League, asyncio.Lock] = {}
        self.requests_remaining: int | None = None
        _redact_httpx_logs()

    def __repr__(self) -> str:
        return f"OddsApiClient(base_url={self._base_url!r}, regions={self._regions!r})"

    async def odds(self, league: League) -> list[EventOdds]:
        """Upcoming games of `league` with every bookmaker's prices (cached answer if fresh)."""
        cached = self._fresh(league)
        if cached is not None:
            return list(cached)
        lock = self._locks.get(league)
        if lock is None:
            lock = self._locks[league] = asyncio.Lock()
        async with lock:
            cached = self._fresh(league)
            if cached is None:
                cached = await self._fetch(league)
                self._cache[league] = (self._clock() + self._ttl, cached)
            return list(cached)

    def _fresh(self, league: League) -> tuple[EventOdds, ...] | None:
        entry = self._cache.get(league)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def _scrub(self, text: str) -> str:
        return _API_KEY_PARAM.sub(_REDACTED, text).replace(self._api_key, "<redacted>")

    async def _fetch(self, league: League) -> tuple[EventOdds, ...]:
        url = f"{self._base_url}/sports/{SPORT_KEYS[league]}/odds"
        where = f"the-odds-api {league.value} {httpx.URL(url).path}"
        params = {
            "apiKey": self._api_key,
            "regions": self._regions,
            "markets": ",".join(_MARKETS),
            "oddsFormat": "decimal",
            "dateFormat": "iso",
        }
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            # Not chained: the httpx exception holds the request, key and all.
            raise SourceError(self._scrub(f"{where}: {type(exc).__name__}: {exc}")) from None
        remaining = _remaining(response)
        if remaining is not None:
            self.requests_remaining = remaining
        if not response.is_success:
            raise SourceError(self._scrub(f"{where}: HTTP {response.status_code}{_code(response)}"))
        try:
            body = response.json()
        except ValueError:
            raise SourceError(f"{where}: HTTP {response.status_code} but no JSON") from None
        if not isinstance(body, list):
            raise SourceError(f"{where}: the answer is not a list of events")
        events, skipped = _parse_all(body)
        if skipped:
            log_event(
                logger, "odds_events_skipped", logging.WARNING, league=league.value, skipped=skipped
            )
        log_event(
            logger,
            "odds_fetched",
            league=league.value,
            events=len(events),
            requests_remaining=self.requests_remaining,
        )
        return events


def _parse_all(body: list[Any]) -> tuple[tuple[EventOdds, ...], int]:
    events: list[EventOdds] = []
    skipped = 0
    for raw in body:
        try:
            events.append(parse_event(raw))
        except ValueError:
            skipped += 1
    events.sort(key=lambda e: (e.commence_time, e.home_team))
    return tuple(events), skipped


def _code(response: httpx.Response) -> str:
    """The API's `error_code` (e.g. INVALID_KEY, OUT_OF_USAGE_CREDITS) when it sent one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    code = body.get("error_code") if isinstance(body, dict) else None
    return f" ({code})" if isinstance(code, str) and code else ""
