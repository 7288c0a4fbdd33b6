"""The ESPN results and The Odds API adapters, against fixtures in the services' own shapes.

Every request goes through `httpx.MockTransport`: what is checked is what the adapters ask
for (paths, `dates=` chunks, parameters), what they make of the answers (teams, scores,
UTC times, sides and points), how they fail (one `SourceError` naming the league, the API
key nowhere) and how often they ask (the odds cache and its per-league lock).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from miner_runtime.pricing.sources.errors import SourceError
from miner_runtime.pricing.sources.espn import EspnResults, date_chunks
from miner_runtime.pricing.sources.theodds import (
    BookOdds,
    BookPrice,
    EventOdds,
    OddsApiClient,
)
from miner_runtime.protocol.messages import League, MarketKind, Side
from miner_runtime.protocol.results import GameResult

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "0dd5-k3y-5ecret-7a41c2e9b8"
UTC = dt.UTC
ML, SPREAD, TOTAL = MarketKind.MONEYLINE, MarketKind.SPREAD, MarketKind.TOTAL
HOME, AWAY, DRAW, OVER, UNDER = Side.HOME, Side.AWAY, Side.DRAW, Side.OVER, Side.UNDER


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def json_response(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status, content=body, headers={"content-type": "application/json", **(headers or {})}
    )


class Recorder:
    """Serves one answer (or calls a function) for every request and keeps the requests."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    @property
    def dates(self) -> list[str | None]:
        return [r.url.params.get("dates") for r in self.requests]


