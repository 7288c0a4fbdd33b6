"""The built-in pricing engine end to end: a real LocalValidator over real Axons and
Dendrites on loopback, a real `MinerApp` on SQLite, and a real HTTP server on 127.0.0.1
standing in for ESPN's public scoreboard.

Proves issue 6's claims: the runtime back-fills the results history of the leagues it has
markets in, fits ratings on it (a team that always wins by a dozen is priced as the
favourite away from home, which the priors alone never would), prices every market kind,
and pushes the final result of a started event, matched by full team names with aliases
(ESPN's "LA Clippers" is the validator's "Los Angeles Clippers"), fetched after the start.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bittensor_wallet import Keypair

from miner_runtime.app import MinerApp
from miner_runtime.pacing import Cadence
from sparket_local_services.ports import free_port
from sparket_local_services.waits import until
from sparket_local_validator.ingest import Catalog, Event, Market
from sparket_local_validator.mock_chain import chain_view
from sparket_local_validator.server import LocalValidator
from sparket_testkit.harness.miner_app import (
    AppFactory,
    MinerUnderTest,
    assert_nothing_counted_against_us,
)

HOUR = 3600.0
SCOREBOARD = "/basketball/nba/scoreboard"
CELTICS = "Boston Celtics"
OTHERS = ("LA Clippers", "Miami Heat", "New York Knicks", "Los Angeles Lakers", "Milwaukee Bucks")
HISTORY_GAMES = 80

# Event 1 starts a few seconds after the miner first syncs games; its final score is
# served (as ESPN would) only once it has started.
FIRST_START_DELAY = 6.0
EVENT_1, EVENT_2 = 1, 2
ML_2, SPREAD_2, TOTAL_2 = 201, 202, 203

CADENCE = Cadence(
    chain_sync_seconds=0.5,
    game_sync_seconds=2.0,
    odds_seconds=2.0,
    outcome_seconds=1.0,
    jitter_seconds=0.0,
)


# ---- the fake ESPN ---------------------------------------------------------------------


@dataclass(frozen=True)
class Final:
    game_id: int
    start: dt.datetime
    home: str
    away: str
    score_home: int
    score_away: int
    # Not on the scoreboard before this time (time.time()): a final exists once it started.
    shown_from: float = 0.0

    def as_espn(self) -> dict[str, Any]:
        """The event as ESPN's site API writes it (the fields the runtime reads, and a few)."""

        def competitor(side: str, team: str, score: int) -> dict[str, Any]:
            return {
                "type": "team",
                "homeAway": side,
                "team": {"displayName": team, "shortDisplayName": team.split()[-1]},
                "score": str(score),
                "winner": score == max(self.score_home, self.score_away),
            }

        status = {
            "clock": 0.0,
            "displayClock": "0.0",
            "period": 4,
            "type": {
                "id": "3",
                "name": "STATUS_FINAL",
                "state": "post",
                "completed": True,
                "description": "Final",
            },
        }
        when = self.start.strftime("%Y-%m-%dT%H:%MZ")
        return {
            "id": str(self.game_id),
            "date": when,
            "name": f"{self.away} at {self.home}",
            "competitions": [
                {
                    "id": str(self.game_id),
                    "date": when,
                    "competitors": [
                        competitor("home", self.home, self.score_home),
                        competitor("away", self.away, self.score_away),
                    ],
                    "status": status,
                }
            ],
            "status": status,
        }


def history(now: dt.datetime) -> list[Final]:
    """~80 finals over the past 100 days among six teams: the Celtics win every game by
    about 12; the others beat each other at random, by a few points."""
    rng = random.Random(6)
    teams = (CELTICS, *OTHERS)
    pairs = [(a, b) for i, a in enumerate(teams) for b in teams[i + 1 :]]
    first = (now - dt.timedelta(days=100)).replace(hour=0, minute=30, second=0, microsecond=0)
    games: list[Final] = []
    for n in range(HISTORY_GAMES):
        one, other = pairs[n % len(pairs)]
        home, away = (one, other) if n % 2 else (other, one)
        loser_score = rng.randint(95, 110)
        if CELTICS in (home, away):
            home_won, margin = home == CELTICS, rng.randint(10, 14)
        else:
            home_won, margin = rng.random() < 0.55, rng.randint(1, 9)
        winner_score = loser_score + margin
        games.append(
            Final(
                game_id=401_000_000 + n,
                start=first + dt.timedelta(hours=30 * n),
                home=home,
                away=away,
                score_home=winner_score if home_won else loser_score,
                score_away=loser_score if home_won else winner_score,
            )
        )
    return games


@dataclass
class FakeEspn:
    """ESPN's scoreboard on a free loopback port; keeps every request it answered."""

    games: list[Final]
    # (client IP, path, query, time.time()) of every request answered.
    requests: list[tuple[str, str, dict[str, list[str]], float]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def scoreboard(self, query: dict[str, list[str]]) -> dict[str, Any] | None:
        dates = query.get("dates", [""])[0]
        try:
            first, last = (dt.datetime.strptime(d, "%Y%m%d").date() for d in dates.split("-"))
        except ValueError:
            return None
        now = time.time()
        return {
            "leagues": [{"id": "46", "abbreviation": "NBA", "slug": "nba"}],
            "events": [
                g.as_espn()
                for g in self.games
                if first <= g.start.date() <= last and g.shown_from <= now
            ],
        }

    def start(self) -> None:
        espn = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                espn.requests.append((self.client_address[0], url.path, query, time.time()))
                body = espn.scoreboard(query) if url.path == SCOREBOARD else None
                if body is None:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True, name="espn").start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def espn() -> Iterator[FakeEspn]:
    fake = FakeEspn(history(dt.datetime.now(dt.UTC)))
    fake.start()
    yield fake
    fake.stop()


