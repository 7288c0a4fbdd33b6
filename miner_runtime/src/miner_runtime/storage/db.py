"""Engines and migrations.

SQLite (the default, a file in `data_dir`) gets its pragmas from a `connect` listener on
that one engine: WAL so readers never block the writer, `synchronous=FULL` so a commit
survives a crash, foreign keys on. Every SQLite transaction starts with `BEGIN IMMEDIATE`
so a read-decide-write transaction (record a send only if not already sent) holds the
write lock from its first read; pysqlite's own deferred BEGIN would not. PostgreSQL is
reached through psycopg 3. Migrations are Alembic scripts shipped in this package and run
in-process: no alembic.ini is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine, make_url

from miner_runtime.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_FILENAME = "miner.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def default_url(data_dir: Path) -> str:
    """The SQLite file used when no database URL is configured."""
    return f"sqlite:///{(data_dir.expanduser() / SQLITE_FILENAME).resolve()}"


def database_url(data_dir: Path, configured: str | None) -> str:
    """The configured URL (e.g. settings.database_url) or the SQLite file in data_dir."""
    return configured if configured else default_url(data_dir)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level: SQLAlchemy's "begin" listener issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _normalise(url: str | URL) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite":
            raise ConfigError(f"unsupported SQLite driver {parsed.drivername}; use sqlite:///")
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError("the miner database must be a file, not an in-memory SQLite")
        return parsed
    if backend == "postgresql":
        if parsed.drivername not in ("postgresql", "postgresql+psycopg"):
            raise ConfigError(
                f"unsupported PostgreSQL driver {parsed.drivername}; use postgresql+psycopg://"
            )
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(f"unsupported database {backend}; use sqlite:/// or postgresql+psycopg://")


def create_engine(url: str | URL) -> Engine:
    """An engine for SQLite (file, created with its folder) or PostgreSQL (psycopg 3)."""
    parsed = _normalise(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True)


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration shipped with this package."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(target: Engine | str | URL, revision: str = "head") -> None:
    """Upgrade the database to `revision`, in one transaction (both backends support DDL
    in transactions, so a crash mid-migration leaves the previous revision intact)."""
    engine = target if isinstance(target, Engine) else create_engine(target)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    finally:
        if engine is not target:
            engine.dispose()