def serve(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Recorder:
    return Recorder(lambda _: json_response(body, status, headers))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def skipped_logs(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [getattr(r, "sparket_fields", {}) for r in caplog.records if r.getMessage() == event]


def game(
    league: League,
    home: str,
    away: str,
    start: dt.datetime,
    score_home: int,
    score_away: int,
    source_id: str,
) -> GameResult:
    return GameResult(league, home, away, start, score_home, score_away, "espn", source_id)


# ---------------------------------------------------------------------------- ESPN

NBA_GAMES = [
    game(
        League.NBA,
        "Boston Celtics",
        "New York Knicks",
        dt.datetime(2024, 10, 22, 23, 30, tzinfo=UTC),
        132,
        109,
        "401704627",
    ),
    game(
        League.NBA,
        "Los Angeles Lakers",
        "Minnesota Timberwolves",
        dt.datetime(2024, 10, 23, 2, 0, tzinfo=UTC),
        110,
        103,
        "401704628",
    ),
    game(
        League.NBA,
        "LA Clippers",
        "Phoenix Suns",
        dt.datetime(2024, 10, 24, 2, 30, tzinfo=UTC),
        113,
        116,
        "401704632",
    ),
]


async def test_espn_nba_keeps_only_finished_games_with_exact_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = serve(fixture("espn_nba_scoreboard.json"))
    async with recorder.client() as http:
        source = EspnResults(http)
        with caplog.at_level(logging.WARNING):
            results = await source.results(League.NBA, dt.date(2024, 10, 22), dt.date(2024, 10, 24))

    assert source.name == "espn"
    assert results == NBA_GAMES
    assert all(r.start_time_utc.tzinfo is UTC for r in results)
    # Postponed (401704640), live (401704650) and the malformed one (401704641) are gone.
    [request] = recorder.requests
    assert request.method == "GET"
    assert request.url.host == "site.api.espn.com"
    assert request.url.path == "/apis/site/v2/sports/basketball/nba/scoreboard"
    assert dict(request.url.params) == {"dates": "20241021-20241025", "limit": "1000"}
    assert skipped_logs(caplog, "espn_events_skipped") == [{"league": "nba", "skipped": 1}]
    [record] = [r for r in caplog.records if r.getMessage() == "espn_events_skipped"]
    assert record.levelno == logging.WARNING


async def test_espn_epl_full_time_results_and_a_missing_competitor_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = serve(fixture("espn_epl_scoreboard.json"))
    async with recorder.client() as http:
        with caplog.at_level(logging.WARNING):
            results = await EspnResults(http).results(
                League.EPL, dt.date(2024, 10, 19), dt.date(2024, 10, 20)
            )

    assert results == [
        game(
            League.EPL,
            "Tottenham Hotspur",
            "West Ham United",
            dt.datetime(2024, 10, 19, 11, 30, tzinfo=UTC),
            4,
            1,
            "704386",
        ),
        game(
            League.EPL,
            "Manchester United",
            "Brentford",
            dt.datetime(2024, 10, 19, 14, 0, tzinfo=UTC),
            2,
            1,
            "704390",
        ),
        game(
            League.EPL,
            "AFC Bournemouth",
            "Arsenal",
            dt.datetime(2024, 10, 19, 16, 30, tzinfo=UTC),
            2,
            0,
            "704385",
        ),
        game(
            League.EPL,
            "Liverpool",
            "Chelsea",
            dt.datetime(2024, 10, 20, 15, 30, tzinfo=UTC),
            2,
            1,
            "704391",
        ),
    ]
    assert [r.url.path for r in recorder.requests] == [
        "/apis/site/v2/sports/soccer/eng.1/scoreboard"
    ]
    assert skipped_logs(caplog, "espn_events_skipped") == [{"league": "epl", "skipped": 1}]


async def test_espn_cuts_the_answer_to_utc_start_dates() -> None:
    """ESPN's days are not UTC days: 01:00Z on the 23rd is a game of the 22nd (ET)."""
    recorder = serve(fixture("espn_nba_scoreboard.json"))
    async with recorder.client() as http:
        results = await EspnResults(http).results(
            League.NBA, dt.date(2024, 10, 23), dt.date(2024, 10, 23)
        )
    assert results == [NBA_GAMES[1]]
    assert recorder.dates == ["20241022-20241024"]


async def test_espn_seventy_days_are_three_requests_in_date_order() -> None:
    first, last = dt.date(2024, 1, 1), dt.date(2024, 3, 10)
    assert (last - first).days + 1 == 70
    recorder = serve(b'{"leagues": [], "events": []}')
    async with recorder.client() as http:
        assert await EspnResults(http).results(League.NHL, first, last) == []
    # One day of margin each side (ESPN's calendar is not UTC), then 31 + 31 + 10 days.
    assert recorder.dates == [
        "20231231-20240130",
        "20240131-20240301",
        "20240302-20240311",
    ]
    assert {r.url.path for r in recorder.requests} == {"/apis/site/v2/sports/hockey/nhl/scoreboard"}


async def test_espn_deduplicates_a_game_seen_in_several_chunks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = serve(fixture("espn_nba_scoreboard.json"))
    async with recorder.client() as http:
        with caplog.at_level(logging.WARNING):
            results = await EspnResults(http).results(
                League.NBA, dt.date(2024, 10, 1), dt.date(2024, 11, 30)
            )
    assert len(recorder.requests) == 3
    assert results == NBA_GAMES
    # One warning per call, counting the malformed event of every chunk.
    assert skipped_logs(caplog, "espn_events_skipped") == [{"league": "nba", "skipped": 3}]


async def test_espn_empty_range_asks_nothing() -> None:
    recorder = serve(fixture("espn_nba_scoreboard.json"))
    async with recorder.client() as http:
        results = await EspnResults(http).results(
            League.NBA, dt.date(2024, 10, 24), dt.date(2024, 10, 22)
        )
    assert results == []
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("league", "path"),
    [
        (League.NFL, "football/nfl"),
        (League.NBA, "basketball/nba"),
        (League.MLB, "baseball/mlb"),
        (League.NHL, "hockey/nhl"),
        (League.EPL, "soccer/eng.1"),
        (League.UCL, "soccer/uefa.champions"),
        (League.UEL, "soccer/uefa.europa"),
        (League.ESP, "soccer/esp.1"),
        (League.DEB, "soccer/ger.1"),
        (League.ITSA, "soccer/ita.1"),
        (League.FRL1, "soccer/fra.1"),
        (League.MLS, "soccer/usa.1"),
        (League.NLE, "soccer/ned.1"),
    ],
)
async def test_espn_path_of_every_league(league: League, path: str) -> None:
    recorder = serve(b'{"events": []}')
    async with recorder.client() as http:
        source = EspnResults(http, base_url="https://espn.test/apis/site/v2/sports/")
        await source.results(league, dt.date(2025, 3, 1), dt.date(2025, 3, 1))
    assert [str(r.url.copy_with(query=None)) for r in recorder.requests] == [
        f"https://espn.test/apis/site/v2/sports/{path}/scoreboard"
    ]


def test_date_chunks_cover_the_range_without_gaps_or_overlap() -> None:
    chunks = date_chunks(dt.date(2024, 2, 1), dt.date(2024, 4, 2))
    assert chunks == [
        (dt.date(2024, 2, 1), dt.date(2024, 3, 2)),
        (dt.date(2024, 3, 3), dt.date(2024, 4, 2)),
    ]
    assert date_chunks(dt.date(2024, 2, 1), dt.date(2024, 2, 1)) == [
        (dt.date(2024, 2, 1), dt.date(2024, 2, 1))
    ]
    assert date_chunks(dt.date(2024, 2, 2), dt.date(2024, 2, 1)) == []


def _raise_connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda _: httpx.Response(500, text="upstream error"), "HTTP 500"),
        (lambda _: httpx.Response(404, json={"code": 404}), "HTTP 404"),
        (_raise_connect_error, "ConnectError"),
        (lambda _: json_response(b"<html>maintenance</html>"), "no JSON"),
        (lambda _: json_response(b'{"leagues": []}'), "no events list"),
        (lambda _: json_response(b"[]"), "no events list"),
    ],
)
async def test_espn_failures_are_source_errors_naming_league_and_path(
    answer: Callable[[httpx.Request], httpx.Response], says: str
) -> None:
    async with Recorder(answer).client() as http:
        with pytest.raises(SourceError) as caught:
            await EspnResults(http).results(League.DEB, dt.date(2024, 10, 1), dt.date(2024, 10, 2))
    message = str(caught.value)
    assert says in message
    assert "espn deb /apis/site/v2/sports/soccer/ger.1/scoreboard" in message
    assert "dates=" not in message
    assert "limit" not in message


