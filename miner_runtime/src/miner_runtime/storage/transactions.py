"""What every store shares: one Engine, a session per call, one short transaction each.

Sync on purpose: every call is a few indexed statements, so the async runtime wraps calls in
`asyncio.to_thread` rather than carrying a second (async) driver stack. Thread-safe as the
Engine is: each call opens its own session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """The engine and its session factory, shared by every store opened on one URL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on exit (or rolls back if the block raises)."""
        with self._sessions.begin() as session:
            yield session


def upsert(
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
