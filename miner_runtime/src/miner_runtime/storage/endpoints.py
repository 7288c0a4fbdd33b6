"""Validator endpoints: the last CONNECTION_INFO_PUSH per validator, so tokens survive restarts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from miner_runtime.clock import require_aware
from miner_runtime.storage.tables import ValidatorEndpoint
from miner_runtime.storage.transactions import Database


@dataclass(frozen=True)
class Endpoint:
    validator_hotkey: str
    host: str
    port: int
    token: str
    token_received_at: dt.datetime
    updated_at: dt.datetime


def _endpoint(row: ValidatorEndpoint) -> Endpoint:
    return Endpoint(
        validator_hotkey=row.validator_hotkey,
        host=row.host,
        port=row.port,
        token=row.token,
        token_received_at=row.token_received_at,
        updated_at=row.updated_at,
    )


class EndpointStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def save_validator_endpoint(
        self, validator_hotkey: str, host: str, port: int, token: str, now: dt.datetime
    ) -> None:
        """Upsert a CONNECTION_INFO_PUSH, keyed by the sender's (dendrite) hotkey.

        `token_received_at` moves only when the token changes, so it tells the token's age.
        """
        now = require_aware(now)
        with self.database.transaction() as session:
            row = session.scalars(
                sa.select(ValidatorEndpoint)
                .where(ValidatorEndpoint.validator_hotkey == validator_hotkey)
                .with_for_update()
            ).one_or_none()
            if row is None:
                session.add(
                    ValidatorEndpoint(
                        validator_hotkey=validator_hotkey,
                        host=host,
                        port=port,
                        token=token,
                        token_received_at=now,
                        updated_at=now,
                    )
                )
                return
            if row.token != token:
                row.token = token
                row.token_received_at = now
            row.host, row.port, row.updated_at = host, port, now

    def validator_endpoint(self, validator_hotkey: str) -> Endpoint | None:
        with self.database.transaction() as session:
            row = session.scalars(
                sa.select(ValidatorEndpoint).where(
                    ValidatorEndpoint.validator_hotkey == validator_hotkey
                )
            ).one_or_none()
            return _endpoint(row) if row is not None else None

    def validator_endpoints(self) -> list[Endpoint]:
        with self.database.transaction() as session:
            rows = session.scalars(
                sa.select(ValidatorEndpoint).order_by(ValidatorEndpoint.validator_hotkey)
            )
            return [_endpoint(row) for row in rows]
