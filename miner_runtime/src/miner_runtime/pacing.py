"""How often each background loop runs, and the jitter that keeps a fleet's hotkeys from
stepping in lockstep (a validator sees one egress IP's hotkeys spread out, not bunched)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from miner_runtime.settings import Settings

CHAIN_SYNC_SECONDS = 120.0  # the reference resyncs its metagraph about this often
GAME_SYNC_SECONDS = 300.0  # the reference's game sync cadence
SERVE_RETRY_SECONDS = 600.0  # the chain rate-limits serve_axon; do not hammer it


@dataclass(frozen=True)
class Cadence:
    """How often each loop runs. From settings in production; shorter in tests."""

    chain_sync_seconds: float
    game_sync_seconds: float
    odds_seconds: float
    outcome_seconds: float
    jitter_seconds: float
    stats_refresh_seconds: float = 3600.0
    # How long the first odds cycle waits for the first model fit (history back-fill).
    first_fit_wait_seconds: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Cadence:
        base = settings.base_miner
        return cls(
            chain_sync_seconds=CHAIN_SYNC_SECONDS,
            game_sync_seconds=GAME_SYNC_SECONDS,
            odds_seconds=float(base.odds_refresh_seconds),
            outcome_seconds=float(base.outcome_check_seconds),
            jitter_seconds=float(base.jitter_seconds),
            stats_refresh_seconds=float(base.stats_refresh_seconds),
        )


class Pacer:
    """The cadence plus one random source, shared by every loop of a runtime."""

    def __init__(self, cadence: Cadence, rng: random.Random | None = None) -> None:
        self.cadence = cadence
        self._rng = rng or random.Random()

    def jittered(self, seconds: float) -> float:
        jitter = min(self.cadence.jitter_seconds, seconds / 2)
        return max(0.0, seconds + self._rng.uniform(-jitter, jitter))

    def initial_delay(self) -> float:
        """A random start within the jitter, so restarted hotkeys do not start together."""
        return self._rng.uniform(0, self.cadence.jitter_seconds)

    async def every(self, seconds: float, step: Callable[[], Awaitable[Any]]) -> None:
        """Run `step`, then wait about `seconds` (counted from its end), for ever."""
        while True:
            await step()
            await asyncio.sleep(self.jittered(seconds))