# ---------------------------------------------------------------------- The Odds API

HEADERS = {"x-requests-remaining": "491", "x-requests-used": "9", "x-requests-last": "9"}


def odds_client(http: httpx.AsyncClient, **kwargs: Any) -> OddsApiClient:
    return OddsApiClient(http, api_key=API_KEY, **kwargs)


def prices(*items: tuple[MarketKind, Side, float | None, float]) -> tuple[BookPrice, ...]:
    return tuple(BookPrice(kind, side, point, odds) for kind, side, point, odds in items)


async def test_odds_nba_request_and_exact_parse() -> None:
    recorder = serve(fixture("theodds_nba.json"), headers=HEADERS)
    async with recorder.client() as http:
        client = odds_client(http)
        before = client.requests_remaining
        events = await client.odds(League.NBA)

    [request] = recorder.requests
    assert request.url.host == "api.the-odds-api.com"
    assert request.url.path == "/v4/sports/basketball_nba/odds"
    assert dict(request.url.params) == {
        "apiKey": API_KEY,
        "regions": "us,eu,uk",
        "markets": "h2h,spreads,totals",
        "oddsFormat": "decimal",
        "dateFormat": "iso",
    }
    assert (before, client.requests_remaining) == (None, 491)
    assert [(e.home_team, e.away_team, e.commence_time) for e in events] == [
        ("Boston Celtics", "New York Knicks", dt.datetime(2024, 10, 22, 23, 30, tzinfo=UTC)),
        (
            "Los Angeles Lakers",
            "Minnesota Timberwolves",
            dt.datetime(2024, 10, 23, 2, 0, tzinfo=UTC),
        ),
        ("Los Angeles Clippers", "Phoenix Suns", dt.datetime(2024, 10, 24, 2, 30, tzinfo=UTC)),
    ]
    assert all(e.commence_time.tzinfo is UTC for e in events)
    assert events[0] == EventOdds(
        home_team="Boston Celtics",
        away_team="New York Knicks",
        commence_time=dt.datetime(2024, 10, 22, 23, 30, tzinfo=UTC),
        books=(
            BookOdds(
                "draftkings",
                prices(
                    (ML, HOME, None, 1.29),
                    (ML, AWAY, None, 3.8),
                    (SPREAD, HOME, -8.5, 1.91),
                    (SPREAD, AWAY, 8.5, 1.91),
                    (TOTAL, OVER, 222.5, 1.91),
                    (TOTAL, UNDER, 222.5, 1.91),
                ),
            ),
            BookOdds(
                "fanduel",
                prices(
                    (ML, HOME, None, 1.3),
                    (ML, AWAY, None, 3.7),
                    (SPREAD, HOME, -8.0, 1.89),
                    (SPREAD, AWAY, 8.0, 1.93),
                    (TOTAL, OVER, 223.0, 1.93),
                    (TOTAL, UNDER, 223.0, 1.89),
                ),
            ),
        ),
    )
    # DraftKings has no totals up for the Clippers game: only what was offered is kept.
    draftkings = events[2].books[0]
    assert draftkings.bookmaker == "draftkings"
    assert {p.kind for p in draftkings.prices} == {ML, SPREAD}
    assert (SPREAD, HOME, 4.5, 1.91) in [
        (p.kind, p.side, p.point, p.odds) for p in draftkings.prices
    ]


