"""Crash safety: a miner killed with SIGKILL loses nothing committed and never re-sends.

A real child process opens the store, records sends and is killed mid-flight; the test
then reopens the database the way a restarted miner would.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import textwrap

import sqlalchemy as sa

from miner_runtime.protocol.messages import OddsSubmission, OutcomeResult, Side
from miner_runtime.storage import SendState, SkipReason, open_stores

NOW = dt.datetime(2026, 11, 24, 12, 0, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=10)
V1 = "5Validator1"

_PRELUDE = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from miner_runtime.protocol.messages import Game, OddsSubmission, OutcomeResult
    from miner_runtime.storage import SendState, open_stores

    NOW = dt.datetime(2026, 11, 24, 12, 0, 30, tzinfo=dt.UTC)
    V1 = "5Validator1"
    stores = open_stores(sys.argv[1])
    stores.games.upsert_games([Game.model_validate({
        "event_id": 1, "home_team": "A", "away_team": "B", "league": "nba", "sport": "nba",
        "start_time_utc": (NOW + dt.timedelta(hours=3)).isoformat(),
        "markets": [{"market_id": 10, "kind": "MONEYLINE"}, {"market_id": 11, "kind": "TOTAL"}],
    })], NOW)

    def quote(market_id, **odds):
        return OddsSubmission.model_validate({"market_id": market_id, "kind": "MONEYLINE",
            "prices": [{"side": s, "odds_eu": o} for s, o in odds.items()]})
    """
)

# Market 10 was accepted, market 11 and the outcome are in flight when the kill lands.
_IN_FLIGHT = _PRELUDE + textwrap.dedent(
    """
    done = stores.odds.plan_odds_sends(V1, [quote(10, home=1.9, away=2.0)], NOW)
    stores.odds.complete_odds_sends(done.row_ids, SendState.ACCEPTED, NOW)
    stores.odds.plan_odds_sends(V1, [quote(11, over=1.85, under=1.95)], NOW)
    stores.outcomes.plan_outcome_send(V1, 1, NOW, result=OutcomeResult.HOME)
    print("READY", flush=True)
    time.sleep(120)  # stay alive, work in flight, until the test's SIGKILL (after READY)
    """
)

# A transaction that decided to send but never committed.
_UNCOMMITTED = _PRELUDE + textwrap.dedent(
    """
    import sqlalchemy as sa
    from miner_runtime.storage.tables import OddsSubmissionRow
    connection = stores.engine.connect()
    transaction = connection.begin()
    connection.execute(sa.insert(OddsSubmissionRow.__table__).values(
        validator_hotkey=V1, market_id=10, side="home", odds_eu=5.0,
        bucket=NOW.replace(second=0), state="pending", created_at=NOW))
    print("READY", flush=True)
    time.sleep(120)  # stay alive, work in flight, until the test's SIGKILL (after READY)
    """
)


def _run_and_kill(code: str, url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "READY":
            child.kill()
            _, stderr = child.communicate(timeout=30)
            raise AssertionError(f"child failed before the kill:\n{stderr}")
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def test_a_killed_miner_loses_nothing_and_does_not_resend(db_url: str) -> None:
    _run_and_kill(_IN_FLIGHT, db_url)

    with open_stores(db_url) as stores:
        pending = stores.odds.pending_odds_sends(V1)
        assert {(p.market_id, p.side, p.odds_eu) for p in pending} == {
            (11, Side.OVER, 1.85),
            (11, Side.UNDER, 1.95),
        }
        assert stores.odds.last_accepted_prices(V1, [10]) == {
            (10, Side.HOME): 1.9,
            (10, Side.AWAY): 2.0,
        }
        [outcome] = stores.outcomes.pending_outcome_sends(V1)
        assert (outcome.event_id, outcome.result) == (1, OutcomeResult.HOME)

        def quote(market_id: int, **odds: float) -> OddsSubmission:
            prices = [{"side": side, "odds_eu": value} for side, value in odds.items()]
            return OddsSubmission.model_validate(
                {"market_id": market_id, "kind": "MONEYLINE", "prices": prices}
            )

        # The same prices after the restart: the accepted one and the possibly-delivered
        # one are both left alone, and so is the outcome.
        replay = stores.odds.plan_odds_sends(
            V1, [quote(10, home=1.9, away=2.0), quote(11, over=1.85, under=1.95)], LATER
        )
        assert replay.row_ids == ()
        assert replay.skipped == {10: SkipReason.UNCHANGED, 11: SkipReason.UNCHANGED}
        assert stores.outcomes.plan_outcome_send(V1, 1, LATER, result=OutcomeResult.HOME) is None

        # The runtime may give up on the unknown sends; then (and only then) they go again.
        assert (
            stores.odds.complete_odds_sends([p.id for p in pending], SendState.FAILED, LATER) == 2
        )
        resend = stores.odds.plan_odds_sends(
            V1, [quote(10, home=1.9, away=2.0), quote(11, over=1.85, under=1.95)], LATER
        )
        assert [s.market_id for s in resend.submissions] == [11]
        # A changed price on the accepted market is sent as usual.
        moved = stores.odds.plan_odds_sends(V1, [quote(10, home=1.8, away=2.1)], LATER)
        assert len(moved.row_ids) == 2


def test_a_kill_inside_a_transaction_records_nothing(db_url: str) -> None:
    _run_and_kill(_UNCOMMITTED, db_url)

    with open_stores(db_url) as stores:
        assert stores.odds.pending_odds_sends() == []
        assert stores.odds.odds_sends(V1, 10) == []
        with stores.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert connection.execute(sa.text("SELECT count(*) FROM market")).scalar() == 2
        # No lock outlives the dead process: the same send can be planned right away.
        plan = stores.odds.plan_odds_sends(
            V1,
            [
                OddsSubmission.model_validate(
                    {
                        "market_id": 10,
                        "kind": "MONEYLINE",
                        "prices": [{"side": "home", "odds_eu": 5}],
                    }
                )
            ],
            NOW,
        )
        assert len(plan.row_ids) == 1
