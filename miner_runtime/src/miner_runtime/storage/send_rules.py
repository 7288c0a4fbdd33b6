"""The sending rules, as pure functions over what was already sent (no database here).

The validator dedupes odds per 60 s bucket, keeps at most 200 rows per (miner, market) a
day and takes an outcome until it changes; these functions mirror those rules so the miner
sends nothing the validator would drop or hold against it. The stores read the rows in a
transaction, ask these rules, and record the answer in that same transaction.

A send is `pending` from before it leaves until its reply; a reply that proves nothing was
stored makes it `failed`. A pending send may have been stored, so the rules count it as if
it had been (cap, unchanged price, same outcome); a failed one counts for nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from miner_runtime.clock import require_aware
from miner_runtime.protocol.messages import OddsSubmission, OutcomeResult, Side

BUCKET = dt.timedelta(seconds=60)  # the validator floors receive times to the minute
CAP_WINDOW = dt.timedelta(hours=24)
ROWS_PER_MARKET_CAP = 200  # stored rows (one per side) per (miner, market) per 24 h

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SendState(StrEnum):
    """A send's fate. `pending` means in flight or unknown (e.g. the process was killed)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    FAILED = "failed"


def final_state(state: SendState | str) -> SendState:
    """The state a reply completes a send with: accepted or failed, never pending again."""
    state = SendState(state)
    if state is SendState.PENDING:
        raise ValueError("a send is completed as accepted or failed, not pending")
    return state


def bucket_of(moment: dt.datetime) -> dt.datetime:
    """The validator's dedupe bucket: the time floored to 60 s, in UTC."""
    moment = require_aware(moment)
    return moment - (moment - _EPOCH) % BUCKET


def cap_window_start(now: dt.datetime) -> dt.datetime:
    """The oldest bucket still counted toward the daily cap (conservatively: the current
    bucket minus 24 h, so a row the validator might still count is never forgotten)."""
    return bucket_of(now) - CAP_WINDOW


# ---- odds ------------------------------------------------------------------------------


class SkipReason(StrEnum):
    """Why a quoted market is not sent to a validator this time."""

    UNKNOWN_MARKET = "unknown_market"  # never synced: the validator would drop it
    UNCHANGED = "unchanged"  # every side equals the last accepted/pending price
    SAME_BUCKET = "same_bucket"  # already sent this minute: the first push wins
    CAPPED = "capped"  # the validator's 24 h per-market row cap is reached


@dataclass(frozen=True)
class OddsHistory:
    """What one validator may already hold for the quoted markets (accepted or pending)."""

    known_markets: frozenset[int] = frozenset()  # markets the miner has synced
    last_prices: Mapping[tuple[int, Side], float] = field(default_factory=dict)
    row_counts: Mapping[int, int] = field(default_factory=dict)  # rows in the cap window
    sent_this_bucket: frozenset[int] = frozenset()  # markets already sent this minute


@dataclass(frozen=True)
class OddsDecision:
    """The quotes to send now, the markets skipped and why, and how many quotes were
    looked at (all of them unless `limit` stopped the look early)."""

    sending: tuple[OddsSubmission, ...] = ()
    skipped: Mapping[int, SkipReason] = field(default_factory=dict)
    examined: int = 0


def require_one_quote_per_market(quotes: Sequence[OddsSubmission]) -> None:
    market_ids = [q.market_id for q in quotes]
    if len(set(market_ids)) != len(market_ids):
        raise ValueError("each market may be quoted once per plan")


def skip_reason(
    quote: OddsSubmission, history: OddsHistory, cap: int = ROWS_PER_MARKET_CAP
) -> SkipReason | None:
    """Why `quote` must not go to this validator now; None means send it (every side).

    The unit is the market, not the side: if any side changed, every quoted side is sent,
    because a 3-way market scores only with all sides in one 60 s bucket. The cap test is
    the validator's own: count >= cap.
    """
    market_id = quote.market_id
    if market_id not in history.known_markets:
        return SkipReason.UNKNOWN_MARKET
    if all(history.last_prices.get((market_id, p.side)) == p.odds_eu for p in quote.prices):
        return SkipReason.UNCHANGED
    if market_id in history.sent_this_bucket:
        return SkipReason.SAME_BUCKET
    if history.row_counts.get(market_id, 0) >= cap:
        return SkipReason.CAPPED
    return None


def decide_odds_sends(
    quotes: Sequence[OddsSubmission],
    history: OddsHistory,
    cap: int = ROWS_PER_MARKET_CAP,
    limit: int | None = None,
) -> OddsDecision:
    """Which of `quotes` to send, in order. With `limit`, the look stops once `limit`
    markets are chosen (one request's worth), so a crash leaves at most one batch in doubt."""
    require_one_quote_per_market(quotes)
    sending: list[OddsSubmission] = []
    skipped: dict[int, SkipReason] = {}
    examined = 0
    for quote in quotes:
        if limit is not None and len(sending) >= limit:
            break
        examined += 1
        reason = skip_reason(quote, history, cap)
        if reason is None:
            sending.append(quote)
        else:
            skipped[quote.market_id] = reason
    return OddsDecision(sending=tuple(sending), skipped=skipped, examined=examined)


# ---- outcomes --------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeClaim:
    """What one outcome push says: a result, both scores, or both of those."""

    result: OutcomeResult | None = None
    score_home: int | None = None
    score_away: int | None = None

    def __post_init__(self) -> None:
        if (self.score_home is None) != (self.score_away is None):
            raise ValueError("score_home and score_away go together")
        if self.result is None and self.score_home is None:
            raise ValueError("an outcome needs a result or both scores")


def outcome_is_news(last_live: OutcomeClaim | None, wanted: OutcomeClaim) -> bool:
    """Send `wanted` unless the validator already has (or may have, if pending) the same
    result and scores: an outcome is sent once per change."""
    return last_live != wanted
