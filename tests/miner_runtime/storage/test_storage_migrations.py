"""Engines and migrations: the shipped Alembic scripts build exactly the declared schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from miner_runtime.errors import ConfigError
from miner_runtime.storage import (
    create_engine,
    current_revision,
    database_url,
    default_url,
    head_revision,
    migrate,
)
from miner_runtime.storage.tables import Base

TABLES = {
    "validator_endpoint",
    "event",
    "market",
    "odds_submission",
    "outcome_submission",
    "game_result",
}


def test_migrate_reaches_head_and_is_idempotent(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert current_revision(engine) is None
        migrate(db_url)  # by URL: its own engine, disposed afterwards
        migrate(engine)  # again, by engine: nothing to do
        assert current_revision(engine) == head_revision() == "0002"
        assert set(sa.inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_match_the_declared_tables(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_sqlite_pragmas_are_set_on_this_engine_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'miner.db'}"
    engine = create_engine(url)
    plain = sa.create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
            assert pragma("PRAGMA busy_timeout").scalar() == 10_000
        assert (tmp_path / "nested" / "dir" / "miner.db").exists()
        with plain.connect() as connection:  # no global listener leaked to other engines
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal"
    finally:
        engine.dispose()
        plain.dispose()


def test_default_url_is_a_sqlite_file_in_data_dir(tmp_path: Path) -> None:
    assert default_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/miner.db"
    assert database_url(tmp_path, None) == default_url(tmp_path)
    assert database_url(tmp_path, "") == default_url(tmp_path)
    pg = "postgresql+psycopg://u@127.0.0.1:5432/m"
    assert database_url(tmp_path, pg) == pg


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = create_engine("postgresql://u@127.0.0.1:1/m")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite+pysqlcipher:///x.db", "SQLite driver"),
        ("postgresql+psycopg2://u@127.0.0.1/m", "PostgreSQL driver"),
        ("mysql://u@127.0.0.1/m", "unsupported database mysql"),
    ],
)
def test_unsupported_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_engine(url)
