"""Odds sends to each validator, recorded in a two-step protocol that survives `kill -9`.

1. `plan_odds_sends` reads what this validator may already hold, asks the sending rules
   (send_rules.py) what to send, and records that as `pending`, all in one transaction;
2. after the reply, `complete_odds_sends` marks the rows `accepted` or `failed`. Mark
   `failed` only when the validator certainly stored nothing (an error envelope, 403/429, a
   refused connection). When the fate is unknown (a timeout, or a crash between 1 and 2)
   the rows stay `pending`: possibly stored, so they count toward the daily cap and block
   re-sending the same price. `pending_odds_sends` lists them; marking them failed forces
   a re-send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from miner_runtime.clock import require_aware
from miner_runtime.protocol.messages import OddsSubmission, Side
from miner_runtime.storage.send_rules import (
    ROWS_PER_MARKET_CAP,
    OddsHistory,
    SendState,
    SkipReason,
    bucket_of,
    cap_window_start,
    decide_odds_sends,
    final_state,
    require_one_quote_per_market,
)
from miner_runtime.storage.tables import Market, OddsSubmissionRow
from miner_runtime.storage.transactions import Database


@dataclass(frozen=True)
class OddsSend:
    id: int
    validator_hotkey: str
    market_id: int
    side: Side
    odds_eu: float
    bucket: dt.datetime
    state: SendState
    created_at: dt.datetime
    completed_at: dt.datetime | None


@dataclass(frozen=True)
class OddsPlan:
    """What to push to one validator now; `row_ids` are the pending rows to complete."""

    submissions: tuple[OddsSubmission, ...] = ()
    row_ids: tuple[int, ...] = ()
    skipped: Mapping[int, SkipReason] = field(default_factory=dict)
    # How many of the given quotes were looked at (all of them unless `limit` stopped it).
    examined: int = 0


def _odds_send(row: OddsSubmissionRow) -> OddsSend:
    return OddsSend(
        id=row.id,
        validator_hotkey=row.validator_hotkey,
        market_id=row.market_id,
        side=Side(row.side),
        odds_eu=row.odds_eu,
        bucket=row.bucket,
        state=SendState(row.state),
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


_LIVE = OddsSubmissionRow.state != SendState.FAILED.value  # accepted or pending


def _row_counts(
    session: Session, validator_hotkey: str, market_ids: Sequence[int], now: dt.datetime
) -> dict[int, int]:
    # One live row per (side, bucket) is guaranteed by the partial unique index, so a
    # plain count equals what the validator may have stored.
    rows = session.execute(
        sa.select(OddsSubmissionRow.market_id, sa.func.count())
        .where(
            OddsSubmissionRow.validator_hotkey == validator_hotkey,
            OddsSubmissionRow.market_id.in_(market_ids),
            OddsSubmissionRow.bucket >= cap_window_start(now),
            _LIVE,
        )
        .group_by(OddsSubmissionRow.market_id)
    )
    return {market_id: count for market_id, count in rows}


def _latest_prices(
    session: Session, validator_hotkey: str, market_ids: Sequence[int], *states: SendState
) -> dict[tuple[int, Side], float]:
    latest = (
        sa.select(sa.func.max(OddsSubmissionRow.id))
        .where(
            OddsSubmissionRow.validator_hotkey == validator_hotkey,
            OddsSubmissionRow.market_id.in_(market_ids),
            OddsSubmissionRow.state.in_([s.value for s in states]),
        )
        .group_by(OddsSubmissionRow.market_id, OddsSubmissionRow.side)
    )
    rows = session.execute(
        sa.select(
            OddsSubmissionRow.market_id, OddsSubmissionRow.side, OddsSubmissionRow.odds_eu
        ).where(OddsSubmissionRow.id.in_(latest))
    )
    return {(market_id, Side(side)): odds for market_id, side, odds in rows}


def _history(
    session: Session, validator_hotkey: str, market_ids: Sequence[int], now: dt.datetime
) -> OddsHistory:
    """What the rules need to know, read under a lock on the quoted market rows (which
    serialises concurrent planners on PostgreSQL; SQLite's BEGIN IMMEDIATE already did)."""
    known = frozenset(
        session.scalars(
            sa.select(Market.market_id).where(Market.market_id.in_(market_ids)).with_for_update()
        )
    )
    last_prices = _latest_prices(
        session, validator_hotkey, market_ids, SendState.ACCEPTED, SendState.PENDING
    )
    row_counts = _row_counts(session, validator_hotkey, market_ids, now)
    sent_this_bucket = frozenset(
        session.scalars(
            sa.select(OddsSubmissionRow.market_id).where(
                OddsSubmissionRow.validator_hotkey == validator_hotkey,
                OddsSubmissionRow.market_id.in_(market_ids),
                OddsSubmissionRow.bucket == bucket_of(now),
                _LIVE,
            )
        )
    )
    return OddsHistory(
        known_markets=known,
        last_prices=last_prices,
        row_counts=row_counts,
        sent_this_bucket=sent_this_bucket,
    )


class OddsSendStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def plan_odds_sends(
        self,
        validator_hotkey: str,
        quotes: Sequence[OddsSubmission],
        now: dt.datetime,
        cap: int = ROWS_PER_MARKET_CAP,
        limit: int | None = None,
    ) -> OddsPlan:
        """Decide which quotes to push to one validator (send_rules.decide_odds_sends) and
        record them as pending in the same transaction as the reads behind the decision.
        With `limit`, `examined` says where the next plan continues."""
        now = require_aware(now)
        require_one_quote_per_market(quotes)
        if not quotes:
            return OddsPlan()
        market_ids = [q.market_id for q in quotes]
        bucket = bucket_of(now)
        with self.database.transaction() as session:
            history = _history(session, validator_hotkey, market_ids, now)
            decision = decide_odds_sends(quotes, history, cap=cap, limit=limit)
            rows = [
                OddsSubmissionRow(
                    validator_hotkey=validator_hotkey,
                    market_id=quote.market_id,
                    side=price.side.value,
                    odds_eu=price.odds_eu,
                    bucket=bucket,
                    state=SendState.PENDING.value,
                    created_at=now,
                )
                for quote in decision.sending
                for price in quote.prices
            ]
            session.add_all(rows)
            session.flush()
            row_ids = tuple(row.id for row in rows)
        return OddsPlan(
            submissions=decision.sending,
            row_ids=row_ids,
            skipped=decision.skipped,
            examined=decision.examined,
        )

    def complete_odds_sends(
        self, row_ids: Iterable[int], state: SendState | str, now: dt.datetime
    ) -> int:
        """Record the reply for pending rows. Completed rows never change. Returns rows hit."""
        state, now, ids = final_state(state), require_aware(now), list(row_ids)
        if not ids:
            return 0
        with self.database.transaction() as session:
            result = session.execute(
                sa.update(OddsSubmissionRow)
                .where(
                    OddsSubmissionRow.id.in_(ids),
                    OddsSubmissionRow.state == SendState.PENDING.value,
                )
                .values(state=state.value, completed_at=now)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def stored_row_counts(
        self, validator_hotkey: str, market_ids: Sequence[int], now: dt.datetime
    ) -> dict[int, int]:
        """Rows the validator may hold per market over the last 24 h (absent means 0)."""
        now = require_aware(now)
        with self.database.transaction() as session:
            return _row_counts(session, validator_hotkey, market_ids, now)

    def last_accepted_prices(
        self, validator_hotkey: str, market_ids: Sequence[int]
    ) -> dict[tuple[int, Side], float]:
        """The newest accepted `odds_eu` per (market, side) for this validator."""
        with self.database.transaction() as session:
            return _latest_prices(session, validator_hotkey, market_ids, SendState.ACCEPTED)

    def pending_odds_sends(self, validator_hotkey: str | None = None) -> list[OddsSend]:
        """Sends whose reply never arrived (in flight, timed out, or cut by a crash)."""
        query = sa.select(OddsSubmissionRow).where(
            OddsSubmissionRow.state == SendState.PENDING.value
        )
        if validator_hotkey is not None:
            query = query.where(OddsSubmissionRow.validator_hotkey == validator_hotkey)
        with self.database.transaction() as session:
            return [
                _odds_send(row) for row in session.scalars(query.order_by(OddsSubmissionRow.id))
            ]

    def odds_sends(self, validator_hotkey: str, market_id: int) -> list[OddsSend]:
        """Every recorded send for one (validator, market), oldest first (for /status)."""
        with self.database.transaction() as session:
            rows = session.scalars(
                sa.select(OddsSubmissionRow)
                .where(
                    OddsSubmissionRow.validator_hotkey == validator_hotkey,
                    OddsSubmissionRow.market_id == market_id,
                )
                .order_by(OddsSubmissionRow.id)
            )
            return [_odds_send(row) for row in rows]

    def prune(self, before: dt.datetime) -> int:
        """Delete odds sends created before `before` (keep well over 24 h: the cap and the
        unchanged-price rule read them). Returns the number of rows deleted."""
        before = require_aware(before)
        with self.database.transaction() as session:
            result = session.execute(
                sa.delete(OddsSubmissionRow)
                .where(OddsSubmissionRow.created_at < before)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
