"""The stores' behaviour on both backends: endpoints, games, sends and results history.

The sending rules themselves are unit-tested without a database in test_send_rules.py;
here they are exercised through the stores, whose reads feed them and whose writes
record their answer in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from miner_runtime.protocol.messages import (
    Game,
    League,
    MarketKind,
    OddsSubmission,
    OutcomeResult,
    Side,
)
from miner_runtime.protocol.results import GameResult
from miner_runtime.storage import (
    OddsPlan,
    SendState,
    SkipReason,
    Stores,
    UnknownEventError,
    bucket_of,
    open_stores,
)
from miner_runtime.storage.tables import OddsSubmissionRow, ValidatorEndpoint

NOW = dt.datetime(2026, 11, 24, 12, 0, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
V1, V2 = "5Validator1", "5Validator2"
TOKEN_A, TOKEN_B = "a" * 64, "b" * 64


def game(
    event_id: int = 1,
    start: dt.datetime = NOW + dt.timedelta(days=1),
    markets: tuple[dict[str, Any], ...] = (
        {"market_id": 10, "kind": "MONEYLINE", "line": None},
        {"market_id": 11, "kind": "total", "line": 47.5},
    ),
    home: str = "Kansas City Chiefs",
    league: str = "nfl",
    sport: str = "nfl",
) -> Game:
    return Game.model_validate(
        {
            "event_id": event_id,
            "home_team": home,
            "away_team": "Buffalo Bills",
            "start_time_utc": start.isoformat(),
            "league": league,
            "sport": sport,
            "markets": list(markets),
        }
    )


def quote(market_id: int = 10, **odds: float) -> OddsSubmission:
    prices = odds or {"home": 1.9, "away": 2.05}
    return OddsSubmission.model_validate(
        {
            "market_id": market_id,
            "kind": "MONEYLINE",
            "prices": [{"side": side, "odds_eu": value} for side, value in prices.items()],
        }
    )


@pytest.fixture
def synced(stores: Stores) -> Stores:
    stores.games.upsert_games([game()], NOW)
    return stores


# ---- validator endpoints -------------------------------------------------------------


def test_endpoint_upsert_keeps_token_age_until_the_token_changes(stores: Stores) -> None:
    assert stores.endpoints.validator_endpoint(V1) is None
    stores.endpoints.save_validator_endpoint(V1, "10.0.0.1", 8091, TOKEN_A, NOW)
    stores.endpoints.save_validator_endpoint(V1, "10.0.0.2", 8092, TOKEN_A, NOW + MINUTE)
    same_token = stores.endpoints.validator_endpoint(V1)
    assert same_token is not None
    assert (same_token.host, same_token.port, same_token.token) == ("10.0.0.2", 8092, TOKEN_A)
    assert same_token.token_received_at == NOW
    assert same_token.updated_at == NOW + MINUTE

    stores.endpoints.save_validator_endpoint(V1, "10.0.0.2", 8092, TOKEN_B, NOW + 2 * MINUTE)
    stores.endpoints.save_validator_endpoint(V2, "10.0.0.3", 0, TOKEN_A, NOW)
    rotated = stores.endpoints.validator_endpoint(V1)
    assert rotated is not None
    assert rotated.token == TOKEN_B and rotated.token_received_at == NOW + 2 * MINUTE
    assert [e.validator_hotkey for e in stores.endpoints.validator_endpoints()] == [V1, V2]
    assert all(e.updated_at.tzinfo is dt.UTC for e in stores.endpoints.validator_endpoints())


# ---- games ---------------------------------------------------------------------------


def test_games_upsert_updates_in_place_and_keeps_kind_uppercase(stores: Stores) -> None:
    assert stores.games.upsert_games([game(), game(event_id=2, markets=())], NOW) == 2
    moved = NOW + dt.timedelta(days=2)
    changed = game(
        start=moved,
        home="TBD",
        markets=(
            {"market_id": 10, "kind": "moneyline"},
            {"market_id": 11, "kind": "TOTAL", "line": 48},
        ),
    )
    stores.games.upsert_games([changed], NOW + MINUTE)

    markets = stores.games.active_markets(NOW)
    assert [(m.market_id, m.kind, m.line) for m in markets] == [
        (10, MarketKind.MONEYLINE, None),
        (11, MarketKind.TOTAL, 48.0),
    ]
    assert {m.home_team for m in markets} == {"TBD"}
    assert markets[0].start_time_utc == moved and markets[0].start_time_utc.tzinfo is dt.UTC
    with stores.engine.connect() as connection:
        kinds = connection.execute(sa.text("SELECT kind FROM market ORDER BY market_id")).all()
    assert [k for (k,) in kinds] == ["MONEYLINE", "TOTAL"]


def test_active_markets_are_those_starting_within_seven_days(stores: Stores) -> None:
    stores.games.upsert_games(
        [
            game(1, NOW - MINUTE, ({"market_id": 10, "kind": "MONEYLINE"},)),
            game(
                2, NOW + dt.timedelta(days=7), ({"market_id": 20, "kind": "SPREAD", "line": -3.5},)
            ),
            game(3, NOW + dt.timedelta(days=7, seconds=1), ({"market_id": 30, "kind": "TOTAL"},)),
            game(4, NOW + dt.timedelta(hours=1), ({"market_id": 40, "kind": "MONEYLINE"},)),
        ],
        NOW,
    )
    assert [m.market_id for m in stores.games.active_markets(NOW)] == [40, 20]
    in_window = stores.games.events_in_outcome_window(NOW + dt.timedelta(hours=2))
    assert [e.event_id for e in in_window] == [1, 4]
    # Event 4 started at +1 h: its window closes 12 h later, inclusive.
    assert [
        e.event_id for e in stores.games.events_in_outcome_window(NOW + dt.timedelta(hours=13))
    ] == [4]
    assert stores.games.events_in_outcome_window(NOW + dt.timedelta(hours=13, seconds=1)) == []


def test_foreign_keys_are_enforced(stores: Stores) -> None:
    with pytest.raises(IntegrityError), stores.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO market (market_id, event_id, kind, synced_at) "
                "VALUES (99, 12345, 'MONEYLINE', :now)"
            ),
            {"now": NOW},
        )


def test_naive_times_are_refused(stores: Stores) -> None:
    naive = dt.datetime(2026, 11, 24, 12, 0)
    with pytest.raises(ValueError, match="naive"):
        stores.games.active_markets(naive)
    with pytest.raises(ValueError, match="naive"):
        bucket_of(naive)
    # Even below the stores, the column type refuses them.
    with pytest.raises(sa.exc.StatementError, match="naive"), stores.engine.begin() as connection:
        connection.execute(
            sa.insert(ValidatorEndpoint).values(
                validator_hotkey=V1,
                host="h",
                port=1,
                token=TOKEN_A,
                token_received_at=naive,
                updated_at=naive,
            )
        )


def test_times_in_other_zones_are_stored_as_the_same_instant(stores: Stores) -> None:
    eastern = dt.timezone(dt.timedelta(hours=-5))
    start = dt.datetime(2026, 11, 25, 15, 0, tzinfo=eastern)
    stores.games.upsert_games([game(start=start)], NOW)
    stored = stores.games.active_markets(NOW)[0].start_time_utc
    assert stored == start and stored.tzinfo is dt.UTC and stored.hour == 20


# ---- odds ----------------------------------------------------------------------------


def test_bucket_is_the_minute_floor_in_utc() -> None:
    assert bucket_of(NOW) == dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert bucket_of(dt.datetime(2026, 11, 24, 14, 0, 59, 999, tzinfo=plus_two)) == bucket_of(NOW)


def test_a_plan_records_pending_rows_in_the_same_transaction(synced: Stores) -> None:
    plan = synced.odds.plan_odds_sends(V1, [quote(10), quote(999)], NOW)
    assert [s.market_id for s in plan.submissions] == [10]
    assert plan.skipped == {999: SkipReason.UNKNOWN_MARKET}
    pending = synced.odds.pending_odds_sends(V1)
    assert [p.id for p in pending] == list(plan.row_ids)
    assert {(p.side, p.odds_eu, p.state) for p in pending} == {
        (Side.HOME, 1.9, SendState.PENDING),
        (Side.AWAY, 2.05, SendState.PENDING),
    }
    assert {p.bucket for p in pending} == {bucket_of(NOW)}
    assert synced.odds.pending_odds_sends(V2) == []


def test_only_changed_markets_are_sent_and_then_with_every_side(synced: Stores) -> None:
    first = synced.odds.plan_odds_sends(V1, [quote(10, home=1.9, away=2.0)], NOW)
    assert synced.odds.complete_odds_sends(first.row_ids, SendState.ACCEPTED, NOW) == 2

    later = NOW + 5 * MINUTE
    unchanged = synced.odds.plan_odds_sends(V1, [quote(10, home=1.9, away=2.0)], later)
    assert unchanged.submissions == () and unchanged.skipped == {10: SkipReason.UNCHANGED}

    moved = synced.odds.plan_odds_sends(V1, [quote(10, home=1.95, away=2.0)], later)
    assert [p.side for p in moved.submissions[0].prices] == [Side.HOME, Side.AWAY]
    assert len(moved.row_ids) == 2
    # Another validator has seen nothing yet, so it gets the price too.
    assert len(synced.odds.plan_odds_sends(V2, [quote(10, home=1.9, away=2.0)], later).row_ids) == 2


def test_one_send_per_market_per_minute_bucket(synced: Stores) -> None:
    synced.odds.plan_odds_sends(V1, [quote(10, home=1.9, away=2.0)], NOW)
    again = synced.odds.plan_odds_sends(
        V1, [quote(10, home=1.8, away=2.2)], NOW + dt.timedelta(seconds=29)
    )
    assert again.skipped == {10: SkipReason.SAME_BUCKET}
    next_minute = synced.odds.plan_odds_sends(
        V1, [quote(10, home=1.8, away=2.2)], NOW + 30 * dt.timedelta(seconds=1)
    )
    assert len(next_minute.row_ids) == 2


def test_the_database_itself_refuses_a_second_live_row_per_bucket(synced: Stores) -> None:
    plan = synced.odds.plan_odds_sends(V1, [quote(10, home=1.9)], NOW)
    row = {
        "validator_hotkey": V1,
        "market_id": 10,
        "side": "home",
        "odds_eu": 3.0,
        "bucket": bucket_of(NOW),
        "state": "pending",
        "created_at": NOW,
    }
    with pytest.raises(IntegrityError), synced.engine.begin() as connection:
        connection.execute(sa.insert(OddsSubmissionRow), [row])
    # A failed attempt frees the bucket: the validator stored nothing.
    synced.odds.complete_odds_sends(plan.row_ids, SendState.FAILED, NOW)
    with synced.engine.begin() as connection:
        connection.execute(sa.insert(OddsSubmissionRow), [row])


def test_failed_sends_are_retried_and_do_not_count(synced: Stores) -> None:
    plan = synced.odds.plan_odds_sends(V1, [quote(10)], NOW)
    synced.odds.complete_odds_sends(plan.row_ids, SendState.FAILED, NOW)
    assert synced.odds.stored_row_counts(V1, [10], NOW) == {}
    retry = synced.odds.plan_odds_sends(V1, [quote(10)], NOW)
    assert len(retry.row_ids) == 2
    assert synced.odds.last_accepted_prices(V1, [10]) == {}


def test_completion_touches_pending_rows_only(synced: Stores) -> None:
    plan = synced.odds.plan_odds_sends(V1, [quote(10)], NOW)
    assert synced.odds.complete_odds_sends(plan.row_ids, SendState.ACCEPTED, NOW + MINUTE) == 2
    assert synced.odds.complete_odds_sends(plan.row_ids, SendState.FAILED, NOW + 2 * MINUTE) == 0
    sends = synced.odds.odds_sends(V1, 10)
    assert {(s.state, s.completed_at) for s in sends} == {(SendState.ACCEPTED, NOW + MINUTE)}
    with pytest.raises(ValueError, match="accepted or failed"):
        synced.odds.complete_odds_sends(plan.row_ids, SendState.PENDING, NOW)
    assert synced.odds.complete_odds_sends([], SendState.ACCEPTED, NOW) == 0


def test_last_accepted_price_ignores_pending_and_failed(synced: Stores) -> None:
    accepted = synced.odds.plan_odds_sends(V1, [quote(10, home=1.9, away=2.0)], NOW)
    synced.odds.complete_odds_sends(accepted.row_ids, SendState.ACCEPTED, NOW)
    failed = synced.odds.plan_odds_sends(V1, [quote(10, home=1.7, away=2.4)], NOW + MINUTE)
    synced.odds.complete_odds_sends(failed.row_ids, SendState.FAILED, NOW + MINUTE)
    synced.odds.plan_odds_sends(V1, [quote(10, home=1.8, away=2.2)], NOW + 2 * MINUTE)  # pending
    assert synced.odds.last_accepted_prices(V1, [10, 11]) == {
        (10, Side.HOME): 1.9,
        (10, Side.AWAY): 2.0,
    }
    # The pending price is possibly stored: quoting it again is "unchanged".
    same = synced.odds.plan_odds_sends(V1, [quote(10, home=1.8, away=2.2)], NOW + 3 * MINUTE)
    assert same.skipped == {10: SkipReason.UNCHANGED}


def test_the_daily_cap_counts_rows_per_side_over_24_hours(synced: Stores) -> None:
    moment = NOW
    for step in range(100):  # 100 two-sided pushes = 200 stored rows
        plan = synced.odds.plan_odds_sends(V1, [quote(10, home=1.5 + step / 100, away=2.0)], moment)
        assert len(plan.row_ids) == 2, step
        synced.odds.complete_odds_sends(plan.row_ids, SendState.ACCEPTED, moment)
        moment += MINUTE
    assert synced.odds.stored_row_counts(V1, [10, 11], moment) == {10: 200}
    capped = synced.odds.plan_odds_sends(V1, [quote(10, home=9.0, away=1.1)], moment)
    assert capped.skipped == {10: SkipReason.CAPPED}
    # Other validators and markets have their own caps.
    assert synced.odds.plan_odds_sends(V2, [quote(10, home=9.0, away=1.1)], moment).row_ids
    # Once the first minute leaves the window, one more push fits.
    after = NOW + dt.timedelta(hours=24, minutes=1)
    assert synced.odds.stored_row_counts(V1, [10], after) == {10: 198}
    assert len(synced.odds.plan_odds_sends(V1, [quote(10, home=9.0, away=1.1)], after).row_ids) == 2


def test_a_small_cap_mirrors_the_validators_count_ge_cap_rule(synced: Stores) -> None:
    three_way = quote(10, home=2.5, away=2.8, draw=3.2)
    assert len(synced.odds.plan_odds_sends(V1, [three_way], NOW, cap=4).row_ids) == 3
    # 3 < 4, so the whole next push goes (the validator stores all its sides too).
    nxt = synced.odds.plan_odds_sends(
        V1, [quote(10, home=2.4, away=2.9, draw=3.2)], NOW + MINUTE, cap=4
    )
    assert len(nxt.row_ids) == 3
    last = synced.odds.plan_odds_sends(V1, [quote(10, home=2.3)], NOW + 2 * MINUTE, cap=4)
    assert last.skipped == {10: SkipReason.CAPPED}


def test_a_plan_must_not_repeat_a_market(synced: Stores) -> None:
    with pytest.raises(ValueError, match="once per plan"):
        synced.odds.plan_odds_sends(V1, [quote(10), quote(10)], NOW)
    assert synced.odds.plan_odds_sends(V1, [], NOW) == OddsPlan()


def test_concurrent_planners_send_a_market_once(synced: Stores) -> None:
    barrier = threading.Barrier(6)

    def plan() -> OddsPlan:
        barrier.wait()
        return synced.odds.plan_odds_sends(V1, [quote(10), quote(11)], NOW)

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(plan) for _ in range(6)]
        plans = [future.result(timeout=60) for future in futures]
    assert sorted(len(p.row_ids) for p in plans) == [0, 0, 0, 0, 0, 4]
    assert len(synced.odds.pending_odds_sends(V1)) == 4


# ---- outcomes ------------------------------------------------------------------------


def test_an_outcome_is_sent_once_per_result(synced: Stores) -> None:
    first = synced.outcomes.plan_outcome_send(V1, 1, NOW, result=OutcomeResult.HOME)
    assert first is not None and first.state is SendState.PENDING
    assert (
        synced.outcomes.plan_outcome_send(V1, 1, NOW, result=OutcomeResult.HOME) is None
    )  # in flight
    assert synced.outcomes.complete_outcome_send(first.id, SendState.ACCEPTED, NOW + MINUTE)
    assert not synced.outcomes.complete_outcome_send(first.id, SendState.FAILED, NOW + MINUTE)

    accepted = synced.outcomes.accepted_outcome(V1, 1)
    assert accepted is not None
    assert (accepted.result, accepted.completed_at) == (OutcomeResult.HOME, NOW + MINUTE)
    assert (
        synced.outcomes.plan_outcome_send(V1, 1, NOW + 2 * MINUTE, result=OutcomeResult.HOME)
        is None
    )
    assert synced.outcomes.plan_outcome_send(V2, 1, NOW, result=OutcomeResult.HOME) is not None

    corrected = synced.outcomes.plan_outcome_send(
        V1, 1, NOW + 3 * MINUTE, result=OutcomeResult.HOME, score_home=27, score_away=20
    )
    assert corrected is not None and (corrected.score_home, corrected.score_away) == (27, 20)
    assert [o.id for o in synced.outcomes.pending_outcome_sends(V1)] == [corrected.id]
    assert len(synced.outcomes.pending_outcome_sends()) == 2


def test_a_failed_outcome_is_sent_again(synced: Stores) -> None:
    first = synced.outcomes.plan_outcome_send(V1, 1, NOW, score_home=1, score_away=1)
    assert first is not None
    synced.outcomes.complete_outcome_send(first.id, SendState.FAILED, NOW)
    assert synced.outcomes.accepted_outcome(V1, 1) is None
    again = synced.outcomes.plan_outcome_send(V1, 1, NOW + MINUTE, score_home=1, score_away=1)
    assert again is not None and again.id != first.id and again.result is None


def test_outcome_arguments_are_checked(synced: Stores) -> None:
    with pytest.raises(UnknownEventError, match="never synced"):
        synced.outcomes.plan_outcome_send(V1, 404, NOW, result=OutcomeResult.VOID)
    with pytest.raises(ValueError, match="go together"):
        synced.outcomes.plan_outcome_send(V1, 1, NOW, score_home=3)
    with pytest.raises(ValueError, match="result or both scores"):
        synced.outcomes.plan_outcome_send(V1, 1, NOW)
    assert synced.outcomes.pending_outcome_sends() == []


def test_prune_deletes_old_sends_only(synced: Stores) -> None:
    synced.odds.plan_odds_sends(V1, [quote(10)], NOW)
    synced.outcomes.plan_outcome_send(V1, 1, NOW, result=OutcomeResult.AWAY)
    synced.odds.plan_odds_sends(V1, [quote(11, over=1.9, under=1.9)], NOW + dt.timedelta(days=8))
    week_later = NOW + dt.timedelta(days=7)
    assert synced.odds.prune(week_later) + synced.outcomes.prune(week_later) == 3
    assert [s.market_id for s in synced.odds.pending_odds_sends()] == [11, 11]
    assert synced.outcomes.pending_outcome_sends() == []


# ---- results history -----------------------------------------------------------------


def result(source_id: str, start: dt.datetime, home: int = 2, away: int = 1) -> GameResult:
    return GameResult(
        League.NBA, "Boston Celtics", "Miami Heat", start, home, away, "espn", source_id
    )


def test_results_are_kept_per_source_game_and_a_correction_replaces_the_score(
    stores: Stores,
) -> None:
    day = dt.timedelta(days=1)
    assert stores.results.latest_result_at(League.NBA) is None
    assert (
        stores.results.save_results([result("1", NOW - 2 * day), result("2", NOW - day)], NOW) == 2
    )
    stores.results.save_results([result("2", NOW - day, home=3, away=1)], NOW + MINUTE)

    kept = stores.results.results(League.NBA, NOW - 3 * day)
    assert [(r.source_id, r.score_home) for r in kept] == [("1", 2), ("2", 3)]
    assert kept[0] == result("1", NOW - 2 * day)  # read back as it was given
    assert [r.source_id for r in stores.results.results(League.NBA, NOW - day)] == ["2"]
    assert stores.results.results(League.NBA, NOW - 3 * day, until=NOW - day) == [kept[0]]
    assert stores.results.results(League.NFL, NOW - 3 * day) == []
    assert stores.results.latest_result_at(League.NBA) == NOW - day
    with pytest.raises(ValueError, match="naive"):
        stores.results.results(League.NBA, dt.datetime(2026, 11, 1))


# ---- the bundle ----------------------------------------------------------------------


def test_every_store_shares_one_engine_and_a_reopen_sees_its_writes(db_url: str) -> None:
    with open_stores(db_url) as stores:
        stores.endpoints.save_validator_endpoint(V1, "10.0.0.1", 8091, TOKEN_A, NOW)
        databases = {
            id(store.database)
            for store in (
                stores.endpoints,
                stores.games,
                stores.odds,
                stores.outcomes,
                stores.results,
            )
        }
        assert databases == {id(stores.database)}
    # Reopened (migrations already at head): what was written is there.
    with open_stores(db_url) as reopened:
        assert [e.token for e in reopened.endpoints.validator_endpoints()] == [TOKEN_A]
