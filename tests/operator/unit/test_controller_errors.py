"""How the controller treats each kind of failure of one reconcile: the real Controller
and reconcile against the in-memory cluster, whose next write is made to fail."""

from __future__ import annotations

import asyncio

import pytest

from sparket_operator.controller.controller import Controller
from sparket_operator.kube import errors
from sparket_testkit.harness.operator_world import ALICE, NS, World, miner, node, wallet_secret

KEY = (NS, "alpha")


async def _world(*, wallet: bool = True) -> World:
    world = World()
    world.kube.put(node())
    if wallet:
        world.kube.put(wallet_secret("alpha-wallet", ALICE))
    world.kube.put(miner("alpha", ALICE))
    await world.start()
    await world.controller.queue.get()  # the seeded key: these tests hand it over themselves
    world.controller.queue.done(KEY)
    return world


def _count(controller: Controller, result: str) -> float:
    return float(controller.metrics.reconciles.labels(result)._value.get())


async def test_a_conflict_is_retried_at_once() -> None:
    world = await _world()
    controller = world.controller
    world.kube.fail_write(errors.Conflict("409"))
    await controller.handle(KEY)
    assert _count(controller, "conflict") == 1 and world.kube.writes == []
    assert await asyncio.wait_for(controller.queue.get(), timeout=1) == KEY
    await controller.handle(KEY)
    assert controller.cache.phase(KEY) == "Pending" and _count(controller, "ok") == 1


@pytest.mark.parametrize(
    "failure", [errors.Transient("503"), errors.Invalid("422"), RuntimeError("a bug")]
)
async def test_other_failures_back_off_and_do_not_stop_the_worker(failure: Exception) -> None:
    # Without its wallet the only write is the status (so no watch event requeues it).
    world = await _world(wallet=False)
    controller = world.controller
    world.kube.fail_write(failure)
    await controller.handle(KEY)
    assert _count(controller, "error") == 1
    assert len(controller.queue) == 0  # not at once ...
    assert await asyncio.wait_for(controller.queue.get(), timeout=2) == KEY  # ... but soon


async def test_backoff_grows_with_each_failure_and_resets_on_success() -> None:
    world = await _world()
    controller = world.controller
    loop = asyncio.get_running_loop()
    world.kube.fail_write(errors.Transient("a"))
    await controller.handle(KEY)
    first = controller.queue._timers[KEY].when() - loop.time()
    controller.queue.forget(KEY)  # as if the retry had fired
    world.kube.fail_write(errors.Transient("b"))
    await controller.handle(KEY)
    second = controller.queue._timers[KEY].when() - loop.time()
    assert 0.5 < first <= 1.0 and 1.5 < second <= 2.0
    await controller.handle(KEY)
    assert KEY not in controller._failures


async def test_a_miner_that_is_gone_is_simply_dropped() -> None:
    world = await _world()
    controller = world.controller
    world.kube.fail_write(errors.NotFound("404"))
    await controller.handle(KEY)
    assert _count(controller, "gone") == 1
    assert len(controller.queue) == 0 and KEY not in controller.queue._timers
