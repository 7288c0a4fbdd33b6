"""The refit loop with a model sidecar (no built-in engine): it marks pricing ready once the
first game sync was tried, then keeps running. It once returned instead, and the app stops
when any loop ends: every miner with a sidecar exited right after its first game sync (the
real node's pods showed it)."""

from __future__ import annotations

import asyncio
from typing import cast

from miner_runtime.pacing import Pacer
from miner_runtime.pricing.history import ResultsHistory
from miner_runtime.submission.refits import ModelRefits


def _without_builtin_engine() -> ModelRefits:
    # Neither is touched without a built-in engine: nothing is fitted.
    history = cast(ResultsHistory, object())
    return ModelRefits(None, history, active_markets=lambda now: [], priced_leagues=frozenset())


async def test_without_a_builtin_engine_the_loop_waits_for_the_first_game_sync() -> None:
    refits = _without_builtin_engine()
    games_tried = asyncio.Event()
    loop = asyncio.create_task(refits.run(cast(Pacer, object()), games_tried))
    await asyncio.sleep(0)
    assert not refits.ready.is_set()
    games_tried.set()
    await asyncio.wait_for(refits.ready.wait(), timeout=5)
    loop.cancel()


async def test_without_a_builtin_engine_the_loop_keeps_running_until_cancelled() -> None:
    refits = _without_builtin_engine()
    games_tried = asyncio.Event()
    games_tried.set()
    loop = asyncio.create_task(refits.run(cast(Pacer, object()), games_tried))
    await asyncio.wait_for(refits.ready.wait(), timeout=5)
    for _ in range(10):  # give a returning loop every chance to finish
        await asyncio.sleep(0)
    assert not loop.done()
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    assert loop.cancelled()
