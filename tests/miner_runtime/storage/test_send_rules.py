"""The sending rules on plain values: no database, so every rule and edge runs in microseconds.

test_stores.py checks the same rules through the stores (that the right rows are read and
the answer is recorded in the same transaction); here each rule is pinned on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest

from miner_runtime.protocol.messages import OddsSubmission, OutcomeResult, Side
from miner_runtime.storage.send_rules import (
    CAP_WINDOW,
    ROWS_PER_MARKET_CAP,
    OddsDecision,
    OddsHistory,
    OutcomeClaim,
    SendState,
    SkipReason,
    bucket_of,
    cap_window_start,
    decide_odds_sends,
    final_state,
    outcome_is_news,
    skip_reason,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, 30, tzinfo=dt.UTC)


def quote(market_id: int = 10, **odds: float) -> OddsSubmission:
    prices = odds or {"home": 1.9, "away": 2.05}
    return OddsSubmission.model_validate(
        {
            "market_id": market_id,
            "kind": "MONEYLINE",
            "prices": [{"side": side, "odds_eu": value} for side, value in prices.items()],
        }
    )


def known(
    *market_ids: int,
    last_prices: Mapping[tuple[int, Side], float] | None = None,
    row_counts: Mapping[int, int] | None = None,
    sent_this_bucket: frozenset[int] = frozenset(),
) -> OddsHistory:
    """A history in which `market_ids` are synced and nothing else is set unless given."""
    return OddsHistory(
        known_markets=frozenset(market_ids),
        last_prices=last_prices or {},
        row_counts=row_counts or {},
        sent_this_bucket=sent_this_bucket,
    )


# ---- time --------------------------------------------------------------------------------


def test_bucket_is_the_minute_floor_in_utc() -> None:
    assert bucket_of(NOW) == dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    plus_two = dt.timezone(dt.timedelta(hours=2))
    in_berlin = bucket_of(dt.datetime(2026, 11, 24, 14, 0, 59, 999, tzinfo=plus_two))
    assert in_berlin == bucket_of(NOW) and in_berlin.tzinfo is dt.UTC


def test_a_naive_time_has_no_bucket() -> None:
    with pytest.raises(ValueError, match="naive"):
        bucket_of(dt.datetime(2026, 11, 24, 12, 0))


def test_the_cap_window_starts_24_hours_before_the_current_bucket() -> None:
    assert cap_window_start(NOW) == bucket_of(NOW) - CAP_WINDOW
    assert cap_window_start(NOW) == dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


# ---- completion --------------------------------------------------------------------------


def test_a_send_completes_as_accepted_or_failed_only() -> None:
    assert final_state("accepted") is SendState.ACCEPTED
    assert final_state(SendState.FAILED) is SendState.FAILED
    with pytest.raises(ValueError, match="accepted or failed"):
        final_state(SendState.PENDING)
    with pytest.raises(ValueError):
        final_state("lost")


# ---- odds --------------------------------------------------------------------------------


def test_an_unsynced_market_is_skipped_whatever_else_is_known() -> None:
    history = OddsHistory(last_prices={(999, Side.HOME): 1.0}, row_counts={999: 0})
    assert skip_reason(quote(999), history) is SkipReason.UNKNOWN_MARKET


def test_a_new_market_goes_with_every_side() -> None:
    assert skip_reason(quote(10), known(10)) is None


def test_unchanged_means_every_quoted_side_equals_the_last_live_price() -> None:
    last = {(10, Side.HOME): 1.9, (10, Side.AWAY): 2.0}
    history = known(10, last_prices=last)
    assert skip_reason(quote(10, home=1.9, away=2.0), history) is SkipReason.UNCHANGED
    # One side moved: the market is sent (and with it every side).
    assert skip_reason(quote(10, home=1.95, away=2.0), history) is None
    # A side never sent before counts as a change.
    assert skip_reason(quote(10, home=1.9, away=2.0, draw=3.1), history) is None
    # Another market's prices say nothing about this one.
    assert skip_reason(quote(11, home=1.9, away=2.0), known(11, last_prices=last)) is None


def test_one_send_per_market_per_bucket() -> None:
    history = known(10, sent_this_bucket=frozenset({10}))
    assert skip_reason(quote(10), history) is SkipReason.SAME_BUCKET
    assert skip_reason(quote(11), known(11, sent_this_bucket=frozenset({10}))) is None


def test_the_cap_is_the_validators_count_ge_cap_test() -> None:
    assert ROWS_PER_MARKET_CAP == 200
    assert skip_reason(quote(10), known(10, row_counts={10: 199})) is None
    assert skip_reason(quote(10), known(10, row_counts={10: 200})) is SkipReason.CAPPED
    # 3 < 4: the whole three-sided push still goes (the validator stores all its sides).
    three_way = quote(10, home=2.5, away=2.8, draw=3.2)
    assert skip_reason(three_way, known(10, row_counts={10: 3}), cap=4) is None
    assert skip_reason(three_way, known(10, row_counts={10: 4}), cap=4) is SkipReason.CAPPED
    assert skip_reason(quote(10), known(10, row_counts={11: 500})) is None


def test_reasons_are_checked_unknown_unchanged_bucket_cap_in_that_order() -> None:
    everything = OddsHistory(
        known_markets=frozenset({10}),
        last_prices={(10, Side.HOME): 1.9, (10, Side.AWAY): 2.05},
        row_counts={10: 500},
        sent_this_bucket=frozenset({10}),
    )
    assert skip_reason(quote(10), everything) is SkipReason.UNCHANGED
    assert skip_reason(quote(10, home=2.0), everything) is SkipReason.SAME_BUCKET
    moved_on = OddsHistory(known_markets=frozenset({10}), row_counts={10: 500})
    assert skip_reason(quote(10), moved_on) is SkipReason.CAPPED
    assert skip_reason(quote(12), everything) is SkipReason.UNKNOWN_MARKET


def test_a_decision_keeps_the_quotes_order_and_says_why_others_are_skipped() -> None:
    history = known(10, 11, 12, last_prices={(11, Side.HOME): 1.9, (11, Side.AWAY): 2.05})
    decision = decide_odds_sends([quote(12), quote(999), quote(11), quote(10)], history)
    assert [q.market_id for q in decision.sending] == [12, 10]
    assert decision.skipped == {999: SkipReason.UNKNOWN_MARKET, 11: SkipReason.UNCHANGED}
    assert decision.examined == 4


def test_a_limit_stops_the_look_once_enough_markets_are_chosen() -> None:
    history = known(1, 2, 3, 4, sent_this_bucket=frozenset({2}))
    quotes = [quote(1), quote(2), quote(3), quote(4)]
    first = decide_odds_sends(quotes, history, limit=2)
    # Market 2 was skipped on the way, so 3 quotes were examined to choose 2.
    assert [q.market_id for q in first.sending] == [1, 3]
    assert first.skipped == {2: SkipReason.SAME_BUCKET} and first.examined == 3
    rest = decide_odds_sends(quotes[first.examined :], history, limit=2)
    assert [q.market_id for q in rest.sending] == [4] and rest.examined == 1
    assert decide_odds_sends(quotes, history, limit=0) == OddsDecision()


def test_a_decision_must_not_repeat_a_market() -> None:
    with pytest.raises(ValueError, match="once per plan"):
        decide_odds_sends([quote(10), quote(10)], known(10))
    assert decide_odds_sends([], known()) == OddsDecision()


# ---- outcomes ----------------------------------------------------------------------------


def test_an_outcome_claim_needs_a_result_or_both_scores() -> None:
    with pytest.raises(ValueError, match="go together"):
        OutcomeClaim(score_home=3)
    with pytest.raises(ValueError, match="go together"):
        OutcomeClaim(OutcomeResult.HOME, score_away=3)
    with pytest.raises(ValueError, match="result or both scores"):
        OutcomeClaim()
    assert OutcomeClaim(score_home=1, score_away=1).result is None


def test_an_outcome_is_news_until_the_validator_may_have_it() -> None:
    home = OutcomeClaim(OutcomeResult.HOME)
    assert outcome_is_news(None, home)
    assert not outcome_is_news(OutcomeClaim(OutcomeResult.HOME), home)
    # Scores added, a result corrected, or scores corrected: each is sent again.
    assert outcome_is_news(home, OutcomeClaim(OutcomeResult.HOME, 27, 20))
    assert outcome_is_news(home, OutcomeClaim(OutcomeResult.AWAY))
    assert outcome_is_news(OutcomeClaim(OutcomeResult.HOME, 27, 20), OutcomeClaim(None, 27, 20))
    assert outcome_is_news(OutcomeClaim(None, 1, 1), OutcomeClaim(None, 1, 2))
