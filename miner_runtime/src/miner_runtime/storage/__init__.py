"""The miner's storage: SQLite in data_dir by default, PostgreSQL when a URL is given.

A sync SQLAlchemy 2 Engine shared by one small store per table group (endpoints, games,
odds sends, outcome sends, results), one short transaction per call; the async runtime
calls them through `asyncio.to_thread`. No call reads the clock: every time-dependent one
takes `now` (aware UTC). What to send is decided by the pure rules in `send_rules`. Schema
changes are Alembic migrations in `storage/migrations`, applied by `migrate()` /
`open_stores()`.
"""

from __future__ import annotations

from miner_runtime.storage.db import (
    create_engine,
    current_revision,
    database_url,
    default_url,
    head_revision,
    migrate,
)
from miner_runtime.storage.endpoints import Endpoint, EndpointStore
from miner_runtime.storage.games import GameStore
from miner_runtime.storage.odds_sends import OddsPlan, OddsSend, OddsSendStore
from miner_runtime.storage.outcome_sends import OutcomeSend, OutcomeSendStore, UnknownEventError
from miner_runtime.storage.results import ResultStore
from miner_runtime.storage.send_rules import SendState, SkipReason, bucket_of
from miner_runtime.storage.stores import Stores, open_stores

__all__ = [
    "Endpoint",
    "EndpointStore",
    "GameStore",
    "OddsPlan",
    "OddsSend",
    "OddsSendStore",
    "OutcomeSend",
    "OutcomeSendStore",
    "ResultStore",
    "SendState",
    "SkipReason",
    "Stores",
    "UnknownEventError",
    "bucket_of",
    "create_engine",
    "current_revision",
    "database_url",
    "default_url",
    "head_revision",
    "migrate",
    "open_stores",
]
