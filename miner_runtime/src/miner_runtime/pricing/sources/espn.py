"""Final scores from ESPN's public scoreboard (site API v2): the built-in `ResultsSource`.

No key and no published rate limit, so requests stay few and polite: one per league per
31 days of dates (`dates=YYYYMMDD-YYYYMMDD`), one after the other. ESPN's `dates` are its
own calendar days (US Eastern, as far as anyone has observed), not UTC: a 7:30 pm ET tip-off
is the next UTC day. So the range asked for is one day wider on each side and the answer is
cut back to games whose UTC start date lies in [first_day, last_day], as the protocol says.

Only finished games (`status.type.completed` and state "post") with two integer scores
become results; postponed, cancelled and live games are left out. A malformed event is
skipped and counted (one warning per call), never fatal: one odd entry must not cost a
month of results. An unusable answer (HTTP error, no JSON, no `events` list) is.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final

import httpx
from pydantic import Field, StrictInt, StrictStr

from miner_runtime.logs import log_event
from miner_runtime.pricing.sources.answers import Answer, UtcDatetime
from miner_runtime.pricing.sources.errors import SourceError
from miner_runtime.protocol.messages import League
from miner_runtime.protocol.results import GameResult

logger = logging.getLogger(__name__)

ESPN_BASE_URL: Final = "https://site.api.espn.com/apis/site/v2/sports"
MAX_CHUNK_DAYS: Final = 31

# sport/league path segments of ESPN's site API, per Sparket league.
ESPN_PATHS: Final[dict[League, str]] = {
    League.NFL: "football/nfl",
    League.NBA: "basketball/nba",
    League.MLB: "baseball/mlb",
    League.NHL: "hockey/nhl",
    League.EPL: "soccer/eng.1",
    League.UCL: "soccer/uefa.champions",
    League.UEL: "soccer/uefa.europa",
    League.ESP: "soccer/esp.1",
    League.DEB: "soccer/ger.1",
    League.ITSA: "soccer/ita.1",
    League.FRL1: "soccer/fra.1",
    League.MLS: "soccer/usa.1",
    League.NLE: "soccer/ned.1",
}

_ONE_DAY = dt.timedelta(days=1)


class _Team(Answer):
    display_name: str = Field(alias="displayName", min_length=1)


class _Competitor(Answer):
    home_away: str = Field(alias="homeAway")
    team: _Team
    # The site API sends scores as strings ("27"); an int is taken too, nothing else.
    score: StrictStr | StrictInt | None = None


class _StatusType(Answer):
    completed: bool = False
    state: str = ""
    name: str = ""


class _Status(Answer):
    kind: _StatusType = Field(alias="type")


class _Competition(Answer):
    competitors: list[_Competitor]
    status: _Status | None = None


class _Event(Answer):
    event_id: StrictStr | StrictInt = Field(alias="id")
    date: UtcDatetime
    competitions: list[_Competition] = Field(min_length=1)
    status: _Status | None = None


def date_chunks(
    first_day: dt.date, last_day: dt.date, max_days: int = MAX_CHUNK_DAYS
) -> list[tuple[dt.date, dt.date]]:
    """[first_day, last_day] cut into consecutive inclusive ranges of at most `max_days`."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    chunks: list[tuple[dt.date, dt.date]] = []
    start = first_day
    while start <= last_day:
        end = min(last_day, start + dt.timedelta(days=max_days - 1))
        chunks.append((start, end))
        start = end + _ONE_DAY
    return chunks


def _score(value: str | int | None) -> int:
    if isinstance(value, int):
        if value < 0:
            raise ValueError("negative score")
        return value
    if value is None:
        raise ValueError("no score")
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError("score is not a whole number")
    return int(text)


def _side(competitors: list[_Competitor], home_away: str) -> _Competitor:
    found = [c for c in competitors if c.home_away == home_away]
    if len(found) != 1:
        raise ValueError(f"{len(found)} {home_away} competitors")
    return found[0]


def parse_event(league: League, raw: object) -> GameResult | None:
    """One scoreboard event as a result; None when it is not a finished game.

    Raises ValueError (pydantic's ValidationError is one) when the event is malformed.
    """
    event = _Event.model_validate(raw)
    competition = event.competitions[0]
    status = competition.status or event.status
    if status is None:
        raise ValueError("no status")
    if not (status.kind.completed and status.kind.state == "post"):
        return None
    home = _side(competition.competitors, "home")
    away = _side(competition.competitors, "away")
    return GameResult(
        league=league,
        home_team=home.team.display_name,
        away_team=away.team.display_name,
        start_time_utc=event.date,
        score_home=_score(home.score),
        score_away=_score(away.score),
        source="espn",
        source_id=str(event.event_id),
    )


class EspnResults:
    """`ResultsSource` over ESPN's scoreboard; the HTTP client (timeouts, proxies) is injected."""

    name: str = "espn"

    def __init__(self, client: httpx.AsyncClient, *, base_url: str = ESPN_BASE_URL) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")

    async def results(
        self, league: League, first_day: dt.date, last_day: dt.date
    ) -> list[GameResult]:
        """Finished games of `league` that started on [first_day, last_day] (UTC dates)."""
        if last_day < first_day:
            return []
        url = f"{self._base_url}/{ESPN_PATHS[league]}/scoreboard"
        found: dict[str, GameResult] = {}
        skipped = 0
        for start, end in date_chunks(first_day - _ONE_DAY, last_day + _ONE_DAY):
            for raw in await self._events(league, url, start, end):
                try:
                    game = parse_event(league, raw)
                except ValueError:
                    skipped += 1
                    continue
                if game is not None and first_day <= game.start_time_utc.date() <= last_day:
                    found.setdefault(game.source_id, game)
        if skipped:
            log_event(
                logger, "espn_events_skipped", logging.WARNING, league=league.value, skipped=skipped
            )
        return sorted(found.values(), key=lambda g: (g.start_time_utc, g.source_id))

    async def _events(self, league: League, url: str, start: dt.date, end: dt.date) -> list[Any]:
        where = f"espn {league.value} {httpx.URL(url).path}"
        params = {"dates": f"{start:%Y%m%d}-{end:%Y%m%d}", "limit": "1000"}
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"{where}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise SourceError(f"{where}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceError(f"{where}: HTTP {response.status_code} but no JSON") from exc
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise SourceError(f"{where}: no events list in the answer")
        return events
