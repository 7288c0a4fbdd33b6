"""Every store on one database, opened (and migrated) together and closed once."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Self

from sqlalchemy.engine import URL, Engine

from miner_runtime.storage.db import create_engine, migrate
from miner_runtime.storage.endpoints import EndpointStore
from miner_runtime.storage.games import GameStore
from miner_runtime.storage.odds_sends import OddsSendStore
from miner_runtime.storage.outcome_sends import OutcomeSendStore
from miner_runtime.storage.results import ResultStore
from miner_runtime.storage.transactions import Database


@dataclass(frozen=True)
class Stores:
    """One store per table group, sharing one engine; hand each caller only what it uses."""

    database: Database
    endpoints: EndpointStore
    games: GameStore
    odds: OddsSendStore
    outcomes: OutcomeSendStore
    results: ResultStore

    @classmethod
    def on(cls, engine: Engine) -> Stores:
        database = Database(engine)
        return cls(
            database=database,
            endpoints=EndpointStore(database),
            games=GameStore(database),
            odds=OddsSendStore(database),
            outcomes=OutcomeSendStore(database),
            results=ResultStore(database),
        )

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def close(self) -> None:
        self.database.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_stores(url: str | URL) -> Stores:
    """Create the engine, bring the schema to the newest revision, and open every store."""
    engine = create_engine(url)
    migrate(engine)
    return Stores.on(engine)
