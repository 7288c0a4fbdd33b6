"""Ingest: what accepted odds and outcome pushes actually store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sparket_local_validator.clock import FakeClock
from sparket_local_validator.engine import ValidatorEngine
from sparket_local_validator.failures import FailureType
from sparket_local_validator.ingest import Catalog, Event, OddsIngest, OutcomeIngest

HOUR = 3600.0
DAY = 86400.0


@pytest.fixture
def catalog(clock: FakeClock) -> Catalog:
    now = clock.now()
    return Catalog(
        [
            Event(1, now + DAY, market_ids=(10, 11)),
            Event(2, now + 8 * DAY, market_ids=(20,)),
            Event(3, now - HOUR, status="in_play", market_ids=(30,)),
            Event(4, now + HOUR, status="postponed", market_ids=(40,)),
        ]
    )


@pytest.fixture
def odds(clock: FakeClock, catalog: Catalog) -> OddsIngest:
    return OddsIngest(clock, catalog, is_known_miner=lambda hotkey: hotkey != "ghost")


def push(market_id: object = 10, **prices: object) -> dict[str, object]:
    sides = prices or {"home": 1.9, "away": 2.0}
    return {
        "submissions": [
            {
                "market_id": market_id,
                "prices": [{"side": s, "odds_eu": o} for s, o in sides.items()],
            }
        ]
    }


def test_one_row_per_side_stored_uppercase(odds: OddsIngest) -> None:
    odds("hk00", push())
    assert [(r.market_id, r.side, r.odds_eu) for r in odds.rows] == [
        (10, "HOME", 1.9),
        (10, "AWAY", 2.0),
    ]


@pytest.mark.parametrize("market_id", [20, 30, 40, 99])
def test_markets_outside_the_odds_window_are_dropped(odds: OddsIngest, market_id: int) -> None:
    odds("hk00", push(market_id))
    assert odds.rows == []


def test_odds_window_edges(clock: FakeClock) -> None:
    now = clock.now()
    catalog = Catalog([Event(1, now, market_ids=(1,)), Event(2, now + 7 * DAY, market_ids=(2,))])
    odds = OddsIngest(clock, catalog)
    odds("hk00", push(1))
    odds("hk00", push(2))
    assert {r.market_id for r in odds.rows} == {1, 2}


@pytest.mark.parametrize(
    ("price", "stored"),
    [
        (1.01, True),
        (1000, True),
        ("2.5", True),
        (1.0, False),
        (1000.01, False),
        (float("nan"), False),
        (float("inf"), False),
        ("abc", False),
        (None, False),
        (True, False),
    ],
)
def test_price_bounds_drop_only_that_side(odds: OddsIngest, price: object, stored: bool) -> None:
    odds("hk00", push(home=price, away=2.0))
    assert [r.side for r in odds.rows] == (["HOME", "AWAY"] if stored else ["AWAY"])


def test_unknown_sides_are_dropped(odds: OddsIngest) -> None:
    odds("hk00", push(Draw=3.0, left=2.0))
    assert [r.side for r in odds.rows] == ["DRAW"]


def test_the_kind_sent_is_kept_as_sent_and_never_checked(odds: OddsIngest) -> None:
    """Upstream keeps it in the row's payload; markets are matched by id alone."""
    with_kind = push(10)
    submissions = with_kind["submissions"]
    assert isinstance(submissions, list)
    submissions[0]["kind"] = "PLAYER_PROP"  # market 10 is a moneyline
    odds("hk00", with_kind)
    odds("hk01", push(11))  # no kind at all
    assert [(r.hotkey, r.market_id, r.kind) for r in odds.rows] == [
        ("hk00", 10, "PLAYER_PROP"),
        ("hk00", 10, "PLAYER_PROP"),
        ("hk01", 11, None),
        ("hk01", 11, None),
    ]


