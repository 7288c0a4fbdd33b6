"""Alembic migrations for the miner database, run in-process by `storage.db.migrate`."""
