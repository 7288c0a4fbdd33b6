"""The results history: finished games the pricing engine fits on and outcomes come from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from miner_runtime.clock import require_aware
from miner_runtime.protocol.messages import League
from miner_runtime.protocol.results import GameResult
from miner_runtime.storage.tables import GameResultRow
from miner_runtime.storage.transactions import Database, upsert


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


class ResultStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def save_results(self, results: Iterable[GameResult], now: dt.datetime) -> int:
        """Store finished games (a corrected score replaces the old one). Returns the count."""
        now = require_aware(now)
        rows: list[dict[str, object]] = [
            {
                "result_key": f"{r.source}:{r.source_id}",
                "league": r.league.value,
                "home_team": r.home_team,
                "away_team": r.away_team,
                "start_time_utc": require_aware(r.start_time_utc),
                "score_home": r.score_home,
                "score_away": r.score_away,
                "fetched_at": now,
            }
            for r in results
        ]
        with self.database.engine.begin() as connection:
            upsert(connection, GameResultRow.__table__, rows, "result_key")  # type: ignore[arg-type]
        return len(rows)

    def results(
        self, league: League, since: dt.datetime, until: dt.datetime | None = None
    ) -> list[GameResult]:
        """Finished games of `league` that started in [since, until), oldest first."""
        query = sa.select(GameResultRow).where(
            GameResultRow.league == league.value,
            GameResultRow.start_time_utc >= require_aware(since),
        )
        if until is not None:
            query = query.where(GameResultRow.start_time_utc < require_aware(until))
        with self.database.transaction() as session:
            rows = session.scalars(query.order_by(GameResultRow.start_time_utc, GameResultRow.id))
            return [_game_result(row) for row in rows]

    def latest_result_at(self, league: League) -> dt.datetime | None:
        """The start time of the newest stored result of `league` (where fetching resumes)."""
        with self.database.transaction() as session:
            return session.scalar(
                sa.select(sa.func.max(GameResultRow.start_time_utc)).where(
                    GameResultRow.league == league.value
                )
            )
