"""The submitter's rules against a real store (SQLite and PostgreSQL), with a scripted link.

The link here is a stand-in that records requests and answers as a validator would, and
the budgets are the in-process backend on the test's clock; the same rules are exercised
end to end against the local validator (and Redis) in integration/ and budget/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Budgets
from miner_runtime.protocol.markets import ActiveMarket
from miner_runtime.protocol.messages import Game, League
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.storage import Stores
from miner_runtime.submission.gate import Gate
from miner_runtime.submission.outcomes import EventResult
from miner_runtime.submission.status import WorkStatus
from miner_runtime.submission.submitter import Submitter
from miner_runtime.validator_client.selection import NeuronView
from sparket_testkit.harness.moving_engine import MovingEngine
from sparket_testkit.harness.scripted_link import ACCEPTED, NOW, Clock, ScriptedLink

V1 = NeuronView(uid=1, hotkey="5Validator1", validator_permit=True, ip="127.0.0.1", port=9001)
V2 = NeuronView(uid=2, hotkey="5Validator2", validator_permit=True, ip="127.0.0.1", port=9002)
TOKEN_A, TOKEN_B = "a" * 64, "b" * 64


def submitter_on(stores: Stores, gate: Gate, **options: Any) -> Submitter:
    """A submitter on the stores it uses (games, odds and outcome sends)."""
    return Submitter(
        games=stores.games, odds=stores.odds, outcomes=stores.outcomes, gate=gate, **options
    )


def gate_for(link: ScriptedLink, clock: Clock) -> Gate:
    return Gate(
        link=link,
        coordinator=MemoryCoordinator(Budgets(), clock_ms=clock.ms),
        hotkey="5Miner",
        egress_ip="127.0.0.2",
        now=clock,
        sleep=clock.sleep,
    )


def games(count: int, markets_per_game: int = 2) -> list[Game]:
    return [
        Game.model_validate(
            {
                "event_id": e,
                "home_team": "Kansas City Chiefs",
                "away_team": "Buffalo Bills",
                "start_time_utc": (NOW + dt.timedelta(hours=e + 1)).isoformat(),
                "league": "nfl",
                "sport": "nfl",
                "markets": [
                    {
                        "market_id": e * 10 + m,
                        "kind": ("MONEYLINE", "TOTAL")[m % 2],
                        "line": (None, 45.5)[m % 2],
                    }
                    for m in range(markets_per_game)
                ],
            }
        )
        for e in range(1, count + 1)
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def link() -> ScriptedLink:
    return ScriptedLink()


@pytest.fixture
def engine() -> MovingEngine:
    return MovingEngine()


@pytest.fixture
async def submitter(
    stores: Stores, link: ScriptedLink, clock: Clock, engine: MovingEngine
) -> AsyncIterator[Submitter]:
    stores.games.upsert_games(games(60), NOW)  # 120 markets
    gate = gate_for(link, clock)
    await gate.token_received(V1.hotkey, TOKEN_A, NOW)
    await gate.token_received(V2.hotkey, TOKEN_B, NOW)
    yield submitter_on(stores, gate, pricing=engine, batch_size=50, now=clock)


async def test_cycle_batches_every_market_then_sends_only_changes(
    submitter: Submitter, link: ScriptedLink, clock: Clock, engine: MovingEngine
) -> None:
    report = await submitter.odds_cycle([V1])
    assert (report.markets, report.batches, report.submitted, report.skipped) == (120, 3, 120, 0)
    sizes = [len(p["submissions"]) for p in link.pushes(V1)]
    assert sizes == [50, 50, 20]
    assert all(p["token"] == TOKEN_A for p in link.pushes(V1))

    clock.advance(900)
    again = await submitter.odds_cycle([V1])
    assert (again.batches, again.submitted, again.skipped) == (0, 0, 120)

    clock.advance(900)
    engine.shift = 0.01
    moved = await submitter.odds_cycle([V1])
    assert (moved.batches, moved.submitted) == (3, 120)


async def test_each_validator_gets_its_own_token(submitter: Submitter, link: ScriptedLink) -> None:
    await submitter.odds_cycle([V1, V2])
    assert {p["token"] for p in link.pushes(V1)} == {TOKEN_A}
    assert {p["token"] for p in link.pushes(V2)} == {TOKEN_B}


async def test_token_invalid_parks_that_validator_until_a_new_token(
    submitter: Submitter, link: ScriptedLink, clock: Clock, stores: Stores
) -> None:
    invalid = {"success": False, "error": "token_invalid", "message": "Token expired or invalid"}
    link.answer = lambda v, t, p: (200, None, invalid if v == V1 else ACCEPTED)
    report = await submitter.odds_cycle([V1, V2])
    assert len(link.pushes(V1)) == 1  # one failure, then nothing
    assert len(link.pushes(V2)) == 3
    assert report.submitted == 120
    assert stores.odds.pending_odds_sends() == []  # the refused batch is failed, not in doubt

    clock.advance(900)
    await submitter.odds_cycle([V1])
    assert len(link.pushes(V1)) == 1  # still parked: no token worth sending

    assert await submitter.gate.token_received(V1.hotkey, TOKEN_B, clock.now)
    link.answer = lambda v, t, p: (200, None, ACCEPTED)
    caught_up = await submitter.odds_cycle([V1])
    assert caught_up.submitted == 120  # the refused markets were not lost


async def test_cooldown_pauses_that_validator_for_the_stated_wait(
    submitter: Submitter, link: ScriptedLink, clock: Clock, engine: MovingEngine
) -> None:
    link.answer = lambda v, t, p: (
        (429, "You are in cooldown. Try again in 240s seconds", p)
        if v == V1
        else (200, None, ACCEPTED)
    )
    await submitter.odds_cycle([V1, V2])
    assert len(link.pushes(V1)) == 1
    link.answer = lambda v, t, p: (200, None, ACCEPTED)
    engine.shift = 0.01

    clock.advance(240)  # stated 240 s: the +1 s margin is not over yet
    await submitter.odds_cycle([V1])
    assert len(link.pushes(V1)) == 1
    clock.advance(1)
    report = await submitter.odds_cycle([V1])
    assert len(link.pushes(V1)) == 4 and report.submitted == 120


async def test_a_timeout_leaves_rows_in_doubt_and_never_resends_them(
    submitter: Submitter, link: ScriptedLink, clock: Clock, stores: Stores
) -> None:
    link.answer = lambda v, t, p: (408, "Timeout", p)  # the Dendrite echoes our payload
    report = await submitter.odds_cycle([V1])
    assert report.submitted == 0
    in_doubt = stores.odds.pending_odds_sends(V1.hotkey)
    assert len({row.market_id for row in in_doubt}) == 50  # one batch, then the pause
    submitter.gate.backoff = type(submitter.gate.backoff)()  # forget the pause for this test
    link.answer = lambda v, t, p: (200, None, ACCEPTED)
    clock.advance(900)
    report = await submitter.odds_cycle([V1])
    assert report.submitted == 70
    assert report.skipped == 50  # the in-doubt batch counts as stored: not sent twice


@pytest.mark.parametrize(
    ("status", "message", "resent"),
    [
        # bittensor's ClientConnectorError: the connection failed, nothing was delivered.
        (503, "Service unavailable at 127.0.0.1:9001/SparketSynapse", 120),
        # A dropped connection may have been processed: in doubt, like a timeout.
        (503, "Service disconnected: Server disconnected", 70),
    ],
)
async def test_a_refused_connection_frees_its_rows_a_dropped_one_does_not(
    submitter: Submitter,
    link: ScriptedLink,
    clock: Clock,
    stores: Stores,
    status: int,
    message: str,
    resent: int,
) -> None:
    """A validator restarting refuses connections for a moment: the batch never reached
    it, so the same prices go again in the same minute once it is back."""
    link.answer = lambda v, t, p: (status, message, p)
    await submitter.odds_cycle([V1])
    submitter.gate.backoff = type(submitter.gate.backoff)()  # forget the pause for this test
    link.answer = lambda v, t, p: (200, None, ACCEPTED)
    clock.advance(10)  # past the IP's 2 s pause; the same 60 s bucket, the same prices
    report = await submitter.odds_cycle([V1])
    assert report.submitted == resent


async def test_no_token_means_no_pushes_but_game_data_flows(
    stores: Stores, link: ScriptedLink, clock: Clock
) -> None:
    snapshot = {
        "games": [g.model_dump(mode="json") for g in games(2)],
        "retrieved_at": NOW.isoformat(),
        "window": {"lookahead_days": 14, "odds_window_days": 7},
    }
    link.answer = lambda v, t, p: (200, None, snapshot)
    submitter = submitter_on(
        stores, gate_for(link, clock), pricing=MovingEngine(), batch_size=50, now=clock
    )
    assert await submitter.sync_games([V1]) == 2
    assert len(stores.games.active_markets(NOW)) == 4
    report = await submitter.odds_cycle([V1])
    assert report.batches == 0
    assert [t for _, t, _ in link.sent] == [SynapseType.GAME_DATA_REQUEST]


async def test_outcomes_go_once_per_validator_unless_the_result_changes(
    submitter: Submitter, link: ScriptedLink, clock: Clock
) -> None:
    clock.advance(3 * 3600)  # events 1 and 2 have started; tokens rotated meanwhile
    await submitter.gate.token_received(V1.hotkey, "c" * 64, clock.now)
    await submitter.gate.token_received(V2.hotkey, "d" * 64, clock.now)
    results = [EventResult(event_id=1, result="home", score_home=24, score_away=17)]
    assert await submitter.push_outcomes([V1, V2], results) == 2
    assert await submitter.push_outcomes([V1, V2], results) == 0
    corrected = [EventResult(event_id=1, result="away", score_home=17, score_away=24)]
    assert await submitter.push_outcomes([V1, V2], corrected) == 2
    sent = [p for _, t, p in link.sent if t is SynapseType.OUTCOME_PUSH]
    # The two validators are pushed to concurrently: find V1's first push by its token.
    first_to_v1 = next(p for p in sent if p["token"] == "c" * 64)
    assert first_to_v1 == {
        "event_id": 1,
        "token": "c" * 64,
        "result": "home",
        "score_home": 24,
        "score_away": 17,
    }
    assert len(sent) == 4


async def test_active_markets_are_only_the_next_seven_days(stores: Stores) -> None:
    far = games(1)[0].model_copy(
        update={"event_id": 99, "start_time_utc": NOW + dt.timedelta(days=8), "markets": ()}
    )
    stores.games.upsert_games([*games(1), far], NOW)
    markets: list[ActiveMarket] = stores.games.active_markets(NOW)
    assert {m.event_id for m in markets} == {1}


async def test_only_the_configured_leagues_are_priced(
    stores: Stores, link: ScriptedLink, clock: Clock, engine: MovingEngine
) -> None:
    nfl = games(3)
    nba = [
        g.model_copy(update={"event_id": g.event_id + 100, "league": League.NBA}) for g in games(2)
    ]
    stores.games.upsert_games([*nfl, *nba], NOW)
    gate = gate_for(link, clock)
    await gate.token_received(V1.hotkey, TOKEN_A, NOW)
    only_nba = submitter_on(
        stores, gate, pricing=engine, batch_size=50, leagues=[League.NBA], now=clock
    )
    report = await only_nba.odds_cycle([V1])
    assert report.markets == 4
    sent = {s["market_id"] for p in link.pushes(V1) for s in p["submissions"]}
    assert sent == {m.market_id for g in nba for m in g.markets}


def test_last_hour_counts_only_replies_of_the_last_hour() -> None:
    status = WorkStatus()
    status.accepted("v1", NOW)
    status.rejected("v1", "rate_limited", NOW + dt.timedelta(minutes=30))
    status.accepted("v2", NOW + dt.timedelta(minutes=50))
    assert status.last_hour(NOW + dt.timedelta(minutes=55)) == (2, 1)
    assert status.last_hour(NOW + dt.timedelta(minutes=61)) == (1, 1)
    assert status.last_hour(NOW + dt.timedelta(minutes=111)) == (0, 0)
    assert status.tallies["v1"].accepted == 1  # totals are kept; only the window forgets


async def test_game_sync_keeps_what_it_knows_and_counts_the_rest_by_reason(
    stores: Stores, link: ScriptedLink, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """A validator added a league, a market kind and a field, and sent one game our store
    cannot hold: the rest is synced, the skips are counted, each new reason logged once."""
    raw_games = [g.model_dump(mode="json") for g in games(100)]
    for raw in raw_games[9::10]:
        raw.update(league="ncaaf", sport="cfb")
    raw_games[0]["markets"].append({"market_id": 5000, "kind": "PLAYER_PROP", "line": 0.5})
    raw_games[1]["broadcast"] = {"tv": "CBS"}
    raw_games[2]["home_team"] = "x" * 300  # VARCHAR(255): PostgreSQL would refuse the write
    snapshot = {"games": raw_games, "retrieved_at": NOW.isoformat(), "new_section": [1]}
    link.answer = lambda v, t, p: (200, None, snapshot)
    submitter = submitter_on(
        stores, gate_for(link, clock), pricing=MovingEngine(), batch_size=50, now=clock
    )
    expected = {"unknown_league": 10, "unknown_kind": 1, "malformed_game": 1}

    with caplog.at_level("WARNING", logger="miner_runtime.submission.submitter"):
        assert await submitter.sync_games([V1]) == 89
        clock.advance(300)
        assert await submitter.sync_games([V1]) == 89  # the next sync: same snapshot

    active = stores.games.active_markets(clock.now)
    assert len(active) == 89 * 2  # every known market of every known game, none other
    assert {m.event_id for m in active}.isdisjoint({10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 3})
    assert 5000 not in {m.market_id for m in active}
    assert submitter.status.games_synced == 89
    assert submitter.status.games_skipped == expected  # the last reply's, not a running sum
    metric = submitter.metrics.registry.get_sample_value
    for reason, count in expected.items():
        assert metric("sparket_miner_game_data_skipped_total", {"reason": reason}) == 2 * count
    logged = [r for r in caplog.records if r.getMessage() == "fetch_game_data_skipped"]
    assert sorted(r.sparket_fields["reason"] for r in logged) == sorted(expected)  # type: ignore[attr-defined]
    assert {r.sparket_fields["example"] for r in logged} >= {"ncaaf", "PLAYER_PROP"}  # type: ignore[attr-defined]
