"""The miner's tables, as SQLAlchemy 2 typed declarative classes.

Enumerations are stored as short strings guarded by CHECK constraints rather than native
enums, so SQLite and PostgreSQL share one schema and one migration. Every timestamp is an
aware UTC `datetime` in Python (`UtcDateTime`), whatever the backend stores.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from miner_runtime.storage.send_rules import SendState

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware UTC in, aware UTC out. SQLite keeps no zone, so UTC is stored naive there.

    Naive values are refused: a naive `now` is the classic source of hour-sized bugs.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC time")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# The busiest table may outgrow 2**31 ids; SQLite needs INTEGER for its rowid alias.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class ValidatorEndpoint(Base):
    """The last CONNECTION_INFO_PUSH per validator: its token is needed for every push."""

    __tablename__ = "validator_endpoint"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    validator_hotkey: Mapped[str] = mapped_column(sa.String(64), unique=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int] = mapped_column(sa.Integer)
    token: Mapped[str] = mapped_column(sa.String(64))
    token_received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Event(Base):
    """A game from GAME_DATA_REQUEST. Rows are updated in place, never deleted by sync."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    external_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    league: Mapped[str] = mapped_column(sa.String(16))
    sport: Mapped[str] = mapped_column(sa.String(16))
    home_team: Mapped[str] = mapped_column(sa.String(255))
    away_team: Mapped[str] = mapped_column(sa.String(255))
    venue: Mapped[str | None] = mapped_column(sa.String(255))
    start_time_utc: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    synced_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Market(Base):
    """A priced market of an event; `kind` is UPPERCASE as the validator stores it."""

    __tablename__ = "market"
    __table_args__ = (sa.CheckConstraint("kind IN ('MONEYLINE', 'SPREAD', 'TOTAL')", name="kind"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    market_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.event_id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    line: Mapped[float | None] = mapped_column(sa.Float)
    synced_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class OddsSubmissionRow(Base):
    """One (validator, market, side) price per send attempt.

    The partial unique index mirrors the validator's dedupe (first push per side per 60 s
    bucket wins): at most one live (not failed) row per bucket, so a second send in the
    same minute cannot even be recorded.
    """

    __tablename__ = "odds_submission"
    __table_args__ = (
        sa.CheckConstraint(_in("state", SendState), name="state"),
        sa.CheckConstraint("side IN ('home', 'away', 'draw', 'over', 'under')", name="side"),
        sa.Index(
            "uq_odds_submission_live_bucket",
            "validator_hotkey",
            "market_id",
            "side",
            "bucket",
            unique=True,
            sqlite_where=sa.text("state <> 'failed'"),
            postgresql_where=sa.text("state <> 'failed'"),
        ),
        sa.Index("ix_odds_submission_validator_hotkey_market_id", "validator_hotkey", "market_id"),
        sa.Index("ix_odds_submission_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    validator_hotkey: Mapped[str] = mapped_column(sa.String(64))
    market_id: Mapped[int] = mapped_column(sa.ForeignKey("market.market_id"))
    side: Mapped[str] = mapped_column(sa.String(8))
    odds_eu: Mapped[float] = mapped_column(sa.Float)
    bucket: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class OutcomeSubmissionRow(Base):
    """One OUTCOME_PUSH attempt per validator and event."""

    __tablename__ = "outcome_submission"
    __table_args__ = (
        sa.CheckConstraint(_in("state", SendState), name="state"),
        sa.CheckConstraint(
            "result IS NULL OR result IN ('home', 'away', 'draw', 'over', 'under', 'push', 'void')",
            name="result",
        ),
        sa.Index("ix_outcome_submission_validator_hotkey_event_id", "validator_hotkey", "event_id"),
        sa.Index("ix_outcome_submission_state", "state"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    validator_hotkey: Mapped[str] = mapped_column(sa.String(64))
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.event_id"))
    result: Mapped[str | None] = mapped_column(sa.String(8))
    score_home: Mapped[int | None] = mapped_column(sa.Integer)
    score_away: Mapped[int | None] = mapped_column(sa.Integer)
    state: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class GameResultRow(Base):
    """A finished game from a results source: the history ratings are fitted on, and the
    facts outcome pushes are made of. Team names are kept as the source spelt them, so
    that a new alias applies to old rows too."""

    __tablename__ = "game_result"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # "<source>:<source's game id>", e.g. "espn:401584793".
    result_key: Mapped[str] = mapped_column(sa.String(96), unique=True)
    league: Mapped[str] = mapped_column(sa.String(16))
    home_team: Mapped[str] = mapped_column(sa.String(255))
    away_team: Mapped[str] = mapped_column(sa.String(255))
    start_time_utc: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    score_home: Mapped[int] = mapped_column(sa.Integer)
    score_away: Mapped[int] = mapped_column(sa.Integer)
    fetched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (sa.Index("ix_game_result_league_start_time_utc", "league", "start_time_utc"),)