async def test_odds_epl_maps_draw_over_under_and_points() -> None:
    recorder = serve(fixture("theodds_epl.json"), headers=HEADERS)
    async with recorder.client() as http:
        events = await odds_client(http).odds(League.EPL)

    assert recorder.requests[0].url.path == "/v4/sports/soccer_epl/odds"
    assert [(e.home_team, e.away_team) for e in events] == [
        ("Tottenham Hotspur", "West Ham United"),
        ("Manchester United", "Brentford"),
        ("Liverpool", "Chelsea"),
    ]
    spurs = events[0]
    assert [b.bookmaker for b in spurs.books] == ["williamhill", "pinnacle"]
    assert spurs.books[0].prices == prices(
        (ML, HOME, None, 1.57),
        (ML, AWAY, None, 5.5),
        (ML, DRAW, None, 4.4),
        (SPREAD, HOME, -1.0, 2.05),
        (SPREAD, AWAY, 1.0, 1.8),
        (TOTAL, OVER, 3.5, 2.1),
        (TOTAL, UNDER, 3.5, 1.72),
    )
    pinnacle_totals = [p for p in spurs.books[1].prices if p.kind is TOTAL]
    assert pinnacle_totals == list(prices((TOTAL, OVER, 3.25, 1.95), (TOTAL, UNDER, 3.25, 1.95)))
    for event in events:
        for book in event.books:
            sides = {(p.kind, p.side) for p in book.prices}
            assert sides == {
                (ML, HOME),
                (ML, AWAY),
                (ML, DRAW),
                (SPREAD, HOME),
                (SPREAD, AWAY),
                (TOTAL, OVER),
                (TOTAL, UNDER),
            }


def _event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "e1",
        "sport_key": "soccer_epl",
        "commence_time": "2024-10-19T14:00:00Z",
        "home_team": "Fulham",
        "away_team": "Aston Villa",
        "bookmakers": [],
    }
    return {**base, **overrides}


def _outcome(name: str, price: float, point: float | None = None) -> dict[str, Any]:
    return {"name": name, "price": price} | ({} if point is None else {"point": point})


