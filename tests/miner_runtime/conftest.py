"""Database fixtures for runtime tests: each runs on SQLite and on a fresh PostgreSQL DB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from miner_runtime.logs import reclaim_loggers
from miner_runtime.storage import Stores, open_stores
from sparket_local_services.services import PostgresServer


def _admin_dsn(server: PostgresServer) -> str:
    return make_url(server.url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind; PostgreSQL gets its own database per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'miner.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"miner_{uuid.uuid4().hex}"
    with psycopg.connect(_admin_dsn(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server.url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_dsn(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def stores(db_url: str) -> Iterator[Stores]:
    with open_stores(db_url) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _our_loggers_log() -> None:
    """Collecting the suite imports bittensor, which silences loggers created before it;
    the runtime undoes that at start (`configure_logging`), and so does each test."""
    reclaim_loggers()
