"""Alembic environment: runs on the connection `storage.db.migrate` hands over.

No alembic.ini, no logging setup, no offline mode: the runtime migrates its own database
at start-up, inside the caller's transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from miner_runtime.storage.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations through miner_runtime.storage.db.migrate()")
_run(_connection)