async def test_odds_skips_bad_prices_unknown_names_and_malformed_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = [
        _event(
            commence_time="2024-10-19T14:00:00",  # no offset: read as UTC
            bookmakers=[
                {
                    "key": "betfair_ex_uk",
                    "title": "Betfair",
                    "markets": [
                        {
                            "key": "h2h",
                            "outcomes": [
                                _outcome("Fulham", 1.0),  # below 1.01
                                _outcome("Aston Villa", float("nan")),
                                _outcome("Draw", 3.2),
                                _outcome("Brentford", 2.0),  # not in this game
                            ],
                        },
                        {"key": "h2h_lay", "outcomes": [_outcome("Fulham", 2.6)]},
                        {
                            "key": "spreads",
                            "outcomes": [
                                _outcome("Fulham", 1.9),  # a spread needs its point
                                _outcome("Aston Villa", 1.95, 0.5),
                                _outcome("Draw", 3.0, 0.0),  # no draw side on a spread
                            ],
                        },
                        {
                            "key": "totals",
                            "outcomes": [
                                _outcome("Over", 1.9, 2.5),
                                _outcome("Under", float("inf"), 2.5),
                                _outcome("Exactly", 9.0, 2.5),
                            ],
                        },
                    ],
                },
                {"key": "nobody", "markets": [{"key": "h2h", "outcomes": [_outcome("Draw", 1.0)]}]},
            ],
        ),
        _event(home_team=None),
        {"sport_key": "soccer_epl"},
        _event(home_team="Chelsea", away_team="Chelsea"),
    ]
    recorder = serve(json.dumps(body).encode())
    async with recorder.client() as http:
        with caplog.at_level(logging.WARNING):
            events = await odds_client(http).odds(League.EPL)

    assert events == [
        EventOdds(
            "Fulham",
            "Aston Villa",
            dt.datetime(2024, 10, 19, 14, 0, tzinfo=UTC),
            (
                BookOdds(
                    "betfair_ex_uk",
                    prices(
                        (ML, DRAW, None, 3.2),
                        (SPREAD, AWAY, 0.5, 1.95),
                        (TOTAL, OVER, 2.5, 1.9),
                    ),
                ),
            ),
        )
    ]
    assert skipped_logs(caplog, "odds_events_skipped") == [{"league": "epl", "skipped": 3}]


async def test_odds_cached_for_the_ttl_then_asked_again() -> None:
    clock = FakeClock()
    recorder = serve(fixture("theodds_nba.json"), headers=HEADERS)
    async with recorder.client() as http:
        client = odds_client(http, cache_ttl_seconds=900.0, clock=clock)
        first = await client.odds(League.NBA)
        first.clear()  # the caller's list is its own: the cache is not touched
        clock.now += 899.0
        second = await client.odds(League.NBA)
        assert len(recorder.requests) == 1
        assert len(second) == 3
        clock.now += 1.0
        third = await client.odds(League.NBA)
    assert len(recorder.requests) == 2
    assert third == second


async def test_odds_cache_is_per_league() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        name = "theodds_nba.json" if "basketball_nba" in request.url.path else "theodds_epl.json"
        return json_response(fixture(name))

    recorder = Recorder(answer)
    async with recorder.client() as http:
        client = odds_client(http, clock=FakeClock())
        nba = await client.odds(League.NBA)
        epl = await client.odds(League.EPL)
        assert await client.odds(League.NBA) == nba
        assert await client.odds(League.EPL) == epl
    assert [r.url.path for r in recorder.requests] == [
        "/v4/sports/basketball_nba/odds",
        "/v4/sports/soccer_epl/odds",
    ]
    assert nba[0].home_team == "Boston Celtics"
    assert epl[0].home_team == "Tottenham Hotspur"


async def test_odds_concurrent_calls_share_one_request() -> None:
    seen: list[httpx.Request] = []
    callers = 5
    asked = 0
    all_asked = asyncio.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await all_asked.wait()  # in flight until every caller has asked for the odds
        return json_response(fixture("theodds_nba.json"), headers=HEADERS)

    async with httpx.AsyncClient(transport=httpx.MockTransport(held)) as http:
        client = OddsApiClient(http, api_key=API_KEY, clock=FakeClock())

        async def ask() -> list[EventOdds]:
            nonlocal asked
            asked += 1
            if asked == callers:
                all_asked.set()
            return await client.odds(League.NBA)

        async with asyncio.timeout(10):
            answers = await asyncio.gather(*(ask() for _ in range(callers)))
    assert len(seen) == 1
    assert len(answers) == 5
    assert all(a == answers[0] and len(a) == 3 for a in answers)


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, "INVALID_KEY"), (429, "OUT_OF_USAGE_CREDITS"), (500, None)],
)
async def test_odds_http_errors_name_league_and_status_never_the_key(
    caplog: pytest.LogCaptureFixture, status: int, code: str | None
) -> None:
    # Worst case: the API echoes the key back in its error message.
    body: dict[str, Any] = {"message": f"API key {API_KEY} is not valid"}
    if code is not None:
        body["error_code"] = code
    recorder = serve(json.dumps(body).encode(), status, {"x-requests-remaining": "0"})
    caplog.set_level(logging.DEBUG)
    async with recorder.client() as http:
        client = odds_client(http, clock=FakeClock())
        with pytest.raises(SourceError) as caught:
            await client.odds(League.NBA)
        with pytest.raises(SourceError):
            await client.odds(League.NBA)  # failures are not cached: asked again

    message = str(caught.value)
    assert f"the-odds-api nba /v4/sports/basketball_nba/odds: HTTP {status}" in message
    if code is not None:
        assert code in message
    assert API_KEY not in message
    assert API_KEY not in repr(caught.value)
    assert "apiKey" not in message
    assert API_KEY not in caplog.text
    assert len(recorder.requests) == 2
    assert client.requests_remaining == 0


