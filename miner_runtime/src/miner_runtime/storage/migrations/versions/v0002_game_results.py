"""Results history: finished games from the results sources (ratings, outcome pushes).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "game_result",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("result_key", sa.String(96), nullable=False),
        sa.Column("league", sa.String(16), nullable=False),
        sa.Column("home_team", sa.String(255), nullable=False),
        sa.Column("away_team", sa.String(255), nullable=False),
        sa.Column("start_time_utc", _UTC, nullable=False),
        sa.Column("score_home", sa.Integer(), nullable=False),
        sa.Column("score_away", sa.Integer(), nullable=False),
        sa.Column("fetched_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_game_result"),
        sa.UniqueConstraint("result_key", name="uq_game_result_result_key"),
    )
    op.create_index(
        "ix_game_result_league_start_time_utc", "game_result", ["league", "start_time_utc"]
    )


def downgrade() -> None:
    op.drop_table("game_result")
