"""The miner's storage API: a sync `Store` over one Engine, one short transaction per call.

Sync on purpose: every call is a few indexed statements, so the async runtime wraps calls in
`asyncio.to_thread` rather than carrying a second (async) driver stack. No method reads the
clock: every time-dependent call takes `now` (aware UTC), which keeps them pure and testable.

Sending is a two-step protocol that survives `kill -9`:

1. `plan_odds_sends` / `plan_outcome_send` decide what to send and record it as `pending`
   in the same transaction (the decision's reads and the insert commit together);
2. after the reply, `complete_odds_sends` / `complete_outcome_send` mark `accepted` or
   `failed`. Mark `failed` only when the validator certainly stored nothing (an error
   envelope, 403/429, a refused connection). When the fate is unknown (a timeout, or a
   crash between 1 and 2) the row stays `pending`: it is then treated as possibly stored,
   i.e. it counts toward the daily cap and blocks re-sending the same price or outcome.
   The runtime may list such rows with `pending_odds_sends` / `pending_outcome_sends` and
   mark them failed to force a re-send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker

from miner_runtime.errors import MinerRuntimeError
from miner_runtime.pricing.results import GameResult
from miner_runtime.protocol.messages import (
    Game,
    League,
    MarketKind,
    OddsSubmission,
    OutcomeResult,
    Side,
    Sport,
)
from miner_runtime.storage.db import create_engine, migrate
from miner_runtime.storage.tables import (
    Event,
    GameResultRow,
    Market,
    OddsSubmissionRow,
    OutcomeSubmissionRow,
    SendState,
    ValidatorEndpoint,
)

BUCKET = dt.timedelta(seconds=60)  # the validator floors receive times to the minute
CAP_WINDOW = dt.timedelta(hours=24)
ROWS_PER_MARKET_CAP = 200  # stored rows (one per side) per (miner, market) per 24 h
ODDS_HORIZON = dt.timedelta(days=7)  # the validator drops odds for later events
OUTCOME_WINDOW = dt.timedelta(hours=12)  # outcomes are taken until start + 12 h

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class UnknownEventError(MinerRuntimeError):
    """An outcome was planned for an event the miner has never synced."""


def _require_aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: pass an aware UTC time")
    return now.astimezone(dt.UTC)


def bucket_of(moment: dt.datetime) -> dt.datetime:
    """The validator's dedupe bucket: the time floored to 60 s, in UTC."""
    moment = _require_aware(moment)
    return moment - (moment - _EPOCH) % BUCKET


@dataclass(frozen=True)
class Endpoint:
    validator_hotkey: str
    host: str
    port: int
    token: str
    token_received_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ActiveMarket:
    """A market the validator currently takes odds for, with what pricing needs to know."""

    market_id: int
    kind: MarketKind
    line: float | None
    event_id: int
    league: League
    sport: Sport
    home_team: str
    away_team: str
    start_time_utc: dt.datetime


@dataclass(frozen=True)
class StoredEvent:
    event_id: int
    league: League
    sport: Sport
    home_team: str
    away_team: str
    start_time_utc: dt.datetime


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


class SkipReason(StrEnum):
    """Why a quoted market is not sent to a validator this time."""

    UNKNOWN_MARKET = "unknown_market"  # never synced: the validator would drop it
    UNCHANGED = "unchanged"  # every side equals the last accepted/pending price
    SAME_BUCKET = "same_bucket"  # already sent this minute: the first push wins
    CAPPED = "capped"  # the validator's 24 h per-market row cap is reached


@dataclass(frozen=True)
class OddsPlan:
    """What to push to one validator now; `row_ids` are the pending rows to complete."""

    submissions: tuple[OddsSubmission, ...] = ()
    row_ids: tuple[int, ...] = ()
    skipped: Mapping[int, SkipReason] = field(default_factory=dict)
    # How many of the given quotes were looked at (all of them unless `limit` stopped it).
    examined: int = 0


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


def _game_result(row: GameResultRow) -> GameResult:
    source, _, source_id = row.result_key.partition(":")
    return GameResult(
        league=League(row.league),
        home_team=row.home_team,
        away_team=row.away_team,
        start_time_utc=row.start_time_utc,
        score_home=row.score_home,
        score_away=row.score_away,
        source=source,
        source_id=source_id,
    )


