"""Outcome sends to each validator: the same pending -> accepted/failed protocol as odds
(odds_sends.py), one row per push, sent again only when the outcome changes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from miner_runtime.clock import require_aware
from miner_runtime.errors import MinerRuntimeError
from miner_runtime.protocol.messages import OutcomeResult
from miner_runtime.storage.send_rules import (
    OutcomeClaim,
    SendState,
    final_state,
    outcome_is_news,
)
from miner_runtime.storage.tables import Event, OutcomeSubmissionRow
from miner_runtime.storage.transactions import Database


class UnknownEventError(MinerRuntimeError):
    """An outcome was planned for an event the miner has never synced."""


@dataclass(frozen=True)
class OutcomeSend:
    id: int
    validator_hotkey: str
    event_id: int
    result: OutcomeResult | None
    score_home: int | None
    score_away: int | None
    state: SendState
    created_at: dt.datetime
    completed_at: dt.datetime | None


def _outcome_send(row: OutcomeSubmissionRow) -> OutcomeSend:
    return OutcomeSend(
        id=row.id,
        validator_hotkey=row.validator_hotkey,
        event_id=row.event_id,
        result=OutcomeResult(row.result) if row.result is not None else None,
        score_home=row.score_home,
        score_away=row.score_away,
        state=SendState(row.state),
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def _last_live_claim(session: Session, validator_hotkey: str, event_id: int) -> OutcomeClaim | None:
    """The newest outcome this validator has or may have (accepted or pending)."""
    row = session.scalars(
        sa.select(OutcomeSubmissionRow)
        .where(
            OutcomeSubmissionRow.validator_hotkey == validator_hotkey,
            OutcomeSubmissionRow.event_id == event_id,
            OutcomeSubmissionRow.state != SendState.FAILED.value,
        )
        .order_by(OutcomeSubmissionRow.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    result = OutcomeResult(row.result) if row.result is not None else None
    return OutcomeClaim(result, row.score_home, row.score_away)


class OutcomeSendStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def plan_outcome_send(
        self,
        validator_hotkey: str,
        event_id: int,
        now: dt.datetime,
        result: OutcomeResult | None = None,
        score_home: int | None = None,
        score_away: int | None = None,
    ) -> OutcomeSend | None:
        """Record an outcome push as pending, or return None if this validator already has
        (or may have, if pending) the same result and scores (send_rules.outcome_is_news).
        """
        now = require_aware(now)
        wanted = OutcomeClaim(result, score_home, score_away)
        with self.database.transaction() as session:
            event = session.scalars(
                sa.select(Event.event_id).where(Event.event_id == event_id).with_for_update()
            ).one_or_none()
            if event is None:
                raise UnknownEventError(f"event {event_id} was never synced")
            if not outcome_is_news(_last_live_claim(session, validator_hotkey, event_id), wanted):
                return None
            row = OutcomeSubmissionRow(
                validator_hotkey=validator_hotkey,
                event_id=event_id,
                result=wanted.result.value if wanted.result is not None else None,
                score_home=wanted.score_home,
                score_away=wanted.score_away,
                state=SendState.PENDING.value,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _outcome_send(row)

    def complete_outcome_send(self, row_id: int, state: SendState | str, now: dt.datetime) -> bool:
        """Record the reply for a pending outcome row; False if it was already completed."""
        state, now = final_state(state), require_aware(now)
        with self.database.transaction() as session:
            result = session.execute(
                sa.update(OutcomeSubmissionRow)
                .where(
                    OutcomeSubmissionRow.id == row_id,
                    OutcomeSubmissionRow.state == SendState.PENDING.value,
                )
                .values(state=state.value, completed_at=now)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def pending_outcome_sends(self, validator_hotkey: str | None = None) -> list[OutcomeSend]:
        query = sa.select(OutcomeSubmissionRow).where(
            OutcomeSubmissionRow.state == SendState.PENDING.value
        )
        if validator_hotkey is not None:
            query = query.where(OutcomeSubmissionRow.validator_hotkey == validator_hotkey)
        with self.database.transaction() as session:
            rows = session.scalars(query.order_by(OutcomeSubmissionRow.id))
            return [_outcome_send(row) for row in rows]

    def accepted_outcome(self, validator_hotkey: str, event_id: int) -> OutcomeSend | None:
        """The newest outcome this validator accepted for the event, if any."""
        with self.database.transaction() as session:
            row = session.scalars(
                sa.select(OutcomeSubmissionRow)
                .where(
                    OutcomeSubmissionRow.validator_hotkey == validator_hotkey,
                    OutcomeSubmissionRow.event_id == event_id,
                    OutcomeSubmissionRow.state == SendState.ACCEPTED.value,
                )
                .order_by(OutcomeSubmissionRow.id.desc())
                .limit(1)
            ).one_or_none()
            return _outcome_send(row) if row is not None else None

    def prune(self, before: dt.datetime) -> int:
        """Delete outcome sends created before `before`. Returns the number deleted."""
        before = require_aware(before)
        with self.database.transaction() as session:
            result = session.execute(
                sa.delete(OutcomeSubmissionRow)
                .where(OutcomeSubmissionRow.created_at < before)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