async def test_odds_transport_error_is_scrubbed_and_not_chained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        # Worst case again: the transport's message carries the full URL.
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    caplog.set_level(logging.DEBUG)
    async with Recorder(refuse).client() as http:
        with pytest.raises(SourceError) as caught:
            await odds_client(http).odds(League.UCL)

    message = str(caught.value)
    assert "the-odds-api ucl" in message
    assert "ConnectError" in message
    assert "apiKey=<redacted>" in message
    assert API_KEY not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("body", "says"),
    [(b"not json at all", "no JSON"), (b'{"message": "Unknown sport"}', "not a list of events")],
)
async def test_odds_unusable_answers_are_source_errors(body: bytes, says: str) -> None:
    recorder = serve(body)
    async with recorder.client() as http:
        with pytest.raises(SourceError) as caught:
            await odds_client(http).odds(League.MLS)
    assert says in str(caught.value)
    assert "the-odds-api mls /v4/sports/soccer_usa_mls/odds" in str(caught.value)
    assert API_KEY not in str(caught.value)


async def test_odds_key_is_out_of_httpx_log_lines_and_the_repr(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = serve(fixture("theodds_nba.json"), headers=HEADERS)
    caplog.set_level(logging.DEBUG)
    # Other imports (bittensor) may have quietened httpx's logger: open it for this test.
    caplog.set_level(logging.DEBUG, logger="httpx")
    async with recorder.client() as http:
        client = odds_client(http)
        await client.odds(League.NBA)

    httpx_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert httpx_lines, "httpx logs each request; the filter must have seen one"
    assert all("apiKey=<redacted>" in line for line in httpx_lines)
    assert API_KEY not in caplog.text
    assert all(API_KEY not in r.getMessage() for r in caplog.records)
    fetched = skipped_logs(caplog, "odds_fetched")
    assert fetched == [{"league": "nba", "events": 3, "requests_remaining": 491}]
    assert API_KEY not in repr(client)
    assert "api.the-odds-api.com" in repr(client)


async def test_odds_client_refuses_an_empty_key() -> None:
    recorder = serve(b"[]")
    async with recorder.client() as http:
        with pytest.raises(ValueError, match="key is empty"):
            OddsApiClient(http, api_key="")
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("league", "sport_key"),
    [
        (League.NFL, "americanfootball_nfl"),
        (League.NBA, "basketball_nba"),
        (League.MLB, "baseball_mlb"),
        (League.NHL, "icehockey_nhl"),
        (League.EPL, "soccer_epl"),
        (League.UCL, "soccer_uefa_champs_league"),
        (League.UEL, "soccer_uefa_europa_league"),
        (League.ESP, "soccer_spain_la_liga"),
        (League.DEB, "soccer_germany_bundesliga"),
        (League.ITSA, "soccer_italy_serie_a"),
        (League.FRL1, "soccer_france_ligue_one"),
        (League.MLS, "soccer_usa_mls"),
        (League.NLE, "soccer_netherlands_eredivisie"),
    ],
)
async def test_odds_sport_key_of_every_league(league: League, sport_key: str) -> None:
    recorder = serve(b"[]")
    async with recorder.client() as http:
        client = OddsApiClient(
            http, api_key=API_KEY, base_url="https://odds.test/v4/", regions="eu"
        )
        assert await client.odds(league) == []
    [request] = recorder.requests
    assert str(request.url.copy_with(query=None)) == f"https://odds.test/v4/sports/{sport_key}/odds"
    assert request.url.params["regions"] == "eu"
