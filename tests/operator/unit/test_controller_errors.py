"""How the controller treats each kind of failure of one reconcile (no API server needed:
the reconcile is a scripted stand-in, the queue and metrics are the real ones)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from sparket_operator.controller.controller import Controller
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_operator.controller.reconciler import Outcome
from sparket_operator.kube import errors
from sparket_operator.kube.client import KubeApi
from sparket_operator.settings import OperatorSettings

KEY = ("miners", "alpha")


class ScriptedReconcile:
    def __init__(self, *results: Any) -> None:
        self.results = list(results)
        self.calls = 0

    async def reconcile(self, key: tuple[str, str]) -> Outcome:
        self.calls += 1
        result = self.results.pop(0)
        if isinstance(result, BaseException):
            raise result
        return cast(Outcome, result)


def _controller(*results: Any) -> tuple[Controller, ScriptedReconcile]:
    controller = Controller(
        api=cast(KubeApi, object()), settings=OperatorSettings(), metrics=OperatorMetrics()
    )
    script = ScriptedReconcile(*results)
    controller.reconciler = script  # type: ignore[assignment]
    return controller, script


def _count(controller: Controller, result: str) -> float:
    return controller.metrics.reconciles.labels(result)._value.get()


async def test_a_conflict_is_retried_at_once() -> None:
    controller, script = _controller(errors.Conflict("409"), Outcome("Running"))
    await controller._reconcile_one(KEY)
    assert _count(controller, "conflict") == 1
    assert await asyncio.wait_for(controller.queue.get(), timeout=1) == KEY
    await controller._reconcile_one(KEY)
    assert controller.phases[KEY] == "Running" and script.calls == 2


@pytest.mark.parametrize(
    "failure", [errors.Transient("503"), errors.Invalid("422"), RuntimeError("a bug")]
)
async def test_other_failures_back_off_and_do_not_stop_the_worker(failure: Exception) -> None:
    controller, _ = _controller(failure)
    await controller._reconcile_one(KEY)
    assert _count(controller, "error") == 1
    assert len(controller.queue) == 0  # not at once ...
    assert await asyncio.wait_for(controller.queue.get(), timeout=2) == KEY  # ... but soon


async def test_backoff_grows_with_each_failure_and_resets_on_success() -> None:
    controller, _ = _controller(errors.Transient("a"), errors.Transient("b"), Outcome("Running"))
    loop = asyncio.get_running_loop()
    await controller._reconcile_one(KEY)
    first = controller.queue._timers[KEY].when() - loop.time()
    controller.queue.forget(KEY)  # as if the retry had fired
    await controller._reconcile_one(KEY)
    second = controller.queue._timers[KEY].when() - loop.time()
    assert 0.5 < first <= 1.0 and 1.5 < second <= 2.0
    await controller._reconcile_one(KEY)
    assert KEY not in controller._failures


async def test_a_miner_that_is_gone_is_simply_dropped() -> None:
    controller, _ = _controller(errors.NotFound("404"))
    await controller._reconcile_one(KEY)
    assert _count(controller, "gone") == 1
    assert len(controller.queue) == 0 and KEY not in controller.queue._timers
