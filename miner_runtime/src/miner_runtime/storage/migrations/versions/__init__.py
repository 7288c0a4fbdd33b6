"""Alembic revisions (Alembic itself ignores this file)."""