def test_first_submission_per_minute_bucket_wins(odds: OddsIngest, clock: FakeClock) -> None:
    clock.set((clock.now() // 60 + 1) * 60)  # start of a bucket
    odds("hk00", push(home=1.5))
    clock.advance(59)
    odds("hk00", push(home=1.7))
    assert [r.odds_eu for r in odds.rows] == [1.5]
    odds("hk01", push(home=1.8))  # another hotkey has its own rows
    clock.advance(1)
    odds("hk00", push(home=1.9))
    assert [r.odds_eu for r in odds.rows] == [1.5, 1.8, 1.9]


def test_daily_cap_per_market_is_checked_once_per_request(clock: FakeClock) -> None:
    start = clock.now()
    odds = OddsIngest(clock, Catalog([Event(1, start + 6 * DAY, market_ids=(10, 11))]))
    for _ in range(99):
        odds("hk00", push())
        clock.advance(60)
    assert odds.stored_in_last_day("hk00", 10) == 198
    odds("hk00", push(home=1.9, away=2.0, draw=3.0))  # 198 < 200: all three go in
    assert odds.stored_in_last_day("hk00", 10) == 201
    clock.advance(60)
    odds("hk00", push())
    assert odds.stored_in_last_day("hk00", 10) == 201  # over the cap: silently dropped
    odds("hk00", push(11))
    assert odds.stored_in_last_day("hk00", 11) == 2  # the cap is per market
    clock.set(start + DAY)  # the first request's two rows roll out: 199 left
    odds("hk00", push())
    assert odds.stored_in_last_day("hk00", 10) == 201


def test_priced_at_far_from_receipt_is_stored_as_none(odds: OddsIngest, clock: FakeClock) -> None:
    near = datetime.fromtimestamp(clock.now() - 300, UTC).isoformat()
    far = datetime.fromtimestamp(clock.now() + 301, UTC).replace(tzinfo=None).isoformat()
    for priced_at, market_id in ((near, 10), (far, 11), ("garbage", 10)):
        payload = push(market_id)
        payload["submissions"][0]["priced_at"] = priced_at  # type: ignore[index]
        odds("hk00", payload)
    assert [r.priced_at for r in odds.rows] == [clock.now() - 300, clock.now() - 300, None, None]


def test_unknown_miner_stores_nothing(odds: OddsIngest) -> None:
    odds("ghost", push())
    odds(None, push())
    assert odds.rows == []


@pytest.mark.parametrize(
    "payload",
    [push("ten"), push(None), {"submissions": ["not a dict"]}, {"submissions": [{}]}, [1, 2]],
)
def test_malformed_odds_become_internal_errors(
    clock: FakeClock, odds: OddsIngest, payload: object
) -> None:
    engine = ValidatorEngine(clock, registered=["hk00"], odds_sink=odds)
    if isinstance(payload, dict):
        payload = {**payload, "token": engine.tokens.current()}
    else:
        engine.listener.require_token = False
    reply = engine.listener.handle(
        hotkey="hk00", ip="1.2.3.4", synapse_type="odds_push", payload=payload
    )
    assert reply["error"] == "internal_error"
    assert engine.counters.failures[FailureType.OTHER] == 1


def test_accepted_even_when_nothing_is_stored(clock: FakeClock, odds: OddsIngest) -> None:
    engine = ValidatorEngine(clock, registered=["hk00"], odds_sink=odds)
    payload = {**push(99), "token": engine.tokens.current()}
    reply = engine.listener.handle(
        hotkey="hk00", ip="1.2.3.4", synapse_type="odds_push", payload=payload
    )
    assert reply == {"success": True, "accepted": True}
    assert odds.rows == []


# Outcomes --------------------------------------------------------------------------


@pytest.fixture
def outcomes(clock: FakeClock, catalog: Catalog) -> OutcomeIngest:
    return OutcomeIngest(clock, catalog)


@pytest.mark.parametrize(
    "payload",
    [
        {"event_id": 3, "result": "HOME"},
        {"event_id": "3", "result": "void"},
        {"event_id": 3, "score_home": 2, "score_away": 1},
    ],
)
def test_valid_outcomes_are_stored(outcomes: OutcomeIngest, payload: dict[str, object]) -> None:
    outcomes("hk00", payload)
    assert outcomes.rejections == []
    assert len(outcomes.rows) == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"result": "home"}, "missing_event_id"),
        ({"event_id": "x3", "result": "home"}, "missing_event_id"),
        ({"event_id": 99, "result": "home"}, "event_not_found_or_ineligible"),
        ({"event_id": 4, "result": "home"}, "event_not_found_or_ineligible"),
        ({"event_id": 1, "result": "home"}, "game_not_started"),
        ({"event_id": 3, "result": "winner"}, "invalid_outcome_data"),
        ({"event_id": 3, "score_home": 2}, "invalid_outcome_data"),
        ({"event_id": 3, "score_home": True, "score_away": 0}, "invalid_outcome_data"),
        ({"event_id": 3, "winner_label": "home", "final_score": "2-1"}, "invalid_outcome_data"),
    ],
)
def test_outcome_rejections(
    outcomes: OutcomeIngest, payload: dict[str, object], reason: str
) -> None:
    outcomes("hk00", payload)
    assert outcomes.rejections == [reason]
    assert outcomes.rows == []


def test_outcome_window_closes_twelve_hours_after_start(
    outcomes: OutcomeIngest, clock: FakeClock
) -> None:
    clock.advance(11 * HOUR)  # event 3 started an hour before the fixture's start
    outcomes("hk00", {"event_id": 3, "result": "home"})
    clock.advance(1)
    outcomes("hk00", {"event_id": 3, "result": "home"})
    assert outcomes.rejections == ["outcome_window_closed"]


def test_outcome_dedupe_and_daily_cap(clock: FakeClock) -> None:
    catalog = Catalog([Event(5, clock.now(), status="finished")])
    outcomes = OutcomeIngest(clock, catalog)
    clock.set((clock.now() // 300 + 1) * 300)
    outcomes("hk00", {"event_id": 5, "result": "home"})
    clock.advance(299)
    outcomes("hk00", {"event_id": 5, "result": "away"})  # same 300 s bucket
    assert [r.result for r in outcomes.rows] == ["home"]
    assert outcomes.rejections == []
    for _ in range(49):
        clock.advance(300)
        outcomes("hk00", {"event_id": 5, "result": "home"})
    assert len(outcomes.rows) == 50
    clock.advance(300)
    outcomes("hk00", {"event_id": 5, "result": "home"})
    assert outcomes.rejections == ["rate_limited"]
    outcomes("hk01", {"event_id": 5, "result": "home"})
    assert len(outcomes.rows) == 51