# ---- the validator ---------------------------------------------------------------------


@pytest.fixture
def validator(miner: MinerUnderTest) -> Iterator[LocalValidator]:
    """One local validator (permit, stake, served axon) on the miner's netuid; its catalog
    starts with event 2 (30 h out, three markets); the test adds event 1."""
    subnet = miner.subnet
    keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    port = free_port()
    subnet.chain.register(
        keypair.ss58_address,
        Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address,
        stake=1000.0,
        validator_permit=True,
        axon=("127.0.0.1", port),
    )
    view = chain_view(subnet.chain.subtensor, subnet.netuid)
    catalog = Catalog(
        [
            Event(
                event_id=EVENT_2,
                start=time.time() + 30 * HOUR,
                home_team="Miami Heat",
                away_team=CELTICS,
                league="nba",
                sport="nba",
                markets=(
                    Market(ML_2),
                    Market(SPREAD_2, "SPREAD", 4.5),  # Miami receives 4.5 points
                    Market(TOTAL_2, "TOTAL", 221.5),
                ),
            )
        ]
    )
    started = LocalValidator(
        keypair,
        port=port,
        registered_hotkeys=view.registered_hotkeys,
        push_targets=view.push_targets,
        catalog=catalog,
        push_interval_seconds=1.0,
    )
    started.start()
    yield started
    started.stop()


def stored_odds(validator: LocalValidator, hotkey: str) -> dict[int, dict[str, float]]:
    """market_id -> side -> the first odds the validator stored from `hotkey`."""
    odds: dict[int, dict[str, float]] = {}
    for row in validator.odds_rows:
        if row.hotkey == hotkey:
            odds.setdefault(row.market_id, {}).setdefault(row.side, row.odds_eu)
    return odds


# ---- the test --------------------------------------------------------------------------


async def test_fits_on_espn_history_prices_and_pushes_a_matched_outcome(
    miner: MinerUnderTest, start_app: AppFactory, validator: LocalValidator, espn: FakeEspn
) -> None:
    # Event 1 is in game data when the miner first syncs, then starts; ESPN has its final
    # (spelled "LA Clippers") only from then on.
    first_start = time.time() + FIRST_START_DELAY
    validator.add_event(
        Event(
            event_id=EVENT_1,
            start=first_start,
            home_team="Los Angeles Clippers",
            away_team=CELTICS,
            league="nba",
            sport="nba",
            markets=(Market(101),),
        )
    )
    espn.games.append(
        Final(
            game_id=401_999_999,
            start=dt.datetime.fromtimestamp(first_start, dt.UTC),
            home="LA Clippers",
            away=CELTICS,
            score_home=101,
            score_away=99,
            shown_from=first_start,
        )
    )
    settings = miner.settings.model_copy(
        update={
            "pricing": miner.settings.pricing.model_copy(
                update={"results_source": "espn", "espn_base_url": espn.base_url}
            )
        }
    )
    app: MinerApp = await start_app(settings, cadence=CADENCE)
    hotkey = app.hotkey

    # (a) Every market of event 2 priced from the fitted ratings and stored.
    await until(
        lambda: {ML_2, SPREAD_2, TOTAL_2} <= set(stored_odds(validator, hotkey)),
        within=30,
        what="event 2's three markets stored",
    )
    # (b) Event 1's final, fetched after its start, matched and stored by the validator.
    await until(
        lambda: any(r.event_id == EVENT_1 for r in validator.outcome_rows),
        within=30,
        what="event 1's outcome stored",
    )
    odds = stored_odds(validator, hotkey)
    assert set(odds[ML_2]) == {"HOME", "AWAY"}
    assert set(odds[SPREAD_2]) == {"HOME", "AWAY"}
    assert set(odds[TOTAL_2]) == {"OVER", "UNDER"}
    # The priors favour the home side; the history makes the visiting Celtics favourites.
    assert odds[ML_2]["AWAY"] < odds[ML_2]["HOME"], odds[ML_2]
    # ... by more than 4.5 points, too.
    assert odds[SPREAD_2]["AWAY"] < odds[SPREAD_2]["HOME"], odds[SPREAD_2]

    [outcome] = [r for r in validator.outcome_rows if r.event_id == EVENT_1]
    assert (outcome.hotkey, outcome.result) == (hotkey, "home")
    assert (outcome.score_home, outcome.score_away) == (101, 99)
    assert validator.outcome_rejections == []

    # (c) The engine reports a full, fitted history.
    pricing = app.status_document().model_dump(mode="json")["pricing"]
    assert pricing["engine"] == "builtin", pricing
    assert pricing["degraded"] is False, pricing
    assert pricing["history_games"]["nba"] >= 50, pricing
    assert pricing["fitted_at"] is not None, pricing

    # ESPN was asked (only here, on loopback): the back-fill, then after event 1's start.
    assert espn.requests, "ESPN was never asked"
    assert {(r[0], r[1]) for r in espn.requests} == {("127.0.0.1", SCOREBOARD)}
    assert all(r[2]["limit"] == ["1000"] for r in espn.requests)
    before = [r for r in espn.requests if r[3] < first_start]
    assert len(before) >= 13  # the 400-day back-fill, in 31-day chunks
    assert any(r[3] >= first_start for r in espn.requests)  # fresh scores after the start

    # (d) Nothing counted against the miner.
    assert_nothing_counted_against_us(app, validator)
    assert app.status_document().submissions.rejected == 0
