"""The miner's storage: SQLite in data_dir by default, PostgreSQL when a URL is given.

A sync SQLAlchemy 2 Engine behind the small `Store` API (one short transaction per call;
the async runtime calls it through `asyncio.to_thread`). Schema changes are Alembic
migrations shipped in `storage/migrations`, applied by `migrate()` / `Store.open()`.
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
from miner_runtime.storage.repository import (
    ActiveMarket,
    Endpoint,
    OddsPlan,
    OddsSend,
    OutcomeSend,
    SkipReason,
    Store,
    StoredEvent,
    UnknownEventError,
    bucket_of,
)
from miner_runtime.storage.tables import SendState

__all__ = [
    "ActiveMarket",
    "Endpoint",
    "OddsPlan",
    "OddsSend",
    "OutcomeSend",
    "SendState",
    "SkipReason",
    "Store",
    "StoredEvent",
    "UnknownEventError",
    "bucket_of",
    "create_engine",
    "current_revision",
    "database_url",
    "default_url",
    "head_revision",
    "migrate",
]
