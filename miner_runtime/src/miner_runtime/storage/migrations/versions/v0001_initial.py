"""Initial schema: validator endpoints, events, markets, odds and outcome sends.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATE = "state IN ('pending', 'accepted', 'failed')"


def upgrade() -> None:
    op.create_table(
        "validator_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("validator_hotkey", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("token_received_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_validator_endpoint"),
        sa.UniqueConstraint("validator_hotkey", name="uq_validator_endpoint_validator_hotkey"),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sa.BigInteger(), nullable=True),
        sa.Column("league", sa.String(16), nullable=False),
        sa.Column("sport", sa.String(16), nullable=False),
        sa.Column("home_team", sa.String(255), nullable=False),
        sa.Column("away_team", sa.String(255), nullable=False),
        sa.Column("venue", sa.String(255), nullable=True),
        sa.Column("start_time_utc", _UTC, nullable=False),
        sa.Column("synced_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event"),
        sa.UniqueConstraint("event_id", name="uq_event_event_id"),
    )
    op.create_index("ix_event_start_time_utc", "event", ["start_time_utc"])
    op.create_table(
        "market",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column("synced_at", _UTC, nullable=False),
        sa.CheckConstraint("kind IN ('MONEYLINE', 'SPREAD', 'TOTAL')", name="ck_market_kind"),
        sa.ForeignKeyConstraint(["event_id"], ["event.event_id"], name="fk_market_event_id_event"),
        sa.PrimaryKeyConstraint("id", name="pk_market"),
        sa.UniqueConstraint("market_id", name="uq_market_market_id"),
    )
    op.create_index("ix_market_event_id", "market", ["event_id"])
    op.create_table(
        "odds_submission",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("validator_hotkey", sa.String(64), nullable=False),
        sa.Column("market_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("odds_eu", sa.Float(), nullable=False),
        sa.Column("bucket", _UTC, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("completed_at", _UTC, nullable=True),
        sa.CheckConstraint(_STATE, name="ck_odds_submission_state"),
        sa.CheckConstraint(
            "side IN ('home', 'away', 'draw', 'over', 'under')", name="ck_odds_submission_side"
        ),
        sa.ForeignKeyConstraint(
            ["market_id"], ["market.market_id"], name="fk_odds_submission_market_id_market"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_odds_submission"),
    )
    op.create_index(
        "uq_odds_submission_live_bucket",
        "odds_submission",
        ["validator_hotkey", "market_id", "side", "bucket"],
        unique=True,
        sqlite_where=sa.text("state <> 'failed'"),
        postgresql_where=sa.text("state <> 'failed'"),
    )
    op.create_index(
        "ix_odds_submission_validator_hotkey_market_id",
        "odds_submission",
        ["validator_hotkey", "market_id"],
    )
    op.create_index("ix_odds_submission_state", "odds_submission", ["state"])
    op.create_table(
        "outcome_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("validator_hotkey", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.String(8), nullable=True),
        sa.Column("score_home", sa.Integer(), nullable=True),
        sa.Column("score_away", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("completed_at", _UTC, nullable=True),
        sa.CheckConstraint(_STATE, name="ck_outcome_submission_state"),
        sa.CheckConstraint(
            "result IS NULL OR result IN ('home', 'away', 'draw', 'over', 'under', 'push', 'void')",
            name="ck_outcome_submission_result",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.event_id"], name="fk_outcome_submission_event_id_event"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outcome_submission"),
    )
    op.create_index(
        "ix_outcome_submission_validator_hotkey_event_id",
        "outcome_submission",
        ["validator_hotkey", "event_id"],
    )
    op.create_index("ix_outcome_submission_state", "outcome_submission", ["state"])


def downgrade() -> None:
    op.drop_table("outcome_submission")
    op.drop_table("odds_submission")
    op.drop_table("market")
    op.drop_table("event")
    op.drop_table("validator_endpoint")
