"""The one error every external data source raises, so callers catch a single type."""

from __future__ import annotations

from miner_runtime.errors import MinerRuntimeError


class SourceError(MinerRuntimeError):
    """A source could not answer; the message names source, league and status, no secret."""