def _endpoint(row: ValidatorEndpoint) -> Endpoint:
    return Endpoint(
        validator_hotkey=row.validator_hotkey,
        host=row.host,
        port=row.port,
        token=row.token,
        token_received_at=row.token_received_at,
        updated_at=row.updated_at,
    )


def _final(state: SendState | str) -> SendState:
    state = SendState(state)
    if state is SendState.PENDING:
        raise ValueError("a send is completed as accepted or failed, not pending")
    return state


_LIVE_ODDS = OddsSubmissionRow.state != SendState.FAILED.value


class Store:
    """The repository. Thread-safe as the Engine is: each call opens its own session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | URL) -> Store:
        """Create the engine, bring the schema to the newest revision, and wrap it."""
        engine = create_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    @staticmethod
    def _upsert(
        connection: sa.Connection, table: sa.Table, rows: list[dict[str, object]], key: str
    ) -> None:
        """INSERT ... ON CONFLICT (key) DO UPDATE, in each backend's dialect."""
        unique = list({row[key]: row for row in rows}.values())  # one row per key, last wins
        if not unique:
            return
        dialect = connection.dialect.name
        statement = (
            postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        ).values(unique)
        updates = {name: statement.excluded[name] for name in unique[0] if name != key}
        connection.execute(statement.on_conflict_do_update(index_elements=[key], set_=updates))

    # ---- validator endpoints ---------------------------------------------------------

    def save_validator_endpoint(
        self, validator_hotkey: str, host: str, port: int, token: str, now: dt.datetime
    ) -> None:
        """Upsert a CONNECTION_INFO_PUSH, keyed by the sender's (dendrite) hotkey.

        `token_received_at` moves only when the token changes, so it tells the token's age.
        """
        now = _require_aware(now)
        with self._transaction() as session:
            row = session.scalars(
                sa.select(ValidatorEndpoint)
                .where(ValidatorEndpoint.validator_hotkey == validator_hotkey)
                .with_for_update()
            ).one_or_none()
            if row is None:
                session.add(
                    ValidatorEndpoint(
                        validator_hotkey=validator_hotkey,
                        host=host,
                        port=port,
                        token=token,
                        token_received_at=now,
                        updated_at=now,
                    )
                )
                return
            if row.token != token:
                row.token = token
                row.token_received_at = now
            row.host, row.port, row.updated_at = host, port, now

    def validator_endpoint(self, validator_hotkey: str) -> Endpoint | None:
        with self._transaction() as session:
            row = session.scalars(
                sa.select(ValidatorEndpoint).where(
                    ValidatorEndpoint.validator_hotkey == validator_hotkey
                )
            ).one_or_none()
            return _endpoint(row) if row is not None else None

    def validator_endpoints(self) -> list[Endpoint]:
        with self._transaction() as session:
            rows = session.scalars(
                sa.select(ValidatorEndpoint).order_by(ValidatorEndpoint.validator_hotkey)
            )
            return [_endpoint(row) for row in rows]

    # ---- games -----------------------------------------------------------------------

    def upsert_games(self, games: Iterable[Game], now: dt.datetime) -> int:
        """Store a GAME_DATA snapshot (events, then their markets). Returns the game count.

        Nothing is deleted: a game missing from a snapshot has started or been dropped,
        and its rows are still needed for outcomes and the send history.
        """
        now = _require_aware(now)
        games = list(games)
        events: list[dict[str, object]] = [
            {
                "event_id": g.event_id,
                "external_id": g.external_id,
                "league": g.league.value,
                "sport": g.sport.value,
                "home_team": g.home_team,
                "away_team": g.away_team,
                "venue": g.venue,
                "start_time_utc": g.start_time_utc,
                "synced_at": now,
            }
            for g in games
        ]
        markets: list[dict[str, object]] = [
            {
                "market_id": m.market_id,
                "event_id": g.event_id,
                "kind": m.kind.value,
                "line": m.line,
                "synced_at": now,
            }
            for g in games
            for m in g.markets
        ]
        with self.engine.begin() as connection:
            self._upsert(connection, Event.__table__, events, "event_id")  # type: ignore[arg-type]
            self._upsert(connection, Market.__table__, markets, "market_id")  # type: ignore[arg-type]
        return len(games)

    def active_markets(
        self, now: dt.datetime, horizon: dt.timedelta = ODDS_HORIZON
    ) -> list[ActiveMarket]:
        """Markets of events starting in (now, now + horizon], soonest first."""
        now = _require_aware(now)
        with self._transaction() as session:
            rows = session.execute(
                sa.select(Market, Event)
                .join(Event, Market.event_id == Event.event_id)
                .where(Event.start_time_utc > now, Event.start_time_utc <= now + horizon)
                .order_by(Event.start_time_utc, Market.market_id)
            )
            return [
                ActiveMarket(
                    market_id=market.market_id,
                    kind=MarketKind(market.kind),
                    line=market.line,
                    event_id=event.event_id,
                    league=League(event.league),
                    sport=Sport(event.sport),
                    home_team=event.home_team,
                    away_team=event.away_team,
                    start_time_utc=event.start_time_utc,
                )
                for market, event in rows
            ]

    def events_in_outcome_window(
        self, now: dt.datetime, window: dt.timedelta = OUTCOME_WINDOW
    ) -> list[StoredEvent]:
        """Events with start <= now <= start + window: the ones outcomes are taken for."""
        now = _require_aware(now)
        with self._transaction() as session:
            rows = session.scalars(
                sa.select(Event)
                .where(Event.start_time_utc <= now, Event.start_time_utc >= now - window)
                .order_by(Event.start_time_utc, Event.event_id)
            )
            return [
                StoredEvent(
                    event_id=e.event_id,
                    league=League(e.league),
                    sport=Sport(e.sport),
                    home_team=e.home_team,
                    away_team=e.away_team,
                    start_time_utc=e.start_time_utc,
                )
                for e in rows
            ]

    # ---- odds ------------------------------------------------------------------------

    @staticmethod
    def _row_counts(
        session: Session, validator_hotkey: str, market_ids: Sequence[int], now: dt.datetime
    ) -> dict[int, int]:
        # One live row per (side, bucket) is guaranteed by the partial unique index, so a
        # plain count equals what the validator may have stored (conservatively: pending
        # rows count, and the window starts at the current bucket minus 24 h).
        since = bucket_of(now) - CAP_WINDOW
        rows = session.execute(
            sa.select(OddsSubmissionRow.market_id, sa.func.count())
            .where(
                OddsSubmissionRow.validator_hotkey == validator_hotkey,
                OddsSubmissionRow.market_id.in_(market_ids),
                OddsSubmissionRow.bucket >= since,
                _LIVE_ODDS,
            )
            .group_by(OddsSubmissionRow.market_id)
        )
        return {market_id: count for market_id, count in rows}

    @staticmethod
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

    def stored_row_counts(
        self, validator_hotkey: str, market_ids: Sequence[int], now: dt.datetime
    ) -> dict[int, int]:
        """Rows the validator may hold per market over the last 24 h (absent means 0)."""
        now = _require_aware(now)
        with self._transaction() as session:
            return self._row_counts(session, validator_hotkey, market_ids, now)

    def last_accepted_prices(
        self, validator_hotkey: str, market_ids: Sequence[int]
    ) -> dict[tuple[int, Side], float]:
        """The newest accepted `odds_eu` per (market, side) for this validator."""
        with self._transaction() as session:
            return self._latest_prices(session, validator_hotkey, market_ids, SendState.ACCEPTED)

    def plan_odds_sends(
        self,
        validator_hotkey: str,
        quotes: Sequence[OddsSubmission],
        now: dt.datetime,
        cap: int = ROWS_PER_MARKET_CAP,
        limit: int | None = None,
    ) -> OddsPlan:
        """Decide which quotes to push to one validator and record them as pending.

        The unit is the market, not the side: if any side changed, every quoted side is
        sent, because a 3-way market scores only with all sides in one 60 s bucket. A
        market is skipped when unknown, unchanged against the last accepted or pending
        price, already sent in this bucket, or at the validator's cap (count >= cap,
        exactly the validator's test). With `limit`, planning stops once `limit` markets
        are chosen (one request's worth), so a crash leaves at most one batch in doubt;
        `examined` says where to continue.
        """
        now = _require_aware(now)
        market_ids = [q.market_id for q in quotes]
        if len(set(market_ids)) != len(market_ids):
            raise ValueError("each market may be quoted once per plan")
        if not quotes:
            return OddsPlan()
        bucket = bucket_of(now)
        skipped: dict[int, SkipReason] = {}
        sending: list[OddsSubmission] = []
        with self._transaction() as session:
            # Locking the market rows serialises concurrent planners on PostgreSQL;
            # SQLite's BEGIN IMMEDIATE already did.
            known = set(
                session.scalars(
                    sa.select(Market.market_id)
                    .where(Market.market_id.in_(market_ids))
                    .with_for_update()
                )
            )
            last = self._latest_prices(
                session, validator_hotkey, market_ids, SendState.ACCEPTED, SendState.PENDING
            )
            counts = self._row_counts(session, validator_hotkey, market_ids, now)
            taken = set(
                session.scalars(
                    sa.select(OddsSubmissionRow.market_id).where(
                        OddsSubmissionRow.validator_hotkey == validator_hotkey,
                        OddsSubmissionRow.market_id.in_(market_ids),
                        OddsSubmissionRow.bucket == bucket,
                        _LIVE_ODDS,
                    )
                )
            )
            rows: list[OddsSubmissionRow] = []
            examined = 0
            for quote in quotes:
                if limit is not None and len(sending) >= limit:
                    break
                examined += 1
                reason: SkipReason | None = None
                if quote.market_id not in known:
                    reason = SkipReason.UNKNOWN_MARKET
                elif all(last.get((quote.market_id, p.side)) == p.odds_eu for p in quote.prices):
                    reason = SkipReason.UNCHANGED
                elif quote.market_id in taken:
                    reason = SkipReason.SAME_BUCKET
                elif counts.get(quote.market_id, 0) >= cap:
                    reason = SkipReason.CAPPED
                if reason is not None:
                    skipped[quote.market_id] = reason
                    continue
                sending.append(quote)
                rows.extend(
                    OddsSubmissionRow(
                        validator_hotkey=validator_hotkey,
                        market_id=quote.market_id,
                        side=price.side.value,
                        odds_eu=price.odds_eu,
                        bucket=bucket,
                        state=SendState.PENDING.value,
                        created_at=now,
                    )
                    for price in quote.prices
                )
            session.add_all(rows)
            session.flush()
            row_ids = tuple(row.id for row in rows)
        return OddsPlan(
            submissions=tuple(sending), row_ids=row_ids, skipped=skipped, examined=examined
        )

    def complete_odds_sends(
        self, row_ids: Iterable[int], state: SendState | str, now: dt.datetime
    ) -> int:
        """Record the reply for pending rows. Completed rows never change. Returns rows hit."""
        state, now, ids = _final(state), _require_aware(now), list(row_ids)
        if not ids:
            return 0
        with self._transaction() as session:
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

    def pending_odds_sends(self, validator_hotkey: str | None = None) -> list[OddsSend]:
        """Sends whose reply never arrived (in flight, timed out, or cut by a crash)."""
        query = sa.select(OddsSubmissionRow).where(
            OddsSubmissionRow.state == SendState.PENDING.value
        )
        if validator_hotkey is not None:
            query = query.where(OddsSubmissionRow.validator_hotkey == validator_hotkey)
        with self._transaction() as session:
            return [
                _odds_send(row) for row in session.scalars(query.order_by(OddsSubmissionRow.id))
            ]

    def odds_sends(self, validator_hotkey: str, market_id: int) -> list[OddsSend]:
        """Every recorded send for one (validator, market), oldest first (for /status)."""
        with self._transaction() as session:
            rows = session.scalars(
                sa.select(OddsSubmissionRow)
                .where(
                    OddsSubmissionRow.validator_hotkey == validator_hotkey,
                    OddsSubmissionRow.market_id == market_id,
                )
                .order_by(OddsSubmissionRow.id)
            )
            return [_odds_send(row) for row in rows]

    # ---- outcomes --------------------------------------------------------------------

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
        (or may have, if pending) the same result and scores: it is sent once per change.
        """
        now = _require_aware(now)
        if (score_home is None) != (score_away is None):
            raise ValueError("score_home and score_away go together")
        if result is None and score_home is None:
            raise ValueError("an outcome needs a result or both scores")
        result_value = result.value if result is not None else None
        with self._transaction() as session:
            event = session.scalars(
                sa.select(Event.event_id).where(Event.event_id == event_id).with_for_update()
            ).one_or_none()
            if event is None:
                raise UnknownEventError(f"event {event_id} was never synced")
            previous = session.scalars(
                sa.select(OutcomeSubmissionRow)
                .where(
                    OutcomeSubmissionRow.validator_hotkey == validator_hotkey,
                    OutcomeSubmissionRow.event_id == event_id,
                    OutcomeSubmissionRow.state != SendState.FAILED.value,
                )
                .order_by(OutcomeSubmissionRow.id.desc())
                .limit(1)
            ).one_or_none()
            if previous is not None and (
                previous.result,
                previous.score_home,
                previous.score_away,
            ) == (result_value, score_home, score_away):
                return None
            row = OutcomeSubmissionRow(
                validator_hotkey=validator_hotkey,
                event_id=event_id,
                result=result_value,
                score_home=score_home,
                score_away=score_away,
                state=SendState.PENDING.value,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _outcome_send(row)

    def complete_outcome_send(self, row_id: int, state: SendState | str, now: dt.datetime) -> bool:
        """Record the reply for a pending outcome row; False if it was already completed."""
        state, now = _final(state), _require_aware(now)
        with self._transaction() as session:
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
        with self._transaction() as session:
            rows = session.scalars(query.order_by(OutcomeSubmissionRow.id))
            return [_outcome_send(row) for row in rows]

    def accepted_outcome(self, validator_hotkey: str, event_id: int) -> OutcomeSend | None:
        """The newest outcome this validator accepted for the event, if any."""
        with self._transaction() as session:
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

    # ---- results history -------------------------------------------------------------

    def save_results(self, results: Iterable[GameResult], now: dt.datetime) -> int:
        """Store finished games (a corrected score replaces the old one). Returns the count."""
        now = _require_aware(now)
        rows: list[dict[str, object]] = [
            {
                "result_key": f"{r.source}:{r.source_id}",
                "league": r.league.value,
                "home_team": r.home_team,
                "away_team": r.away_team,
                "start_time_utc": _require_aware(r.start_time_utc),
                "score_home": r.score_home,
                "score_away": r.score_away,
                "fetched_at": now,
            }
            for r in results
        ]
        with self.engine.begin() as connection:
            self._upsert(connection, GameResultRow.__table__, rows, "result_key")  # type: ignore[arg-type]
        return len(rows)

    def results(
        self, league: League, since: dt.datetime, until: dt.datetime | None = None
    ) -> list[GameResult]:
        """Finished games of `league` that started in [since, until), oldest first."""
        query = sa.select(GameResultRow).where(
            GameResultRow.league == league.value,
            GameResultRow.start_time_utc >= _require_aware(since),
        )
        if until is not None:
            query = query.where(GameResultRow.start_time_utc < _require_aware(until))
        with self._transaction() as session:
            rows = session.scalars(query.order_by(GameResultRow.start_time_utc, GameResultRow.id))
            return [_game_result(row) for row in rows]

    def latest_result_at(self, league: League) -> dt.datetime | None:
        """The start time of the newest stored result of `league` (where fetching resumes)."""
        with self._transaction() as session:
            return session.scalar(
                sa.select(sa.func.max(GameResultRow.start_time_utc)).where(
                    GameResultRow.league == league.value
                )
            )

    # ---- housekeeping ----------------------------------------------------------------

    def prune_sends(self, before: dt.datetime) -> int:
        """Delete send records created before `before` (keep well over 24 h: the cap and
        the unchanged-price check read them). Returns the number of rows deleted."""
        before = _require_aware(before)
        with self._transaction() as session:
            deleted = 0
            for table in (OddsSubmissionRow, OutcomeSubmissionRow):
                result = session.execute(
                    sa.delete(table)
                    .where(table.created_at < before)
                    .execution_options(synchronize_session=False)
                )
                deleted += int(result.rowcount)  # type: ignore[attr-defined]
            return deleted
